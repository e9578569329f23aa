"""One configuration of the multi-engine benchmark: N engines on a fresh store, the app, and N three-step
runs sent at once, spread over the engines.

Throughput is runs / (the latest `ended_at` of the runs - the wall-clock time just before the first send).
Alongside: each run's own time (`created_at` → `ended_at`), the CPU time of the engines, the app processes
and the PostgreSQL server over the workload, what the database backends waited on, and what the engines
and apps logged (at `--log-level warning`, anything they log is worth reading).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import cluster, cpu, logs, postgres, procs
from bench.engine_api import EngineApi, RunTimeoutError, stamp
from bench.stepstone_workload import sqlite_flags, timed_run, wait_completed

CHUNK = 100  # events per request; requests go round robin over the engines
WARM_RUNS = 2  # three-step runs through each engine before measuring
# Listing 1,000 completed runs costs the engine CPU; the interval does not enter the figures (they are the
# runs' own stamps), so poll rarely.
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Setup:
    key: str
    store: str  # "postgres" or "sqlite"
    engines: int
    apps: int  # 1, or one per engine

    @property
    def label(self) -> str:
        store = "PostgreSQL" if self.store == "postgres" else "SQLite"
        engines = f"{self.engines} engine{'s' if self.engines > 1 else ''}"
        return f"{store}, {engines}" + (f", {self.apps} app processes" if self.apps > 1 else "")


@dataclass
class MultiFigures:
    """What one configuration measured; `cpu_s` holds CPU seconds over the workload by process kind."""

    setup: Setup
    runs: int = 0
    seconds: float = 0.0
    run_s: list[float] = field(default_factory=list)  # each run: created_at → ended_at
    cpu_s: dict[str, float] = field(default_factory=dict)  # engines, apps, postgres, driver, machine busy, machine
    waits: dict[str, float] = field(default_factory=dict)  # backend state/wait -> mean backends per sample
    write_transactions: int = 0  # PostgreSQL only
    wal_bytes: int = 0
    sent_at: float = 0.0  # time.time() just before the first send
    accepted_s: float = 0.0  # first send → the last send's answer
    logged: Counter[str] = field(default_factory=Counter)  # messages logged once every engine had synced the app
    logged_at_start: Counter[str] = field(default_factory=Counter)  # before that
    error: str | None = None

    @property
    def rate(self) -> float | None:
        return self.runs / self.seconds if self.seconds else None


@contextlib.contextmanager
def store(setup: Setup, work_dir: Path, server: str) -> Iterator[tuple[cluster.StoreFlags, str | None]]:
    """Each engine's store flags and, on PostgreSQL, the DSN of the fresh database."""
    if setup.store == "sqlite":
        db = work_dir / f"{setup.key}.db"
        db.unlink(missing_ok=True)
        yield (lambda index: sqlite_flags(db, "full")), None
        return
    with postgres.database(server) as dsn:
        # Each engine names its connections, so `pg_stat_activity` tells them apart.
        yield (lambda index: ["--postgres-uri", postgres.with_params(dsn, application_name=f"engine{index + 1}")]), dsn


def cpu_sampler(stack: cluster.Cluster) -> cpu.CpuSampler:
    engines, apps = [process.pid for process in stack.engines], [process.pid for process in stack.apps]
    kinds: dict[str, cpu.Pids] = {
        "engines": lambda: engines,
        "apps": lambda: apps,
        "postgres": lambda: procs.pids_named("postgres"),
        "driver": lambda: [os.getpid()],
    }
    return cpu.CpuSampler(kinds)


def send_spread(apis: list[EngineApi], runs: int) -> set[str]:
    """`runs` three-step events in requests of `CHUNK`, round robin over the engines; their ids."""
    ids: set[str] = set()
    for index, first in enumerate(range(0, runs, CHUNK)):
        ids.update(apis[index % len(apis)].send("bench/three", min(CHUNK, runs - first)))
    return ids


def measure_throughput(stack: cluster.Cluster, figures: MultiFigures, runs: int) -> None:
    with cpu_sampler(stack) as sampler:
        figures.sent_at = sent = time.time()
        ids = send_spread(stack.apis, runs)
        figures.accepted_s = time.time() - sent
        done = wait_completed(stack.apis[0], ids, poll=POLL_SECONDS)
    figures.runs = runs
    figures.seconds = max(stamp(run["ended_at"]) for run in done) - sent
    figures.run_s = sorted(stamp(run["ended_at"]) - stamp(run["created_at"]) for run in done)
    figures.cpu_s = sampler.window(sent, sent + figures.seconds)


def warm(stack: cluster.Cluster) -> None:
    """A few runs through each engine: the app is reachable, connections and caches are warm."""
    for api in stack.apis:
        for _ in range(WARM_RUNS):
            timed_run(api, "bench/three", timeout=30)


@contextlib.contextmanager
def database_meter(server: str, dsn: str | None, figures: MultiFigures) -> Iterator[None]:
    """On PostgreSQL: the write transactions and WAL bytes over the block, and the backends' waits over
    the runs (from the first send to the last run's end)."""
    if dsn is None:
        yield
        return
    before = postgres.write_position(server)
    with postgres.WaitSampler(server, postgres.dbname(dsn)) as sampler:
        yield
    after = postgres.write_position(server)
    figures.waits = sampler.mean(figures.sent_at, figures.sent_at + figures.seconds)
    figures.write_transactions = after[0] - before[0] - 1
    figures.wal_bytes = after[1] - before[1]


def measure(group: procs.Processes, setup: Setup, runs: int, *, work_dir: Path, server: str) -> MultiFigures:
    """Start the configuration, warm it, send the runs; a stuck or dead configuration is reported in `error`."""
    figures = MultiFigures(setup)
    tag = f"{setup.key}-{os.urandom(2).hex()}"
    with store(setup, work_dir, server) as (flags, dsn):
        stack = cluster.start(group, tag, engines=setup.engines, apps=setup.apps, store=flags)
        synced = logs.offsets(stack.logs(group))
        figures.logged_at_start = logs.read(stack.logs(group))
        try:
            warm(stack)
            with database_meter(server, dsn, figures):
                measure_throughput(stack, figures, runs)
        except RunTimeoutError as err:
            figures.error = f"{err}; exited: {', '.join(stack.exited()) or 'none'}"
        finally:
            figures.logged = logs.read(stack.logs(group), synced)  # before stopping: shutdown is not the runs'
            stack.stop(group)
    return figures
