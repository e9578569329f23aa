"""PostgreSQL for tests: a migrated template database, cloned for each test.

Tests that need PostgreSQL read its address from STEPSTONE_TEST_POSTGRES_DSN (`.ci/run` sets it and
fails when the server is unreachable). Without it they are skipped, saying how to run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ENV = "STEPSTONE_TEST_POSTGRES_DSN"
TEMPLATE = "stepstone_test_template"


def admin_dsn() -> str:
    dsn = os.environ.get(ENV)
    if not dsn and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI is set but {ENV} is not: PostgreSQL tests must run in CI (.ci/run sets it)")
    if not dsn:
        pytest.skip(f"PostgreSQL tests need {ENV}=postgresql://user@host:port/db (CI sets it)")
    return dsn


def with_dbname(dsn: str, dbname: str) -> str:
    from psycopg import conninfo

    parts = conninfo.conninfo_to_dict(dsn)
    parts["dbname"] = dbname
    return conninfo.make_conninfo(**parts)


def _admin_execute(dsn: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def make_template(dsn: str) -> None:
    """Create the migrated template database (once per test session)."""
    from stepstone.server.store.postgres.store import PostgresStore

    _admin_execute(dsn, f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)", f"CREATE DATABASE {TEMPLATE}")
    store = PostgresStore(with_dbname(dsn, TEMPLATE), pool_size=1)
    import asyncio

    asyncio.run(store.close())


@contextmanager
def fresh_database(dsn: str) -> Iterator[str]:
    """A new database cloned from the template; dropped afterwards."""
    name = f"stepstone_test_{uuid.uuid4().hex[:12]}"
    _admin_execute(dsn, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        yield with_dbname(dsn, name)
    finally:
        _admin_execute(dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
