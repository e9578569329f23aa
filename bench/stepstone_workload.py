"""The workloads on Stepstone: the engine (`stepstone dev`) and `bench.app` as subprocesses, driven over HTTP.

Times come from the engine's own stamps: a run's `ended_at` (set in the transaction that stores it as
Completed, ms resolution) against the wall-clock time just before its event was sent. Polling only
decides when a run is done; its interval does not enter the figures. Each workload also records the CPU
time the engine and the app processes used during it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import procs
from bench.engine_api import EngineApi, RunTimeoutError, stamp

LIST_POLL_SECONDS = 0.25


@dataclass
class StepstoneFigures:
    """Seconds measured on one engine + app pair; `cpu_s` maps a workload to (engine, app) CPU seconds."""

    sdk: str
    latency_s: list[float] = field(default_factory=list)
    hundred_s: list[float] = field(default_factory=list)
    first10_s: list[float] = field(default_factory=list)
    last10_s: list[float] = field(default_factory=list)
    throughput_runs: int = 0
    throughput_s: float = 0.0
    cpu_s: dict[str, tuple[float, float]] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Plan:
    latency_runs: int
    hundred_runs: int
    throughput_runs: int


@dataclass
class Stack:
    api: EngineApi
    engine: subprocess.Popen[bytes]
    app: subprocess.Popen[bytes]

    def cpu_seconds(self) -> tuple[float, float] | None:
        engine, app = procs.cpu_seconds(self.engine.pid), procs.cpu_seconds(self.app.pid)
        return (engine, app) if engine is not None and app is not None else None

    @contextlib.contextmanager
    def cpu(self, figures: StepstoneFigures, workload: str) -> Iterator[None]:
        """Add the engine's and the app's CPU seconds over the block to the workload's (where /proc can tell)."""
        before = self.cpu_seconds()
        yield
        after = self.cpu_seconds()
        if before is not None and after is not None:
            engine, app = figures.cpu_s.get(workload, (0.0, 0.0))
            figures.cpu_s[workload] = (engine + after[0] - before[0], app + after[1] - before[1])


def start_stack(
    group: procs.Processes,
    *,
    sdk: str,
    synchronous: str,
    work_dir: Path,
    tag: str | None = None,
    engine_env: Mapping[str, str] | None = None,
) -> Stack:
    """Start the app and the engine on a fresh database; return once the engine has synced the app.

    `tag` names the logs and the database (default `<sdk>-<synchronous>`); `engine_env` is added to the
    engine's environment only (`bench.compare` sets its `PYTHONPATH`: which source tree the engine runs).
    """
    app_port, engine_port = procs.free_port(), procs.free_port()
    engine_url = f"http://127.0.0.1:{engine_port}"
    tag = tag or f"{sdk}-{synchronous}"
    app = group.start(
        f"app-{tag}",
        procs.uvicorn_command("bench.app:app", app_port),
        env={"STEPSTONE_DEV": engine_url, "BENCH_SDK": sdk},
    )
    serve_url = f"http://127.0.0.1:{app_port}/api/inngest"
    procs.wait_until(procs.answers(serve_url), process=app, what=f"the {sdk} app", log=group.log_of(f"app-{tag}"))
    db = work_dir / f"{tag}.db"
    db.unlink(missing_ok=True)
    engine = group.start(
        f"engine-{tag}", engine_command(tag, engine_port, serve_url, sqlite_flags(db, synchronous)), env=engine_env
    )
    api = EngineApi(engine_url)
    procs.wait_until(
        lambda: api.synced(serve_url), process=engine, what="the engine", log=group.log_of(f"engine-{tag}")
    )
    return Stack(api, engine, app)


def engine_command(tag: str, port: int, serve_url: str, store: list[str]) -> list[str]:
    """`stepstone dev` on `port`, syncing the app at `serve_url`, on the store `store` names (its flags)."""
    return [
        *procs.engine_command(tag, os.environ),
        "dev",
        "--port",
        str(port),
        "-u",
        serve_url,
        *store,
        "--log-level",
        "warning",
    ]


def sqlite_flags(db: Path, synchronous: str) -> list[str]:
    return ["--db", str(db), "--sqlite-synchronous", synchronous]


def timed_run(api: EngineApi, event: str, timeout: float) -> tuple[float, dict[str, Any]]:
    """Send one event; return the seconds from sending to the run's `ended_at`, and the run."""
    sent = time.time()
    (event_id,) = api.send(event)
    run = api.run_of_event(event_id, timeout)
    if run["status"] != "Completed":
        raise RunTimeoutError(f"run {run['run_id']} ended {run['status']}: {run.get('reason')}")
    return stamp(run["ended_at"]) - sent, run


