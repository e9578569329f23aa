"""`stepstone dev` (local development), `stepstone start` (production) and `stepstone db`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click
import uvicorn

from stepstone.cli import lint, logs, manage
from stepstone.cli.apps import Supervisor
from stepstone.cli.options import LOG_FORMAT, common, option, split_commas
from stepstone.cli.stores import StoreOptions, open_store, schema_status, store_flags
from stepstone.protocol import signing
from stepstone.server.api.app import create_app
from stepstone.server.apps import discovery
from stepstone.server.core.passwords import DashboardPassword
from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine

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
    no_dashboard: bool = False,
    no_metrics: bool = False,
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
        dashboard=not no_dashboard,
        metrics=not no_metrics,
        **keys,
    )


def _store_options(
    db: Path, postgres_uri: str | None, postgres_pool_size: int, sqlite_synchronous: str
) -> StoreOptions:
    return StoreOptions(db, postgres_uri, postgres_pool_size, sqlite_synchronous)


def _configure_logging(level: str) -> None:
    """Log at `level` in the `--log-format` of the command being run (text outside a command)."""
    context = click.get_current_context(silent=True)
    log_format = context.meta.get(LOG_FORMAT, "text") if context is not None else "text"
    logs.configure(level, log_format)


def _dashboard_line(served: Served) -> str:
    """Where the dashboard is, or how to turn it on."""
    settings = served.settings
    if not settings.dashboard:
        return "Dashboard off (--no-dashboard)"
    url = f"http://{served.host}:{served.port}/"
    if settings.dev:
        return f"Dashboard on {url}"
    if settings.dashboard_password is None:
        return "Dashboard off: start with --dashboard-password (or STEPSTONE_DASHBOARD_PASSWORD) to turn it on"
    return f"Dashboard on {url} (log in with the dashboard password)"


class DrainingServer(uvicorn.Server):
    """uvicorn, except that a stop signal first drains the engine while HTTP still answers, so that `/health`
    says `draining` (503) to load balancers and orchestrators before the engine stops claiming work, and apps
    in the middle of a call can still checkpoint; then the server stops as uvicorn does. A second signal
    stops at once."""

    def __init__(self, config: uvicorn.Config, engine: Engine) -> None:
        super().__init__(config)
        self.engine = engine
        self.draining: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._loop is None or not self.started or self.draining is not None or self.should_exit:
            super().handle_exit(sig, frame)
            return
        self._captured_signals.append(sig)  # uvicorn raises it again once it has stopped
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        if self.draining is None:
            self.draining = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        log.info("draining: no new work; waiting for calls in flight", extra={"action": "engine.draining"})
        try:
            await self.engine.drain()
        finally:
            self.should_exit = True


def _serve(served: Served, apps: Supervisor | None = None) -> None:
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
    log.info(_dashboard_line(served), extra={"action": "dashboard.status"})
    config = uvicorn.Config(
        app,
        host=served.host,
        port=served.port,
        access_log=False,  # Stepstone writes its own access log, with event keys redacted
        log_config=None,
        timeout_graceful_shutdown=int(served.settings.drain_timeout.total_seconds()),
    )
    server = DrainingServer(config, engine)
    # uvicorn drains on SIGTERM and SIGINT (Ctrl+C), then raises the signal again: end the process
    # cleanly then (exit 0, where click would print "Aborted!" and exit 1 after a KeyboardInterrupt),
    # so the `finally` blocks (stopping --app processes, closing the store) still run.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    try:
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:  # uvicorn's loop (uvloop)
            runner.run(_run(server, engine, apps))
    finally:
        asyncio.run(store.close())
        log.info("stopped", extra={"action": "engine.stopped"})
    if apps is not None and apps.failure is not None:
        raise click.ClickException(apps.failure)


async def _run(server: uvicorn.Server, engine: Engine, apps: Supervisor | None) -> None:
    """Serve until a signal, or until an --app exits (without --reload); the apps stop after the drain."""
    if apps is None:
        await server.serve()
        return

    def stop_engine() -> None:
        server.should_exit = True

    async def sync(url: str) -> str | None:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event; the app registers over HTTP
            await asyncio.sleep(0.02)
        return await engine.syncer.ping(url)

    await apps.start(sync, stop_engine)
    try:
        await server.serve()
    finally:
        await apps.stop()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _db_flag(default: str, what: str = "created if missing") -> Callable[[F], F]:
    return option(
        "db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path(default),
        help=f"SQLite database file ({what}); ignored with --postgres-uri.",
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
@option(
    "reload",
    is_flag=True,
    default=False,
    help="Restart the --app processes when a .py file under the current directory (or an app's package) "
    "changes, and sync them again at once; an app that fails waits for the next change.",
)
@option(
    "no-discovery",
    is_flag=True,
    default=False,
    help="Without -u or --app, the engine looks for apps on this machine (the usual development ports and "
    "$PORT, at /api/inngest and the other SDK paths) until one is registered; this turns that off.",
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
    reload: bool,
    no_discovery: bool,
    log_level: str,
    **options: Any,
) -> None:
    """Run the engine for local development: no keys, apps synced by URL, a movable clock.

    Events go to POST /e/<any key>, runs show at GET /v1/runs, and POST /dev/clock/advance moves
    time forward (to see sleeps and timeouts end without waiting). When an --app exits, the engine
    stops too (exit code 1), unless --reload waits for a fix.
    """
    if reload and not apps:
        raise click.UsageError("--reload restarts the --app processes: give at least one --app MODULE:ATTR")
    engine_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    supervisor = Supervisor(apps, app_port, engine_url, reload=reload) if apps else None
    settings = _settings(True, sdk_urls, **options)  # the supervisor syncs the --app processes itself
    if not (no_discovery or sdk_urls or apps):  # apps named: no need to look for them
        settings = dataclasses.replace(settings, discovery_ports=discovery.ports(os.environ, exclude=[port]))
    store = _store_options(db, postgres_uri, postgres_pool_size, sqlite_synchronous)
    _serve(Served(host, port, store, settings, log_level), supervisor)


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
@option(
    "dashboard-password",
    default=None,
    help="The password of the dashboard at / (without it the dashboard is off). Each login also gives a name, "
    "which the audit log records. Never logged or stored.",
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
    dashboard_password: str | None,
    log_level: str,
    **options: Any,
) -> None:
    """Run the engine in production: calls to apps are signed, the APIs need keys, the dashboard a password."""
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
        # Only keys derived from the password are kept (core.passwords).
        dashboard_password=DashboardPassword.derive(dashboard_password, signing_key) if dashboard_password else None,
        **options,
    )
    store = _store_options(db, postgres_uri, postgres_pool_size, sqlite_synchronous)
    _serve(Served(host, port, store, settings, log_level))


@main.group()
def db() -> None:
    """The database's schema: see its version, apply migrations."""


