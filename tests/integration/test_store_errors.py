"""The store's one error language: the same failures raise the same store exceptions on SQLite and PostgreSQL.

Each case runs on both backends (the `backend` / `store` fixtures of `tests/conftest.py`) and asserts one
class of `stepstone.server.store.errors`; the driver's error is kept as the cause. A script's own
exception passes through unchanged, and whatever failed leaves nothing half-written.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from stepstone.server.core.errors import EngineError
from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine
from stepstone.server.store.errors import (
    Conflict,
    SchemaError,
    StoreError,
    StoreUnavailable,
    UnstorableValueError,
)
from stepstone.server.store.records import ItemKind, QueueItemRecord, RunRecord, RunStatus
from tests.conftest import open_store
from tests.harness import eventually


def run(run_id: str, created_at: int = 5) -> RunRecord:
    return RunRecord(run_id, "f", "app-f", 1, None, "e1", RunStatus.QUEUED, created_at=created_at)


def raw_execute(backend: dict[str, Any], *statements: str) -> None:
    """Change the database behind the store's back (as an older build, or an operator, would have left it)."""
    if backend["kind"] == "sqlite":
        with sqlite3.connect(backend["path"]) as connection:
            for statement in statements:
                connection.execute(statement)
        connection.close()
        return
    import psycopg

    with psycopg.connect(backend["dsn"], autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


async def run_ids(store: Any) -> list[str]:
    return sorted(r.id for r in await store.read(lambda tx: [tx.get_run(i) for i in ("r0", "r1", "r2", "r3")]) if r)


async def test_a_unique_violation_is_a_conflict_and_undoes_the_whole_script(store: Any) -> None:
    await store.transact(lambda tx: tx.insert_run(run("r0"), []))

    def duplicate(tx: Any) -> None:
        tx.insert_run(run("r1"), [])  # written first, then undone with the rest
        tx.insert_run(run("r0"), [])

    with pytest.raises(Conflict) as caught:
        await store.transact(duplicate)
    assert caught.value.__cause__ is not None  # the driver's error, for the logs
    assert await run_ids(store) == ["r0"]
    await store.transact(lambda tx: tx.insert_run(run("r1"), []))  # the store still works
    assert await run_ids(store) == ["r0", "r1"]


async def test_scripts_committed_together_keep_their_own_outcomes(store: Any) -> None:
    """SQLite may run scripts that arrive together in one transaction: one failing undoes only itself."""
    await store.transact(lambda tx: tx.insert_run(run("r0"), []))

    def failing(tx: Any) -> None:
        tx.insert_run(run("r3"), [])
        tx.insert_run(run("r0"), [])

    outcomes = await asyncio.gather(
        store.transact(lambda tx: tx.insert_run(run("r1"), [])),
        store.transact(failing),
        store.transact(lambda tx: tx.insert_run(run("r2"), [])),
        return_exceptions=True,
    )
    assert outcomes[0] is None and isinstance(outcomes[1], Conflict) and outcomes[2] is None
    assert await run_ids(store) == ["r0", "r1", "r2"]


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(lambda tx: tx.insert_run(run("r1", created_at=2**70), []), id="integer-beyond-64-bits"),
        pytest.param(lambda tx: tx.set_setting("name", "lone \ud800 surrogate"), id="lone-surrogate"),
    ],
)
async def test_a_value_the_database_cannot_hold_is_unstorable(store: Any, script: Any) -> None:
    def writes_then_fails(tx: Any) -> None:
        tx.insert_run(run("r0"), [])
        script(tx)

    with pytest.raises(UnstorableValueError) as caught:
        await store.transact(writes_then_fails)
    assert caught.value.__cause__ is not None
    assert await run_ids(store) == []
    assert await store.read(lambda tx: tx.get_setting("name")) is None


