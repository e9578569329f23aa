"""Store behaviour, written once against the `store` fixture (SQLite now; PostgreSQL joins later)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from stepstone.server.queue import queueing
from stepstone.server.store.base import StoreError
from stepstone.server.store.records import (
    EventRecord,
    ItemKind,
    PauseKind,
    PauseRecord,
    QueueItemRecord,
    RunRecord,
    RunStatus,
    StepRecord,
    StepStatus,
)
from stepstone.server.store.sqlite.store import SqliteStore


def item(item_id: str, run_at: int = 0, **fields: object) -> QueueItemRecord:
    return QueueItemRecord(id=item_id, kind=ItemKind.CALL, run_at=run_at, run_id="r1", **fields)  # type: ignore[arg-type]


async def test_a_claimed_item_is_not_claimed_again_until_its_lease_ends(store) -> None:
    await store.transact(lambda tx: tx.enqueue(item("a")))
    first = await store.transact(
        lambda tx: queueing.claim_free(tx, now=10, lease_now=100, lease_until=200, owner="w1", limit=10)
    )
    assert [i.id for i in first] == ["a"] and first[0].generation == 1
    again = await store.transact(
        lambda tx: queueing.claim_free(tx, now=10, lease_now=150, lease_until=250, owner="w2", limit=10)
    )
    assert again == []
    expired = await store.transact(
        lambda tx: queueing.claim_free(tx, now=10, lease_now=201, lease_until=300, owner="w2", limit=10)
    )
    assert [i.generation for i in expired] == [2]
    assert not await store.transact(lambda tx: tx.holds_lease("a", 1))
    assert await store.transact(lambda tx: tx.holds_lease("a", 2))


async def test_items_are_claimed_when_due_oldest_first(store) -> None:
    for name, at in (("late", 50), ("early", 5), ("future", 500)):
        await store.transact(lambda tx, n=name, a=at: tx.enqueue(item(n, a)))
    claimed = await store.transact(
        lambda tx: queueing.claim_free(tx, now=100, lease_now=0, lease_until=10, owner="w", limit=10)
    )
    assert [i.id for i in claimed] == ["early", "late"]
    assert await store.read(lambda tx: tx.next_due_at()) == 500


async def test_job_keys_enqueue_once(store) -> None:
    assert await store.transact(lambda tx: tx.enqueue(item("a", job_key="k")))
    assert not await store.transact(lambda tx: tx.enqueue(item("b", job_key="k")))
    assert await store.read(lambda tx: tx.count_queue_items()) == 1


async def test_reschedule_releases_the_lease(store) -> None:
    await store.transact(lambda tx: tx.enqueue(item("a")))
    [claimed] = await store.transact(
        lambda tx: queueing.claim_free(tx, now=0, lease_now=0, lease_until=1000, owner="w", limit=1)
    )
    claimed.run_at, claimed.attempt = 40, 1
    await store.transact(lambda tx: tx.reschedule(claimed))
    [again] = await store.transact(
        lambda tx: queueing.claim_free(tx, now=40, lease_now=0, lease_until=1000, owner="w", limit=1)
    )
    assert again.attempt == 1 and again.generation == 2


async def test_the_first_step_outcome_wins(store) -> None:
    def step(memo: str | None, status: StepStatus) -> StepRecord:
        return StepRecord(run_id="r1", hashed_id="h", user_id="s", index=0, op="StepRun", status=status, memo_json=memo)

    assert await store.transact(lambda tx: tx.save_step(step(None, StepStatus.PLANNED)))
    assert await store.transact(lambda tx: tx.save_step(step('{"data":1}', StepStatus.COMPLETED)))
    assert not await store.transact(lambda tx: tx.save_step(step('{"data":2}', StepStatus.COMPLETED)))
    assert await store.read(lambda tx: tx.step_memos("r1")) == [("h", '{"data":1}')]


async def test_memos_come_in_completion_order(store) -> None:
    for hashed in ("b", "a", "c"):
        record = StepRecord("r1", hashed, hashed, 0, "StepRun", StepStatus.COMPLETED, memo_json="null")
        await store.transact(lambda tx, r=record: tx.save_step(r))
    assert [h for h, _ in await store.read(lambda tx: tx.step_memos("r1"))] == ["b", "a", "c"]


async def test_a_pause_is_consumed_once(store) -> None:
    pause = PauseRecord("p1", "r1", PauseKind.WAIT, "x/y", "{}", min_seq=0, expires_at=100, created_at=0)
    await store.transact(lambda tx: tx.insert_pause(pause))
    results = await asyncio.gather(*(store.transact(lambda tx: tx.delete_pause("p1")) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_idempotency_keys_expire(store) -> None:
    assert await store.transact(lambda tx: tx.claim_idempotency_key("s", "k", now=0, expires_at=100))
    assert not await store.transact(lambda tx: tx.claim_idempotency_key("s", "k", now=50, expires_at=150))
    assert await store.transact(lambda tx: tx.claim_idempotency_key("s", "k", now=100, expires_at=200))


async def test_a_failing_script_rolls_back_alone(store) -> None:
    event = EventRecord(0, "e1", "n", "", "{}", 1, 1)

    def failing(tx):  # type: ignore[no-untyped-def]
        tx.insert_event(event)
        raise RuntimeError("boom")

    outcomes = await asyncio.gather(
        store.transact(failing), store.transact(lambda tx: tx.insert_event(event)), return_exceptions=True
    )
    assert isinstance(outcomes[0], RuntimeError)
    assert await store.read(lambda tx: len(tx.list_events(name=None, cursor=None, limit=10))) == 1


async def test_runs_round_trip(store) -> None:
    run = RunRecord("r1", "f", "app-f", 1, None, "e1", RunStatus.QUEUED, created_at=5, pending_json='{"h":"wait"}')
    await store.transact(lambda tx: tx.insert_run(run, [3, 1]))
    loaded = await store.read(lambda tx: tx.get_run("r1"))
    assert loaded == run
    assert await store.read(lambda tx: tx.run_event_seqs("r1")) == [3, 1]


async def test_one_engine_per_sqlite_file(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "db.sqlite")
    with pytest.raises(StoreError, match="in use by another Stepstone process"):
        SqliteStore(tmp_path / "db.sqlite")
    await first.close()


@pytest.mark.parametrize("quiet", [False, True])
async def test_a_failing_script_rolls_back_alone_quiet_or_busy(store, quiet: bool) -> None:
    """On SQLite a quiet engine's lone script commits on the caller's thread; a failure still undoes it alone."""
    store.set_quiet_check(lambda: quiet)
    event = EventRecord(0, "e1", "n", "", "{}", 1, 1)

    def failing(tx):  # type: ignore[no-untyped-def]
        tx.insert_event(event)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await store.transact(failing)
    await store.transact(lambda tx: tx.insert_event(event))
    assert await store.read(lambda tx: len(tx.list_events(name=None, cursor=None, limit=10))) == 1


async def test_sqlite_commits_on_the_callers_thread_only_when_quiet_and_nothing_waits(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite")
    caller, writer = threading.current_thread().name, "stepstone-sqlite-writer"
    try:
        assert await store.transact(lambda tx: threading.current_thread().name) == writer  # busy by default
        store.set_quiet_check(lambda: True)
        assert await store.transact(lambda tx: threading.current_thread().name) == caller
        store.set_quiet_check(lambda: False)
        release = threading.Event()
        blocked = asyncio.ensure_future(store.transact(lambda tx: release.wait(5)))
        await asyncio.sleep(0)  # it is handed to the writer thread
        store.set_quiet_check(lambda: True)
        behind = asyncio.ensure_future(store.transact(lambda tx: threading.current_thread().name))
        release.set()
        assert await blocked and await behind == writer  # quiet, but a script waits for the writer: no overtaking
    finally:
        await store.close()


async def test_sqlite_scripts_waiting_together_share_a_commit_and_fail_alone(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite")
    event = EventRecord(0, "e1", "n", "", "{}", 1, 1)
    release = threading.Event()

    def failing(tx):  # type: ignore[no-untyped-def]
        tx.insert_event(event)
        raise RuntimeError("boom")

    try:
        blocked = asyncio.ensure_future(store.transact(lambda tx: release.wait(5)))
        await asyncio.sleep(0)  # it holds the writer thread: the next two wait for it, and share one group
        waiting = [
            asyncio.ensure_future(store.transact(failing)),
            asyncio.ensure_future(store.transact(lambda tx: tx.insert_event(event))),
        ]
        await asyncio.sleep(0)
        release.set()
        outcomes = await asyncio.gather(blocked, *waiting, return_exceptions=True)
        assert outcomes[0] is True and isinstance(outcomes[1], RuntimeError)
        assert await store.read(lambda tx: len(tx.list_events(name=None, cursor=None, limit=10))) == 1
    finally:
        await store.close()
