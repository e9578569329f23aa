"""Which store the engine opens: SQLite (the default, one process) or PostgreSQL (`--postgres-uri`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from stepstone.cli.options import option
from stepstone.server.store.base import Store, StoreError

F = TypeVar("F", bound=Callable[..., Any])


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
            from stepstone.server.store.postgres.store import PostgresStore

            return PostgresStore(options.postgres_uri, pool_size=options.pool_size, migrate=migrate)
        from stepstone.server.store.sqlite.store import SqliteStore

        return SqliteStore(options.db, synchronous=options.synchronous, migrate=migrate)  # type: ignore[arg-type]
    except StoreError as err:
        raise click.ClickException(str(err)) from None