@pytest.mark.parametrize(
    ("change", "script"),
    [
        pytest.param("DROP TABLE skips", lambda tx: tx.list_skips("e1"), id="missing-table"),
        pytest.param("ALTER TABLE settings DROP COLUMN value", lambda tx: tx.get_setting("k"), id="missing-column"),
    ],
)
async def test_a_schema_older_than_the_queries_is_a_schema_error(
    backend: dict[str, Any], change: str, script: Any
) -> None:
    store = open_store(backend)
    try:
        raw_execute(backend, change)
        with pytest.raises(SchemaError, match="stepstone db upgrade"):
            await store.read(script)

        def writes_then_fails(tx: Any) -> None:
            tx.insert_run(run("r0"), [])
            script(tx)

        with pytest.raises(SchemaError, match="stepstone db upgrade"):
            await store.transact(writes_then_fails)
        assert await run_ids(store) == []
    finally:
        await store.close()


async def test_a_closed_store_is_unavailable(store: Any) -> None:
    await store.close()
    with pytest.raises(StoreUnavailable):
        await store.transact(lambda tx: tx.insert_run(run("r0"), []))
    with pytest.raises(StoreUnavailable):
        await store.read(lambda tx: tx.get_run("r0"))


async def test_an_unreachable_store_is_unavailable(backend: dict[str, Any], tmp_path: Path) -> None:
    if backend["kind"] == "sqlite":
        (tmp_path / "a-directory").mkdir()
        unreachable = {"kind": "sqlite", "path": tmp_path / "a-directory"}  # no database file can be opened there
        with pytest.raises(StoreUnavailable):
            open_store(unreachable)
        return
    from stepstone.server.store.postgres.store import PostgresStore

    with pytest.raises(StoreUnavailable):
        PostgresStore("postgresql://postgres@127.0.0.1:1/nowhere", pool_size=1, connect_timeout=1)


class ScriptFailed(Exception):
    pass


@pytest.mark.parametrize(
    "own_error",
    [
        pytest.param(ScriptFailed("the script's own reason"), id="own-class"),
        pytest.param(OverflowError("the script's own overflow"), id="overflow"),  # what a driver raises, too
        pytest.param(ValueError("the script's own value error"), id="value-error"),
    ],
)
async def test_a_scripts_own_error_passes_through_unchanged_and_rolls_back(store: Any, own_error: Exception) -> None:
    def script(tx: Any) -> None:
        tx.insert_run(run("r0"), [])
        tx.set_setting("name", "value")
        raise own_error

    with pytest.raises(type(own_error)) as caught:
        await store.transact(script)
    assert caught.value is own_error and not isinstance(caught.value, StoreError)
    assert await run_ids(store) == []
    assert await store.read(lambda tx: tx.get_setting("name")) is None


async def test_store_errors_are_engine_errors() -> None:
    for kind in (StoreUnavailable, Conflict, SchemaError, UnstorableValueError):
        assert issubclass(kind, StoreError) and issubclass(kind, EngineError)


async def test_the_worker_backs_off_when_a_claim_fails_and_claims_again(
    backend: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A store failure during a claim is logged and retried after a pause, on both backends: the worker lives on."""
    store = open_store(backend)
    engine = Engine(store, EngineSettings(poll_interval=timedelta(milliseconds=50)))
    worker = asyncio.create_task(engine.worker.run())
    caplog.set_level(logging.WARNING, logger="stepstone.worker")

    def claim_failures() -> int:
        return sum(getattr(r, "action", None) == "worker.claim_failed" for r in caplog.records)

    try:
        raw_execute(backend, "ALTER TABLE queue RENAME TO queue_away")
        engine.wake()

        async def failed_twice() -> bool:  # failed, paused, failed again: not crashed
            return claim_failures() >= 2

        await eventually(failed_twice)
        assert not worker.done()
        assert all("stepstone db upgrade" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)

        raw_execute(backend, "ALTER TABLE queue_away RENAME TO queue")
        item = QueueItemRecord(id="i1", kind=ItemKind.CALL, run_at=0, run_id="missing-run")
        await store.transact(lambda tx: tx.enqueue(item))
        engine.wake()

        async def claimed() -> bool:  # (a call whose run is gone is dropped): claims work again
            return await store.read(lambda tx: tx.count_queue_items()) == 0

        await eventually(claimed)
        failures = claim_failures()
        await asyncio.sleep(0.2)
        assert claim_failures() == failures and not worker.done()
    finally:
        await engine.worker.stop(timedelta(seconds=1))
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await engine.transport.close()
        await store.close()
