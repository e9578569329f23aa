"""PostgreSQL for tests: a migrated template database, cloned for each test.

The server is `$STEPSTONE_TEST_POSTGRES_DSN`, by default the local one (`postgresql://postgres@127.0.0.1:5432/test`,
as on the development machines and in CI), so the README's test command runs the PostgreSQL tests wherever a
server is there. When the default server cannot be reached, the tests are skipped, saying why, except in CI
(`CI=true`), where they fail; a DSN given explicitly must work.

Each test session makes its own template (named after its process id), so two sessions on one machine do
not drop each other's template.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

ENV = "STEPSTONE_TEST_POSTGRES_DSN"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
TEMPLATE = f"stepstone_test_template_{os.getpid()}"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def admin_dsn() -> str:
    """The server's DSN; skips (outside CI) when the default server is not there."""
    given = os.environ.get(ENV)
    dsn = given or DEFAULT_DSN
    problem = _reach_problem(dsn)
    if problem is None:
        return dsn
    if given:
        pytest.fail(f"PostgreSQL at {ENV}={given} cannot be reached: {problem}")
    if in_ci():
        pytest.fail(f"CI is set and PostgreSQL at {dsn} cannot be reached ({problem}): PostgreSQL tests must run in CI")
    pytest.skip(f"no PostgreSQL at {dsn} ({problem}); start one there or set {ENV}")


def _reach_problem(dsn: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=5):
            return None
    except psycopg.Error as err:
        return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


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
    """Create this session's migrated template database."""
    from stepstone.server.store.postgres.store import PostgresStore

    _admin_execute(dsn, f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)", f"CREATE DATABASE {TEMPLATE}")
    store = PostgresStore(with_dbname(dsn, TEMPLATE), pool_size=1)
    # In a thread of its own: the first test to ask may run while an event loop holds this thread (Playwright's
    # sync API in the browser tests).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, store.close()).result()


def drop_template(dsn: str) -> None:
    _admin_execute(dsn, f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")


@contextmanager
def fresh_database(dsn: str) -> Iterator[str]:
    """A new database cloned from the template; dropped afterwards."""
    name = f"stepstone_test_{uuid.uuid4().hex[:12]}"
    _admin_execute(dsn, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        yield with_dbname(dsn, name)
    finally:
        _admin_execute(dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
