"""Fixtures shared by every test package: the store backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import postgres


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> Iterator[str]:
    dsn = postgres.admin_dsn()
    try:
        postgres.make_template(dsn)
    except Exception as err:  # the server answered: a template it cannot make is a failure, not a skip
        pytest.fail(f"PostgreSQL at {dsn} is not usable: {err}")
    yield dsn
    postgres.drop_template(dsn)


@pytest.fixture
def postgres_dsn(postgres_admin_dsn: str) -> Iterator[str]:
    with postgres.fresh_database(postgres_admin_dsn) as dsn:
        yield dsn


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """How to open a store of each kind: `{"kind": ..., "path" | "dsn": ...}`."""
    if request.param == "sqlite":
        return {"kind": "sqlite", "path": tmp_path / "stepstone.db"}
    return {"kind": "postgres", "dsn": request.getfixturevalue("postgres_dsn")}


def open_store(backend: dict[str, Any]) -> Any:
    if backend["kind"] == "sqlite":
        from stepstone.server.store.sqlite.store import SqliteStore

        return SqliteStore(backend["path"])
    from stepstone.server.store.postgres.store import PostgresStore

    return PostgresStore(backend["dsn"], pool_size=4)


@pytest.fixture
async def store(backend: dict[str, Any]) -> AsyncIterator[Any]:
    opened = open_store(backend)
    yield opened
    await opened.close()
