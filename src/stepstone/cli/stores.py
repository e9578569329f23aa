"""Which store the engine opens: SQLite (the default, one process) or PostgreSQL (`--postgres-uri`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from stepstone.cli.options import option
from stepstone.server.store.base import Store, StoreError

if TYPE_CHECKING:
    from stepstone.server.store.postgres.store import PostgresStore

F = TypeVar("F", bound=Callable[..., Any])
POSTGRES_MISSING = "PostgreSQL support is not installed: pip install 'stepstone[postgres]'"
SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class StoreOptions:
    db: Path
    postgres_uri: str | None
    pool_size: int
    synchronous: str

    @property
    def shared(self) -> bool:
        """True when other engine processes may share the store (their leases must be left alone)."""
        return self.postgres_uri is not None


def store_flags(func: F) -> F:
    """`--postgres-uri`, `--postgres-pool-size`, `--sqlite-synchronous` (`--db` is per command)."""
    decorators = [
        option(
            "postgres-uri",
            default=None,
            metavar="URI",
            help="Run on PostgreSQL (postgresql://user:password@host:5432/db) instead of SQLite, so several "
            "engine processes on several machines can share it. The password never appears in logs.",
        ),
        option(
            "postgres-pool-size",
            type=click.IntRange(2, 1000),
            default=10,
            help="PostgreSQL connections per engine process (the pool is bounded).",
        ),
        option(
            "sqlite-synchronous",
            type=click.Choice(["full", "normal"]),
            default="full",
            help="SQLite durability: 'full' survives power loss, 'normal' survives a process crash only.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def open_store(options: StoreOptions, *, migrate: bool = True) -> Store:
    """Open (and migrate) the store, or exit with a readable message."""
    try:
        if options.postgres_uri:
            return postgres_store_class()(options.postgres_uri, pool_size=options.pool_size, migrate=migrate)
        from stepstone.server.store.sqlite.store import SqliteStore

        return SqliteStore(options.db, synchronous=options.synchronous, migrate=migrate)  # type: ignore[arg-type]
    except StoreError as err:
        raise click.ClickException(str(err)) from None


def postgres_store_class() -> type[PostgresStore]:
    """The PostgreSQL store, or exit saying how to install it (psycopg comes with the `postgres` extra)."""
    try:
        from stepstone.server.store.postgres.store import PostgresStore
    except ModuleNotFoundError as err:
        if (err.name or "").partition(".")[0] not in ("psycopg", "psycopg_pool"):
            raise
        raise click.ClickException(POSTGRES_MISSING) from None
    return PostgresStore


def schema_status(options: StoreOptions) -> str:
    """`<store>: <schema version and pending migrations>`, read without creating or changing a database.

    A missing SQLite file is an error naming the Stepstone databases found next to it (`dev` and
    `start` default to different files), never a new empty database.
    """
    if options.postgres_uri:
        store = open_store(options, migrate=False)
        try:
            return f"{store.describe()}: {store.schema_status().describe()}"
        finally:
            asyncio.run(store.close())
    from stepstone.server.store.sqlite import store as sqlite_store

    if not options.db.is_file():
        raise click.ClickException(missing_database(options.db))
    try:
        status = sqlite_store.read_schema_status(options.db)
    except StoreError as err:
        raise click.ClickException(str(err)) from None
    return f"SQLite {options.db}: {status.describe()}"


def missing_database(db: Path) -> str:
    """Why `db` cannot be reported on, and which databases could be meant instead."""
    found = [path for path in sqlite_files(db.parent, Path(".stepstone")) if path != db]
    if not found:
        return f"no database at {db}: an engine creates it when it starts (or run `stepstone db upgrade --db {db}`)"
    if len(found) == 1:
        return f"no database at {db}; found {found[0]}: use --db {found[0]}"
    return f"no database at {db}; found {', '.join(map(str, found))}: pass one with --db"


def sqlite_files(*directories: Path) -> list[Path]:
    """The SQLite database files (`*.db`, by their header) in `directories`, sorted."""
    found: set[Path] = set()
    for directory in directories:
        for path in directory.glob("*.db") if directory.is_dir() else ():
            with contextlib.suppress(OSError), path.open("rb") as file:
                if file.read(16) == SQLITE_HEADER:
                    found.add(path)
    return sorted(found)
