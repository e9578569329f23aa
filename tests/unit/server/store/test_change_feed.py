"""The runs change feed (`Tx.list_run_changes`): oldest change first, and never a change missed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg

from stepstone.server.store.records import RunRecord, RunStatus, StepRecord, StepStatus
from stepstone.server.store.sqlite.store import SqliteStore

START = (0, "")


def run(run_id: str, slug: str = "app-f", status: RunStatus = RunStatus.QUEUED) -> RunRecord:
    return RunRecord(run_id, "f", slug, 1, None, "e1", status, created_at=5)


def step(run_id: str, hashed_id: str, memo: str | None = '{"data": 1}') -> StepRecord:
    status = StepStatus.COMPLETED if memo else StepStatus.PLANNED
    return StepRecord(
        run_id=run_id, hashed_id=hashed_id, user_id=hashed_id, index=0, op="StepRun", status=status, memo_json=memo
    )


async def settled(store: Any) -> None:
    """On PostgreSQL a change shows once every transaction of its database older than it has ended: wait
    for that, boundedly, so that the assertions see every change made so far."""
    if isinstance(store, SqliteStore):
        return
    with psycopg.connect(store.dsn, autocommit=True) as connection:
        horizon = connection.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").fetchone()
        for _ in range(600):
            row = connection.execute("SELECT seq FROM change_feed_horizon").fetchone()
            if row and horizon and row[0] >= horizon[0]:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("a transaction in the test's PostgreSQL database stayed open for 30 s")


async def changes(store: Any, after: tuple[int, str] = START, **filters: Any) -> list[RunRecord]:
    await settled(store)
    return list(await store.read(lambda tx: tx.list_run_changes(after=after, limit=100, **filters)))


def cursor(records: list[RunRecord], after: tuple[int, str] = START) -> tuple[int, str]:
    return (records[-1].change_seq, records[-1].id) if records else after


async def test_runs_come_oldest_change_first_and_again_when_they_change(store) -> None:
    for run_id in ("r1", "r2", "r3"):
        await store.transact(lambda tx, r=run_id: tx.insert_run(run(r), [1]))
    first = await changes(store)
    assert [r.id for r in first] == ["r1", "r2", "r3"]
    assert first[0].change_seq > 0 and [r.change_seq for r in first] == sorted(r.change_seq for r in first)
    assert await changes(store, cursor(first)) == []

    updated = run("r1", status=RunStatus.RUNNING)
    await store.transact(lambda tx: tx.update_run(updated))
    await store.transact(lambda tx: tx.save_step(step("r2", "h1")))  # a step finishing changes its run
    second = await changes(store, cursor(first))
    assert [(r.id, r.status) for r in second] == [("r1", RunStatus.RUNNING), ("r2", RunStatus.QUEUED)]

    await store.transact(lambda tx: tx.save_step(step("r2", "h1", '{"data": 2}')))  # the first outcome won
    assert await changes(store, cursor(second)) == []


async def test_a_run_changed_several_times_appears_once_at_its_latest_change(store) -> None:
    await store.transact(lambda tx: tx.insert_run(run("r1"), [1]))
    await store.transact(lambda tx: tx.insert_run(run("r2"), [1]))
    for status in (RunStatus.RUNNING, RunStatus.COMPLETED):
        await store.transact(lambda tx, s=status: tx.update_run(run("r1", status=s)))
    feed = await changes(store)
    assert [(r.id, r.status) for r in feed] == [("r2", RunStatus.QUEUED), ("r1", RunStatus.COMPLETED)]


async def test_one_transaction_stamps_its_runs_alike_and_pages_split_them_by_id(store) -> None:
    def insert_three(tx: Any) -> None:
        for run_id in ("rb", "rc", "ra"):
            tx.insert_run(run(run_id), [1])
            tx.save_step(step(run_id, "h"))

    await store.transact(insert_three)
    await settled(store)
    page = await store.read(lambda tx: tx.list_run_changes(after=START, limit=2))
    rest = await store.read(lambda tx: tx.list_run_changes(after=cursor(page), limit=2))
    assert [r.id for r in page + rest] == ["ra", "rb", "rc"]


async def test_the_feed_filters_by_status_and_function(store) -> None:
    await store.transact(lambda tx: tx.insert_run(run("r1", "app-a"), [1]))
    await store.transact(lambda tx: tx.insert_run(run("r2", "app-b", RunStatus.FAILED), [1]))
    assert [r.id for r in await changes(store, function_slug="app-b")] == ["r2"]
    assert [r.id for r in await changes(store, status="Queued")] == ["r1"]


async def test_sqlite_stamps_stay_above_every_cursor_after_pruning_and_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = SqliteStore(path)
    done = run("r1", status=RunStatus.COMPLETED)
    done.ended_at = 10
    await store.transact(lambda tx: tx.insert_run(done, [1]))
    seen = cursor(await changes(store))
    assert await store.transact(lambda tx: tx.prune_runs(100, 10)) == 1
    await store.close()

    store = SqliteStore(path)  # the counter resumes from the file, where the run stamped last is gone
    try:
        await store.transact(lambda tx: tx.insert_run(run("r2"), [1]))
        assert [r.id for r in await changes(store, seen)] == ["r2"]
    finally:
        await store.close()


async def test_postgres_transactions_committing_out_of_order_are_not_missed(postgres_dsn: str) -> None:
    """T1 writes first (the lower transaction id) and commits after T2: a reader between the two commits
    must not be handed a cursor past T2's run, or it would never see T1's."""
    from stepstone.server.store.postgres.store import QUERIES, PostgresStore
    from stepstone.server.store.sqltx import SqlTx

    store = PostgresStore(postgres_dsn, pool_size=2)
    first, second = psycopg.connect(postgres_dsn), psycopg.connect(postgres_dsn)
    try:
        SqlTx(first.cursor().execute, QUERIES).insert_run(run("early"), [1])
        SqlTx(second.cursor().execute, QUERIES).insert_run(run("late"), [1])
        second.commit()
        between = list(await store.read(lambda tx: tx.list_run_changes(after=START, limit=100)))  # not settled
        assert between == []  # "late" is held back while a transaction that started before it runs
        first.commit()
        after = await changes(store, cursor(between))
        assert [r.id for r in after] == ["early", "late"]
    finally:
        first.close()
        second.close()
        await store.close()


async def test_postgres_a_transaction_left_open_in_another_database_does_not_hold_the_feed(
    postgres_dsn: str, postgres_admin_dsn: str
) -> None:
    """The horizon counts this database's transactions only: a write left open elsewhere on the server (a
    batch job, a migration) does not stop the feed, while one open here still does."""
    from stepstone.server.store.postgres.store import QUERIES, PostgresStore
    from stepstone.server.store.sqltx import SqlTx

    store = PostgresStore(postgres_dsn, pool_size=2)
    elsewhere, here = psycopg.connect(postgres_admin_dsn), psycopg.connect(postgres_dsn)
    try:
        assert elsewhere.info.dbname != here.info.dbname
        elsewhere.execute("SELECT pg_current_xact_id()")  # holds a transaction id, open
        await store.transact(lambda tx: tx.insert_run(run("r1"), [1]))
        feed = list(await store.read(lambda tx: tx.list_run_changes(after=START, limit=100)))  # not settled
        assert [r.id for r in feed] == ["r1"]
        assert await store.read(lambda tx: tx.run_changes_head()) == cursor(feed)

        SqlTx(here.cursor().execute, QUERIES).insert_run(run("r2"), [1])  # open in this database
        await store.transact(lambda tx: tx.insert_run(run("r3"), [1]))
        assert list(await store.read(lambda tx: tx.list_run_changes(after=cursor(feed), limit=100))) == []
        here.commit()
        assert [r.id for r in await changes(store, cursor(feed))] == ["r2", "r3"]
    finally:
        elsewhere.close()
        here.close()
        await store.close()


async def test_sqlite_scripts_committed_together_are_all_in_the_feed(tmp_path: Path) -> None:
    """Scripts that share a commit (group commit) share a stamp; pages split them by run id."""
    store = SqliteStore(tmp_path / "db.sqlite")
    try:
        await asyncio.gather(*(store.transact(lambda tx, n=n: tx.insert_run(run(f"r{n}"), [1])) for n in range(20)))
        feed = await changes(store)
        assert sorted(r.id for r in feed) == sorted(f"r{n}" for n in range(20))
        assert await changes(store, cursor(feed)) == []
    finally:
        await store.close()