def measure_latency(api: EngineApi, figures: StepstoneFigures, runs: int) -> None:
    for _ in range(runs):
        seconds, _ = timed_run(api, "bench/ten", timeout=30)
        figures.latency_s.append(seconds)


def measure_hundred(api: EngineApi, figures: StepstoneFigures, runs: int) -> None:
    """Whole-run seconds, and the mean step interval over the first and the last ten steps."""
    for _ in range(runs):
        seconds, run = timed_run(api, "bench/hundred", timeout=120)
        figures.hundred_s.append(seconds)
        ends = sorted(stamp(step["ended_at"]) for step in api.run(run["run_id"])["steps"])
        if len(ends) >= 100:
            figures.first10_s.append((ends[10] - ends[0]) / 10)
            figures.last10_s.append((ends[99] - ends[89]) / 10)


def measure_throughput(api: EngineApi, figures: StepstoneFigures, runs: int) -> None:
    """Send `runs` three-step events in one request; time until the last of their runs is Completed."""
    sent = time.time()
    done = wait_completed(api, set(api.send("bench/three", runs)))
    figures.throughput_runs = runs
    figures.throughput_s = max(stamp(run["ended_at"]) for run in done) - sent


def wait_completed(
    api: EngineApi, event_ids: set[str], timeout: float = 600, stall: float = 60, poll: float = LIST_POLL_SECONDS
) -> list[dict[str, Any]]:
    """The Completed three-step runs of `event_ids`, once there is one for each; raise `RunTimeoutError`
    after `timeout` seconds, or when none has completed for `stall` seconds."""
    deadline = time.monotonic() + timeout
    count, progressed = 0, time.monotonic()
    while (now := time.monotonic()) < deadline and now - progressed < stall:
        time.sleep(poll)
        done = [run for run in api.completed_runs("bench-three-steps") if run["event_id"] in event_ids]
        if len(done) == len(event_ids):
            return done
        if len(done) > count:
            count, progressed = len(done), time.monotonic()
    why = f"within {timeout:g} s" if now >= deadline else f"(none completed in the last {stall:g} s)"
    raise RunTimeoutError(f"{count} of {len(event_ids)} three-step runs completed {why}")


def smoke(api: EngineApi, timeout: float) -> None:
    """One three-step and a few ten-step runs: the SDK works, and connections and caches are warm."""
    timed_run(api, "bench/three", timeout)
    for _ in range(3):
        timed_run(api, "bench/ten", timeout)


@dataclass
class Session:
    """One engine + app pair being measured, and what was measured on it so far."""

    stack: Stack
    figures: StepstoneFigures


def start(
    group: procs.Processes,
    *,
    sdk: str,
    synchronous: str,
    work_dir: Path,
    tag: str | None = None,
    engine_env: Mapping[str, str] | None = None,
) -> Session:
    """A fresh engine + app, warmed up (a stuck SDK is reported in `figures.error`, not raised); `tag` and
    `engine_env` as in `start_stack`."""
    stack = start_stack(group, sdk=sdk, synchronous=synchronous, work_dir=work_dir, tag=tag, engine_env=engine_env)
    session = Session(stack, StepstoneFigures(sdk))
    _guarded(session, lambda: smoke(session.stack.api, timeout=15))
    return session


def latency(session: Session, runs: int) -> None:
    """`runs` more 10-step runs (the benchmark interleaves rounds of them with DBOS's)."""
    with session.stack.cpu(session.figures, "latency"):
        _guarded(session, lambda: measure_latency(session.stack.api, session.figures, runs))


def rest(session: Session, plan: Plan) -> None:
    """The 100-step runs and the throughput burst."""
    with session.stack.cpu(session.figures, "hundred"):
        _guarded(session, lambda: measure_hundred(session.stack.api, session.figures, plan.hundred_runs))
    with session.stack.cpu(session.figures, "throughput"):
        _guarded(session, lambda: measure_throughput(session.stack.api, session.figures, plan.throughput_runs))


def stop(group: procs.Processes, session: Session) -> None:
    session.stack.api.close()
    group.stop(session.stack.engine)
    group.stop(session.stack.app)


def _guarded(session: Session, work: Callable[[], None]) -> None:
    """Run `work` unless the pair already failed; a timeout marks it failed instead of raising."""
    if session.figures.error is not None:
        return
    try:
        work()
    except RunTimeoutError as err:
        session.figures.error = str(err)
