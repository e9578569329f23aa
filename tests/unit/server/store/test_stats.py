"""The stats queries on both stores: nearest-rank percentiles computed in SQL, runs bucketed by integer division
of their times, the backlog's changes, and a step's duration from when it was scheduled (its plan, or for a step
run inline the end of the step before it, or the run's start); and their plans read index ranges, not tables."""

from __future__ import annotations

import random
import sqlite3
from typing import Any

from stepstone.server.store.postgres import store as postgres_store
from stepstone.server.store.records import RunRecord, RunStatus, StatsWindow, StepRecord, StepStatus
from stepstone.server.store.sqlite import tx as sqlite_tx
from tests.conftest import open_store

W = StatsWindow(start=1_000_000, end=1_000_000 + 10 * 60_000, size=60_000)


def run(
    n: int, status: RunStatus, created: int, started: int | None, ended: int | None, slug: str = "app-f"
) -> RunRecord:
    return RunRecord(
        f"r{n:03}", "f", slug, 1, None, "e", status, created_at=created, started_at=started, ended_at=ended
    )


def step(run_id: str, hashed: str, op: str, started: int, ended: int | None) -> StepRecord:
    status = StepStatus.COMPLETED if ended is not None else StepStatus.SLEEPING
    return StepRecord(
        run_id=run_id,
        hashed_id=hashed,
        user_id=hashed,
        index=0,
        op=op,
        status=status,
        memo_json="1" if ended is not None else None,
        started_at=started,
        ended_at=ended,
    )


async def test_latency_percentiles_are_nearest_rank_per_bucket(store: Any) -> None:
    start = W.start
    runs = [run(n, RunStatus.COMPLETED, start, start + n * 1000, start + 30_000) for n in range(1, 21)]  # bucket 0
    runs.append(run(21, RunStatus.RUNNING, start + 60_000, start + 65_000, None))  # bucket 1: one run, 5 s
    runs.append(run(22, RunStatus.COMPLETED, start - 60_000, start - 59_000, start - 1))  # before the window
    runs.append(run(23, RunStatus.CANCELLED, start + 61_000, start + 62_000, start + 62_000))  # never started

    def fill(tx: Any) -> None:
        for record in runs:
            tx.insert_run(record, [])

    await store.transact(fill)
    found = await store.read(lambda tx: tx.run_stats(W))
    assert [tuple(row) for row in found.starts] == [(0, 20, 10_000, 19_000), (1, 1, 5_000, 5_000)]
    assert found.ends == [(0, "Completed", 20), (1, "Cancelled", 1)]
    # 22 runs waiting at some time: 20 enter and leave in bucket 0; 21 and 23 in bucket 1
    assert found.backlog == [(0, 0), (1, 0)]
    whole = await store.read(lambda tx: tx.run_starts(W._replace(size=W.end - W.start)))
    assert [tuple(row) for row in whole] == [(0, 21, 10_000, 19_000)]


async def test_the_backlog_counts_runs_waiting_before_and_in_the_window(store: Any) -> None:
    start = W.start

    def fill(tx: Any) -> None:
        tx.insert_run(run(1, RunStatus.QUEUED, start - 5_000, None, None), [])  # waiting since before
        tx.insert_run(run(2, RunStatus.RUNNING, start - 5_000, start + 130_000, None), [])  # waits until bucket 2
        tx.insert_run(run(3, RunStatus.QUEUED, start + 70_000, None, None), [])  # from bucket 1 on
        tx.insert_run(run(4, RunStatus.SKIPPED, start + 70_000, None, start + 70_000), [])  # never waits
        tx.insert_run(run(5, RunStatus.QUEUED, start + 70_000, None, None, slug="app-g"), [])

    await store.transact(fill)
    found = await store.read(lambda tx: tx.run_stats(W, function_slug="app-f"))
    assert found.backlog == [(-1, 2), (1, 1), (2, -1)]


async def test_step_durations_start_where_the_step_was_scheduled(store: Any) -> None:
    start = W.start

    def fill(tx: Any) -> None:
        tx.insert_run(run(1, RunStatus.COMPLETED, start, start + 1_000, start + 50_000), [])
        tx.save_step(step("r001", "a", "StepRun", start + 4_000, start + 4_000))  # inline: from the run's start
        tx.save_step(step("r001", "nap", "Sleep", start + 4_000, start + 10_000))  # not a step.run
        tx.save_step(step("r001", "b", "StepRun", start + 12_000, start + 12_000))  # inline: from the nap's end
        tx.save_step(step("r001", "c", "StepRun", start + 20_000, start + 29_000))  # planned: from its plan
        tx.save_step(step("r001", "d", "StepFailed", start + 30_000, start + 30_000))  # inline after c
        tx.insert_run(run(2, RunStatus.COMPLETED, start, start, start - 1), [])  # ended before: not read
        tx.save_step(step("r002", "a", "StepRun", start - 2, start - 1))

    await store.transact(fill)
    found = await store.read(lambda tx: tx.step_durations(W))
    # durations 3 s (a), 2 s (b), 9 s (c), 1 s (d): p50 is the 2nd smallest, p95 the largest
    assert [tuple(row) for row in found] == [("app-f", 4, 2_000, 9_000)]


def explain_sqlite(backend: dict[str, Any], sql: str, params: dict[str, Any]) -> str:
    with sqlite3.connect(backend["path"]) as connection:
        return "\n".join(str(row[3]) for row in connection.execute("EXPLAIN QUERY PLAN " + sql, params))


def explain_postgres(backend: dict[str, Any], sql: str, params: dict[str, Any]) -> str:
    import psycopg

    with psycopg.connect(backend["dsn"], autocommit=True) as connection:
        connection.execute("ANALYZE runs")
        connection.execute("ANALYZE steps")
        return "\n".join(str(row[0]) for row in connection.execute("EXPLAIN " + sql, params))  # type: ignore[arg-type]


PLANS = {
    "sqlite": (explain_sqlite, sqlite_tx.QUERIES, ("SCAN runs", "SCAN r ", "SCAN s ")),
    "postgres": (explain_postgres, postgres_store.QUERIES, ("Seq Scan on runs", "Seq Scan on steps")),
}


async def test_the_queries_read_ranges_of_indexes_not_whole_tables(backend: dict[str, Any]) -> None:
    """3,000 runs over 30 days, 3 steps each: a day's window reads `runs_ended_at` and each run's steps by index."""
    store = open_store(backend)
    day = 86_400_000
    now = 2_000_000_000_000
    rnd = random.Random(7)

    def fill(tx: Any) -> None:
        for n in range(3000):
            created = now - rnd.randint(0, 30 * day)
            running = n % 50 == 0
            tx.insert_run(
                run(
                    n,
                    RunStatus.RUNNING if running else RunStatus.COMPLETED,
                    created,
                    created + 10,
                    None if running else created + 5_000,
                ),
                [],
            )
            for k in range(3):
                tx.save_step(step(f"r{n:03}", f"h{k}", "StepRun", created + k, created + k + 1))

    await store.transact(fill)
    await store.close()
    explain, queries, scans = PLANS[backend["kind"]]
    params = {"start": now - day, "end": now, "size": 900_000, "function_slug": None}
    for name in ("stats_run_starts", "stats_run_ends", "stats_backlog", "stats_step_durations"):
        plan = explain(backend, queries[name], params)
        assert "runs_ended_at" in plan and not any(scan in plan for scan in scans), (name, plan)
    steps = explain(backend, queries["stats_step_durations"], params)
    assert "steps_run_id_hashed_id_key" in steps or "sqlite_autoindex_steps_1 (run_id=?)" in steps, steps
