"""Both backends define the same queries; migrations upgrade an old database without losing runs."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from stepstone.server.store import sql
from stepstone.server.store.postgres import store as postgres_store
from stepstone.server.store.records import RunStatus
from stepstone.server.store.sqlite import store as sqlite_store
from stepstone.server.store.sqlite import tx as sqlite_tx
from tests import postgres

RUN = (
    "INSERT INTO runs (id, function_id, function_slug, function_version, event_id, status, created_at) "
    "VALUES ('01OLDRUN', 'f', 'app-f', 1, 'e', 'Completed', 1)"
)


def test_both_backends_define_the_same_queries() -> None:
    assert set(sqlite_tx.QUERIES) == set(postgres_store.QUERIES)


def test_both_backends_have_the_same_migrations() -> None:
    names = [
        [(v, n) for v, n, _ in sql.migration_files(d)] for d in (sqlite_store.MIGRATIONS, postgres_store.MIGRATIONS)
    ]
    assert names[0] == names[1] and len(names[0]) >= 2


def test_an_old_sqlite_database_is_upgraded_without_losing_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        first = sql.migration_files(sqlite_store.MIGRATIONS)[0]
        connection.executescript(first[2].read_text())
        connection.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at INTEGER)"
        )
        connection.execute("INSERT INTO schema_migrations VALUES (1, 'initial', 0)")
        connection.execute(RUN)
    store = sqlite_store.SqliteStore(path)
    try:
        assert store.applied_migrations == list(range(2, len(sql.migration_files(sqlite_store.MIGRATIONS)) + 1))
        run = asyncio.run(store.read(lambda tx: tx.get_run("01OLDRUN")))
        assert run is not None and run.status == RunStatus.COMPLETED
    finally:
        asyncio.run(store.close())


def test_a_newer_sqlite_database_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    asyncio.run(sqlite_store.SqliteStore(path).close())
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
    with pytest.raises(Exception, match="newer than this build"):
        sqlite_store.SqliteStore(path)


def test_an_old_postgres_database_is_upgraded_without_losing_runs(postgres_admin_dsn: str) -> None:
    import psycopg

    name = f"stepstone_old_{int(time.time() * 1000)}"
    with psycopg.connect(postgres_admin_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}".encode())
    dsn = postgres.with_dbname(postgres_admin_dsn, name)
    try:
        with psycopg.connect(dsn) as connection:
            first = sql.migration_files(postgres_store.MIGRATIONS)[0]
            connection.execute(first[2].read_text().encode())
            connection.execute(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at BIGINT)"
            )
            connection.execute("INSERT INTO schema_migrations VALUES (1, 'initial', 0)")
            connection.execute(RUN)
        store = postgres_store.PostgresStore(dsn, pool_size=2)
        try:
            assert store.applied_migrations == list(range(2, len(sql.migration_files(postgres_store.MIGRATIONS)) + 1))
            run = asyncio.run(store.read(lambda tx: tx.get_run("01OLDRUN")))
            assert run is not None and run.status == RunStatus.COMPLETED
        finally:
            asyncio.run(store.close())
    finally:
        with psycopg.connect(postgres_admin_dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


def test_postgres_processes_starting_at_once_migrate_once(postgres_admin_dsn: str) -> None:
    import concurrent.futures

    import psycopg

    name = f"stepstone_race_{int(time.time() * 1000)}"
    with psycopg.connect(postgres_admin_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}".encode())
    dsn = postgres.with_dbname(postgres_admin_dsn, name)
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            stores = list(pool.map(lambda _: postgres_store.PostgresStore(dsn, pool_size=1), range(4)))
        applied = sorted(len(s.applied_migrations) for s in stores)
        assert applied == [0, 0, 0, len(sql.migration_files(postgres_store.MIGRATIONS))]
        for opened in stores:
            asyncio.run(opened.close())
    finally:
        with psycopg.connect(postgres_admin_dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
