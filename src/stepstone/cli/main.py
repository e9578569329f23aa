"""`stepstone dev` (local development), `stepstone start` (production) and `stepstone db`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn

from stepstone.cli.options import common, option, split_commas
from stepstone.cli.stores import StoreOptions, open_store, store_flags
from stepstone.protocol import signing
from stepstone.server.api.app import create_app
from stepstone.server.engine import Engine
from stepstone.server.settings import EngineSettings

log = logging.getLogger("stepstone.cli")
F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="stepstone")
def main() -> None:
    """Stepstone: event-driven durable functions, wire-compatible with the Inngest SDKs.

    `stepstone dev` runs the engine for local development (no keys, a movable clock);
    `stepstone start` runs it for production (signing key and event keys required).
    """


@dataclass(frozen=True)
class Served:
    host: str
    port: int
    store: StoreOptions
    settings: EngineSettings
    log_level: str


def _settings(
    dev: bool,
    sdk_urls: tuple[str, ...],
    retry_interval: float | None,
    poll_interval: float,
    workers: int,
    app_concurrency: int,
    lease_seconds: float,
    retention_days: float,
    **keys: Any,
) -> EngineSettings:
    return EngineSettings(
        dev=dev,
        sync_urls=sdk_urls,
        retry_interval=timedelta(seconds=retry_interval) if retry_interval else None,
        sync_poll_interval=timedelta(seconds=poll_interval),
        workers=workers,
        app_concurrency=app_concurrency,
        lease=timedelta(seconds=lease_seconds),
        retention=timedelta(days=retention_days) if retention_days else None,
        **keys,
    )


def _store_options(
    db: Path, postgres_uri: str | None, postgres_pool_size: int, sqlite_synchronous: str
) -> StoreOptions:
    return StoreOptions(db, postgres_uri, postgres_pool_size, sqlite_synchronous)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _serve(served: Served) -> None:
    _configure_logging(served.log_level)
    store = open_store(served.store)
    engine = Engine(store, served.settings)
    # With SQLite this process is the only engine on the file: leases left by a crashed one are free.
    app = create_app(engine, manage_engine=True, release_all_leases=not served.store.shared)
    mode = "dev" if served.settings.dev else "production"
    log.info(
        "Stepstone %s engine on http://%s:%d, %s",
        mode,
        served.host,
        served.port,
        store.describe(),
        extra={"action": "engine.starting"},
    )
    config = uvicorn.Config(
        app,
        host=served.host,
        port=served.port,
        access_log=False,  # Stepstone writes its own access log, with event keys redacted
        log_config=None,
        timeout_graceful_shutdown=int(served.settings.drain_timeout.total_seconds()),
    )
    # uvicorn drains on SIGTERM/SIGINT, then re-raises the signal: let it end the process cleanly (exit 0),
    # so the `finally` blocks (closing the store, stopping --app processes) still run.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        uvicorn.Server(config).run()
    finally:
        asyncio.run(store.close())
        log.info("stopped", extra={"action": "engine.stopped"})


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _start_apps(
    specs: tuple[str, ...], first_port: int, engine_url: str
) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    processes = []
    urls = []
    for offset, spec in enumerate(specs):
        port = first_port + offset
        env = {
            **os.environ,
            "STEPSTONE_DEV": engine_url,
            "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]),
        }
        command = [sys.executable, "-m", "uvicorn", spec, "--host", "127.0.0.1", "--port", str(port)]
        processes.append(subprocess.Popen([*command, "--log-level", "warning"], env=env))
        urls.append(f"http://127.0.0.1:{port}/api/inngest")
    return processes, urls


def _db_flag(default: str) -> Callable[[F], F]:
    return option(
        "db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path(default),
        help="SQLite database file (created if missing); ignored with --postgres-uri.",
    )


@main.command()
@common
@store_flags
@_db_flag(".stepstone/dev.db")
@option(
    "app",
    "apps",
    multiple=True,
    metavar="MODULE:ATTR",
    callback=split_commas,
    help="Also run this ASGI app (e.g. examples.app:app) with uvicorn, pointed at this engine, and sync it. "
    "Repeatable.",
)
@option(
    "app-port",
    default=8000,
    type=click.IntRange(1, 65535),
    help="Port of the first --app (the next ones take the following ports).",
)
def dev(
    host: str,
    port: int,
    sdk_urls: tuple[str, ...],
    db: Path,
    postgres_uri: str | None,
    postgres_pool_size: int,
    sqlite_synchronous: str,
    apps: tuple[str, ...],
    app_port: int,
    log_level: str,
    **options: Any,
) -> None:
    """Run the engine for local development: no keys, apps synced by URL, a movable clock.

    Events go to POST /e/<any key>, runs show at GET /v1/runs, and POST /dev/clock/advance moves
    time forward (to see sleeps and timeouts end without waiting).
    """
    engine_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    processes, app_urls = _start_apps(apps, app_port, engine_url)
    settings = _settings(True, (*sdk_urls, *app_urls), **options)
    store = _store_options(db, postgres_uri, postgres_pool_size, sqlite_synchronous)
    try:
        _serve(Served(host, port, store, settings, log_level))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


@main.command()
@common
@store_flags
@_db_flag(".stepstone/stepstone.db")
@option(
    "signing-key",
    required=True,
    help="Hex signing key shared with your apps (openssl rand -hex 32); "
    "signs every call to an app and authenticates every API call. Never logged.",
)
@option("signing-key-fallback", default=None, help="A second signing key accepted while you rotate keys.")
@option(
    "event-key",
    "event_keys",
    multiple=True,
    required=True,
    callback=split_commas,
    help="A key that may send events (POST /e/<key>). Repeatable; the environment variable takes a "
    "comma-separated list. Never logged.",
)
def start(
    host: str,
    port: int,
    sdk_urls: tuple[str, ...],
    db: Path,
    postgres_uri: str | None,
    postgres_pool_size: int,
    sqlite_synchronous: str,
    signing_key: str,
    signing_key_fallback: str | None,
    event_keys: tuple[str, ...],
    log_level: str,
    **options: Any,
) -> None:
    """Run the engine in production: calls to apps are signed, the APIs need keys."""
    for name, key in (("--signing-key", signing_key), ("--signing-key-fallback", signing_key_fallback)):
        if key is not None and (problem := signing.signing_key_problem(key)):
            raise click.BadParameter(problem, param_hint=name)
    if not event_keys:
        raise click.BadParameter("at least one event key is required", param_hint="--event-key")
    settings = _settings(
        False,
        sdk_urls,
        signing_key=signing_key,
        signing_key_fallback=signing_key_fallback,
        event_keys=event_keys,
        **options,
    )
    store = _store_options(db, postgres_uri, postgres_pool_size, sqlite_synchronous)
    _serve(Served(host, port, store, settings, log_level))


@main.group()
def db() -> None:
    """The database's schema: see its version, apply migrations."""


@db.command()
@store_flags
@_db_flag(".stepstone/stepstone.db")
def status(db: Path, postgres_uri: str | None, postgres_pool_size: int, sqlite_synchronous: str) -> None:
    """Show the schema version and the migrations not applied yet."""
    store = open_store(_store_options(db, postgres_uri, postgres_pool_size, sqlite_synchronous), migrate=False)
    try:
        click.echo(f"{store.describe()}: {store.schema_status().describe()}")
    finally:
        asyncio.run(store.close())


@db.command()
@store_flags
@_db_flag(".stepstone/stepstone.db")
def upgrade(db: Path, postgres_uri: str | None, postgres_pool_size: int, sqlite_synchronous: str) -> None:
    """Apply the migrations the database lacks (engines also apply them when they start)."""
    store = open_store(_store_options(db, postgres_uri, postgres_pool_size, sqlite_synchronous), migrate=False)
    try:
        applied = store.upgrade()
        click.echo(f"{store.describe()}: applied {applied or 'nothing'}; {store.schema_status().describe()}")
    finally:
        asyncio.run(store.close())