@db.command()
@store_flags
@_db_flag(".stepstone/stepstone.db", "read only, never created")
def status(db: Path, postgres_uri: str | None, postgres_pool_size: int, sqlite_synchronous: str) -> None:
    """Show the schema version and the migrations not applied yet.

    Reads only: a missing SQLite file is an error (naming the databases in .stepstone/), never a new
    database, and the file may be in use by a running engine.
    """
    click.echo(schema_status(_store_options(db, postgres_uri, postgres_pool_size, sqlite_synchronous)))


@db.command()
@store_flags
@_db_flag(".stepstone/stepstone.db")
def upgrade(db: Path, postgres_uri: str | None, postgres_pool_size: int, sqlite_synchronous: str) -> None:
    """Apply the migrations the database lacks (engines also apply them when they start).

    A missing SQLite file is created, with the whole schema: what `start` would do before serving.
    """
    created = postgres_uri is None and not db.exists()
    store = open_store(_store_options(db, postgres_uri, postgres_pool_size, sqlite_synchronous), migrate=False)
    try:
        applied = store.upgrade()
        done = f"{'created it, ' if created else ''}applied {applied or 'nothing'}"
        click.echo(f"{store.describe()}: {done}; {store.schema_status().describe()}")
    finally:
        asyncio.run(store.close())


main.add_command(manage.send)
main.add_command(manage.invoke)
main.add_command(manage.signal)
main.add_command(manage.runs)
main.add_command(manage.events)
main.add_command(manage.functions)
main.add_command(manage.apps)
main.add_command(lint.lint)
