"""`bench/dashboard.py` on a tiny history (200 runs, 2,000 steps, SQLite): the fill goes through the engine's
own schema and sync, the engine reads it back, and every request and page the report lists answers 200."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench import dashboard, dashboard_fill, procs


def test_the_dashboard_bench_fills_a_store_and_times_every_request(tmp_path: Path) -> None:
    args = argparse.Namespace(
        runs=200, steps=2000, repeat=1, page_repeat=1, engine_src=None, store="sqlite", keep=False
    )
    with procs.processes(tmp_path) as group:
        result = dashboard.measure_store("sqlite", args, tmp_path, group)
    filled = result.filled
    assert filled is not None
    assert filled.counts["runs"] == 200 and filled.counts["steps"] == 2000
    assert filled.counts["events"] > 200 and filled.big_steps == 200
    unanswered = [timing.probe.name for timing in result.timings if timing.skipped or not timing.seconds]
    assert unanswered == []
    big = next(timing for timing in result.timings if timing.probe.path == f"/v1/runs/{filled.big_run}")
    assert big.rows == 200  # the run's steps, as the engine reads them back
    assert all(load.seconds and not load.note.startswith("/") for load in result.pages)
    report = dashboard.render([result], args, "bench.dashboard (test)", 1.0)
    assert "| Run | run of 200 steps" in report


def test_the_history_has_the_steps_asked_for_and_one_big_run() -> None:
    runs = dashboard_fill.plan_history(dashboard_fill.Scale(runs=2000, steps=20_000, big_run_steps=500), now=10**13)
    assert sum(len(run.times) for run in runs) == 20_000
    assert max(len(run.times) for run in runs) == 500
    assert [run.id for run in runs] == sorted(run.id for run in runs)  # ids follow creation time
    assert {run.status for run in runs} >= {"Completed", "Failed", "Cancelled", "Running"}
