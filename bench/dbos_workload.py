"""The yardstick: the benchmark's workloads as in-process DBOS workflows on a SQLite system database.

Run in its own process (DBOS keeps process-global state) by `bench.run`:
`python -m bench.dbos_workload --db <file> --out <json> --style async|sync --synchronous full|normal
--latency-runs N --throughput-runs M --hundred-runs K` writes one JSON object of seconds to `--out`.
`async` runs `async def` workflows and steps (as the benchmark app's functions), `sync` plain ones, which
DBOS runs on its thread pool. `full` leaves SQLite as DBOS ships it (rollback journal,
SQLite's default `synchronous=FULL`); `normal` sets `PRAGMA synchronous=NORMAL` on each of its connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig


@DBOS.step()
async def step(value: int) -> int:
    return value


async def run_steps(count: int) -> int:
    total = 0
    for index in range(count):
        total += await step(index)
    return total


@DBOS.workflow()
async def three_steps() -> int:
    return await run_steps(3)


@DBOS.workflow()
async def ten_steps() -> int:
    return await run_steps(10)


@DBOS.workflow()
async def hundred_steps() -> int:
    return await run_steps(100)


@DBOS.step()
def step_sync(value: int) -> int:
    return value


def run_steps_sync(count: int) -> int:
    return sum(step_sync(index) for index in range(count))


@DBOS.workflow()
def three_steps_sync() -> int:
    return run_steps_sync(3)


@DBOS.workflow()
def ten_steps_sync() -> int:
    return run_steps_sync(10)


@DBOS.workflow()
def hundred_steps_sync() -> int:
    return run_steps_sync(100)


WORKFLOWS = {
    "async": (three_steps, ten_steps, hundred_steps),
    "sync": (three_steps_sync, ten_steps_sync, hundred_steps_sync),
}


def set_synchronous(mode: str) -> None:
    """Apply `PRAGMA synchronous` to every SQLite connection SQLAlchemy opens from now on."""
    if mode == "full":
        return  # SQLite's default, which DBOS keeps

    @sa.event.listens_for(sa.Engine, "connect")
    def on_connect(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.execute(f"PRAGMA synchronous={mode.upper()}")


async def run_one(workflow: Any) -> None:
    if asyncio.iscoroutinefunction(workflow):
        await (await DBOS.start_workflow_async(workflow)).get_result()
    else:
        await asyncio.to_thread(lambda: DBOS.start_workflow(workflow).get_result())


async def time_sequential(workflow: Any, runs: int) -> list[float]:
    """Seconds from start to result of each of `runs` workflows started one after another."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await run_one(workflow)
        times.append(time.perf_counter() - started)
    return times


def time_concurrent_sync(workflow: Any, runs: int) -> float:
    started = time.perf_counter()
    handles = [DBOS.start_workflow(workflow) for _ in range(runs)]
    for handle in handles:
        handle.get_result()
    return time.perf_counter() - started


async def time_concurrent(workflow: Any, runs: int) -> float:
    """Seconds from starting `runs` workflows at once to the last result."""
    if not asyncio.iscoroutinefunction(workflow):
        return await asyncio.to_thread(time_concurrent_sync, workflow, runs)
    started = time.perf_counter()
    handles = [await DBOS.start_workflow_async(workflow) for _ in range(runs)]
    await asyncio.gather(*(handle.get_result() for handle in handles))
    return time.perf_counter() - started


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    three, ten, hundred = WORKFLOWS[args.style]
    await time_sequential(ten, 3)  # warm-up: first connections, statement caches
    return {
        "latency_s": await time_sequential(ten, args.latency_runs),
        "hundred_s": await time_sequential(hundred, args.hundred_runs),
        "throughput_runs": args.throughput_runs,
        "throughput_s": await time_concurrent(three, args.throughput_runs),
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--style", choices=["async", "sync"], default="async")
    parser.add_argument("--synchronous", choices=["full", "normal"], default="full")
    parser.add_argument("--latency-runs", type=int, default=30)
    parser.add_argument("--throughput-runs", type=int, default=1000)
    parser.add_argument("--hundred-runs", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    logging.getLogger("dbos").setLevel(logging.WARNING)
    set_synchronous(args.synchronous)
    config: DBOSConfig = {"name": "bench", "system_database_url": f"sqlite:///{args.db}", "log_level": "WARNING"}
    DBOS(config=config)
    DBOS.launch()
    try:
        figures = asyncio.run(measure(args))
        Path(args.out).write_text(json.dumps(figures))
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
