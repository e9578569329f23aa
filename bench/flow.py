"""The flow-control benchmark: `python -m bench.flow [--quick]` from the repository root.

What flow control costs the queue's throughput: the same three-step function registered once per flow-control
option (`VARIANTS`), each triggered by its own event name, and the same burst of runs sent to each, on one engine
on SQLite and one on PostgreSQL (a fresh database). Variants are interleaved, in alternating order, over several
rounds, so that machine noise and the store's growth affect them alike; each variant's runs/s is reported as a
ratio against `none` (no flow control) on the same engine in the same run. Prints a markdown report and writes
it to `bench/results/flow.md` (`--quick`: `bench/results/flow-quick.md`). See `bench/README.md`.

The app is served from this module too: `python -m uvicorn bench.flow:build_app --factory`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench import cpu, logs, multi_report, postgres, procs
from bench.engine_api import EngineApi, RunTimeoutError, stamp
from bench.multi_workload import CHUNK, POLL_SECONDS, Setup, store
from bench.report import num, section
from bench.stats import median, ratio
from bench.stepstone_workload import engine_command

if TYPE_CHECKING:
    import fastapi

RESULTS = Path(__file__).resolve().parent / "results"
APP_ID = "bench"  # as `bench.app`'s; the functions' ids are `bench-flow-<variant>`
TENANTS = 50
STEPS = 3
WARM_RUNS = 5  # per variant, before measuring: the function works, its keys and caches are warm
STALL_SECONDS = 30.0  # a variant none of whose runs completed for this long has failed


@dataclass(frozen=True)
class Variant:
    key: str
    options: str  # the `create_function` arguments, as the report shows them

    @property
    def fn_id(self) -> str:
        return f"flow-{self.key}"

    @property
    def function_id(self) -> str:
        return f"{APP_ID}-{self.fn_id}"

    @property
    def event(self) -> str:
        return f"bench/flow-{self.key}"


VARIANTS = (
    Variant("none", "—"),
    Variant("concurrency", "`concurrency=[Concurrency(limit=1000)]`"),
    Variant("concurrency-keyed", '`concurrency=[Concurrency(limit=1000, key="event.data.tenant")]`'),
    Variant("concurrency-binding", '`concurrency=[Concurrency(limit=4, key="event.data.tenant")]`'),
    Variant("throttle", '`throttle=Throttle(limit=100000, period="1s")`'),
    Variant("priority", '`priority=Priority(run="event.data.p")`'),
    Variant("idempotency", '`idempotency="event.data.id"`'),
    Variant("rate-limit", '`rate_limit=RateLimit(limit=100000, period="1s")`'),
)
STORES = (Setup("sqlite", "sqlite", engines=1, apps=1), Setup("postgres", "postgres", engines=1, apps=1))
STORE_NAMES = {"sqlite": "SQLite (`--sqlite-synchronous full`)", "postgres": "PostgreSQL (a fresh database)"}


# The app: one function per variant, each running the same three steps as `bench.app`'s `three-steps`.


def flow_options(key: str) -> dict[str, Any]:
    """The variant's `create_function` arguments (what `Variant.options` shows)."""
    import stepstone

    tenant = "event.data.tenant"
    options: dict[str, dict[str, Any]] = {
        "none": {},
        "concurrency": {"concurrency": [stepstone.Concurrency(limit=1000)]},
        "concurrency-keyed": {"concurrency": [stepstone.Concurrency(limit=1000, key=tenant)]},
        "concurrency-binding": {"concurrency": [stepstone.Concurrency(limit=4, key=tenant)]},
        "throttle": {"throttle": stepstone.Throttle(limit=100_000, period="1s")},
        "priority": {"priority": stepstone.Priority(run="event.data.p")},
        "idempotency": {"idempotency": "event.data.id"},
        "rate-limit": {"rate_limit": stepstone.RateLimit(limit=100_000, period="1s")},
    }
    return options[key]


def build_app() -> fastapi.FastAPI:
    """The flow app (a uvicorn factory), reporting to the engine in `STEPSTONE_DEV`."""
    import fastapi

    import stepstone
    import stepstone.fastapi
    from bench.app import run_steps

    client = stepstone.Stepstone(app_id=APP_ID, base_url=os.environ["STEPSTONE_DEV"], is_dev=True)
    functions = []
    for variant in VARIANTS:

        @client.create_function(
            fn_id=variant.fn_id, trigger=stepstone.TriggerEvent(event=variant.event), **flow_options(variant.key)
        )
        async def handler(ctx: stepstone.Context) -> int:
            return await run_steps(ctx.step.run, STEPS)

        functions.append(handler)
    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, functions)
    return app


# The driver.


def event_data(index: int) -> dict[str, Any]:
    """Every variant gets the same payloads: a tenant out of `TENANTS`, a priority in [-60, 60], a unique id."""
    return {"i": index, "tenant": f"t{index % TENANTS}", "p": (index * 37) % 121 - 60, "id": uuid.uuid4().hex}


class FlowApi(EngineApi):
    def reconnect(self) -> None:
        """Send the next events on a new connection (`http.client` opens it on the next request)."""
        self._events.close()

    def runs_of(self, function_id: str, status: str, event_ids: set[str]) -> list[dict[str, Any]]:
        """The function's runs in `status` started by `event_ids`: newest first, so paging stops at the
        first run of an earlier batch (every earlier batch had ended before these events were sent)."""
        found: list[dict[str, Any]] = []
        params: dict[str, str | int] = {"status": status, "function_id": function_id, "limit": 500}
        while True:
            page = self.http.get("/v1/runs", params=params).json()
            ours = [run for run in page["data"] if run["event_id"] in event_ids]
            found.extend(ours)
            if page["cursor"] is None or len(ours) < len(page["data"]):
                return found
            params["cursor"] = page["cursor"]

    def statuses(self, function_id: str, event_ids: set[str]) -> dict[str, int]:
        """How many of the events' runs are in each status, and how many events have none."""
        found = {
            status: len(self.runs_of(function_id, status, event_ids))
            for status in ("Queued", "Running", "Completed", "Failed", "Cancelled", "Skipped")
        }
        found["no run"] = len(event_ids) - sum(found.values())
        return {status: count for status, count in found.items() if count}


def wait_completed(api: FlowApi, variant: Variant, event_ids: set[str], timeout: float) -> list[dict[str, Any]]:
    """The events' Completed runs once every event has one; raise `RunTimeoutError` (with the runs'
    statuses) after `timeout` s, or when none completed for `STALL_SECONDS`."""
    deadline, count, progressed = time.monotonic() + timeout, 0, time.monotonic()
    while (now := time.monotonic()) < deadline and now - progressed < STALL_SECONDS:
        time.sleep(POLL_SECONDS)
        done = api.runs_of(variant.function_id, "Completed", event_ids)
        if len({run["event_id"] for run in done}) == len(event_ids):
            if len(done) != len(event_ids):
                raise RunTimeoutError(f"{len(done)} Completed runs for {len(event_ids)} events")
            return done
        if len(done) > count:
            count, progressed = len(done), time.monotonic()
    why = f"within {timeout:g} s" if now >= deadline else f"(none completed in the last {STALL_SECONDS:g} s)"
    counts = ", ".join(f"{status} {n}" for status, n in api.statuses(variant.function_id, event_ids).items())
    raise RunTimeoutError(f"{count} of {len(event_ids)} runs completed {why}; runs by status: {counts}")


@dataclass
class Measured:
    """One variant's burst of runs on one store, in one round."""

    store: str
    variant: str
    round: int
    runs: int = 0
    seconds: float = 0.0  # first send → the latest `ended_at`
    accepted_s: float = 0.0  # first send → the last send's answer
    cpu_s: dict[str, float] = field(default_factory=dict)  # engine, app, postgres, driver, machine busy, machine
    logged: Counter[str] = field(default_factory=Counter)  # what the engine and the app logged meanwhile
    error: str | None = None

    @property
    def rate(self) -> float | None:
        return self.runs / self.seconds if self.seconds and self.error is None else None


@dataclass
class Stack:
    api: FlowApi
    engine: subprocess.Popen[bytes]
    app: subprocess.Popen[bytes]
    logs: dict[str, Path]

    def exited(self) -> list[str]:
        named = (("engine", self.engine), ("app", self.app))
        return [f"{name} (code {process.returncode})" for name, process in named if process.poll() is not None]


@contextlib.contextmanager
def stack(group: procs.Processes, setup: Setup, work_dir: Path, server: str) -> Iterator[Stack]:
    """The app, then one engine on a fresh store syncing it; stopped (and the database dropped) afterwards."""
    with store(setup, work_dir, server) as (flags, _):
        app_port, engine_port = procs.free_port(), procs.free_port()
        engine_url, serve_url = f"http://127.0.0.1:{engine_port}", f"http://127.0.0.1:{app_port}/api/inngest"
        tag = f"flow-{setup.key}-{os.urandom(2).hex()}"
        command = [*procs.uvicorn_command("bench.flow:build_app", app_port), "--factory"]
        app = group.start(f"app-{tag}", command, env={"STEPSTONE_DEV": engine_url, "BENCH_SDK": "stepstone"})
        procs.wait_until(procs.answers(serve_url), process=app, what="the flow app", log=group.log_of(f"app-{tag}"))
        engine = group.start(f"engine-{tag}", engine_command(tag, engine_port, serve_url, flags(0)))
        api = FlowApi(engine_url)
        try:
            procs.wait_until(
                lambda: api.synced(serve_url, [variant.function_id for variant in VARIANTS]),
                process=engine,
                what="the engine",
                log=group.log_of(f"engine-{tag}"),
            )
            yield Stack(api, engine, app, {"engine": group.log_of(f"engine-{tag}"), "app": group.log_of(f"app-{tag}")})
        finally:
            api.close()
            group.stop(engine)
            group.stop(app)


def send(api: FlowApi, variant: Variant, runs: int) -> set[str]:
    """`runs` events in requests of `CHUNK`, one after another, on a new connection (the engine closes an idle
    keep-alive connection after 5 s, and waiting for the last variant's runs takes longer); their ids."""
    api.reconnect()
    ids: set[str] = set()
    for first in range(0, runs, CHUNK):
        ids.update(api.send_data(variant.event, [event_data(i) for i in range(first, min(runs, first + CHUNK))]))
    return ids


def sampler(stack: Stack, setup: Setup) -> cpu.CpuSampler:
    kinds: dict[str, cpu.Pids] = {
        "engine": lambda: [stack.engine.pid],
        "app": lambda: [stack.app.pid],
        "driver": lambda: [os.getpid()],
    }
    if setup.store == "postgres":
        kinds["postgres"] = lambda: procs.pids_named("postgres")
    return cpu.CpuSampler(kinds)


def measure_variant(stack: Stack, setup: Setup, variant: Variant, runs: int, round_: int) -> Measured:
    figures = Measured(setup.key, variant.key, round_)
    since = logs.offsets(stack.logs)
    try:
        with sampler(stack, setup) as cpu_sampler:
            sent = time.time()
            ids = send(stack.api, variant, runs)
            figures.accepted_s = time.time() - sent
            done = wait_completed(stack.api, variant, ids, timeout=max(120.0, runs / 5))
        figures.runs = len(done)
        figures.seconds = max(stamp(run["ended_at"]) for run in done) - sent
        figures.cpu_s = cpu_sampler.window(sent, sent + figures.seconds)
    except (RuntimeError, OSError, httpx.HTTPError) as err:  # RunTimeoutError, an event API answer, a socket
        figures.error = f"{type(err).__name__}: {err}; exited: {', '.join(stack.exited()) or 'none'}"
    figures.logged = logs.read(stack.logs, since)
    return figures


def warm(stack: Stack, variant: Variant) -> None:
    ids = send(stack.api, variant, WARM_RUNS)
    wait_completed(stack.api, variant, ids, timeout=60)


@dataclass(frozen=True)
class Plan:
    runs: int
    rounds: int


FULL = Plan(runs=1000, rounds=3)
QUICK = Plan(runs=200, rounds=1)


@dataclass
class FlowResults:
    quick: bool
    plan: Plan
    command: str
    busy_before: float
    measured: list[Measured] = field(default_factory=list)
    warm_errors: dict[tuple[str, str], str] = field(default_factory=dict)  # (store, variant) -> error
    elapsed_s: float = 0.0

    def of(self, store_key: str, variant: str) -> list[Measured]:
        return [m for m in self.measured if m.store == store_key and m.variant == variant]

    def rate(self, store_key: str, variant: str) -> float | None:
        return median([rate for m in self.of(store_key, variant) if (rate := m.rate) is not None])

    def round_ratios(self, store_key: str, variant: str) -> list[float | None]:
        """Each round's runs/s ÷ `none`'s in the same round."""
        base = {m.round: m.rate for m in self.of(store_key, "none")}
        return [ratio(m.rate, base.get(m.round)) for m in self.of(store_key, variant)]


def measure_store(group: procs.Processes, plan: Plan, setup: Setup, work_dir: Path, results: FlowResults) -> None:
    with stack(group, setup, work_dir, postgres.server_dsn()) as running:
        usable = []
        for variant in VARIANTS:
            try:
                warm(running, variant)
                usable.append(variant)
            except (RuntimeError, OSError, httpx.HTTPError) as err:
                exited = ", ".join(running.exited()) or "none"
                results.warm_errors[(setup.key, variant.key)] = f"{err}; exited: {exited}"
                procs.progress(f"{setup.key} {variant.key}: warm-up failed: {err}")
        for round_ in range(plan.rounds):
            order = usable if round_ % 2 == 0 else usable[::-1]  # alternate, so drift affects all alike
            for variant in order:
                procs.progress(f"{STORE_NAMES[setup.key]}, round {round_ + 1} of {plan.rounds}: {variant.key}")
                figures = measure_variant(running, setup, variant, plan.runs, round_)
                results.measured.append(figures)
                if figures.error:
                    procs.progress(f"failed: {figures.error}")
                    usable.remove(variant)  # a failed variant is not measured again: time is bounded


# The report.


def cpu_ms(figures: list[Measured], kind: str) -> float | None:
    runs = sum(m.runs for m in figures if m.rate is not None)
    spent = sum(m.cpu_s.get(kind, 0.0) for m in figures if m.rate is not None)
    return 1000 * spent / runs if runs else None


def rate_cell(results: FlowResults, store_key: str, variant: str) -> str:
    rates = [m.rate for m in results.of(store_key, variant)]
    cell = num(results.rate(store_key, variant))
    return cell + (f" ({', '.join(num(rate) for rate in rates)})" if len(rates) > 1 else "")


def ratio_cell(results: FlowResults, store_key: str, variant: str) -> str:
    cell = num(ratio(results.rate(store_key, variant), results.rate(store_key, "none")), 2)
    rounds = results.round_ratios(store_key, variant)
    return cell + (f" ({', '.join(num(value, 2) for value in rounds)})" if len(rounds) > 1 else "")


def store_table(results: FlowResults, setup: Setup) -> list[str]:
    base_cpu = cpu_ms(results.of(setup.key, "none"), "engine")
    rows = []
    for variant in VARIANTS:
        figures = results.of(setup.key, variant.key)
        ok = [m for m in figures if m.rate is not None]
        engine_cpu = cpu_ms(figures, "engine")
        row = [
            f"`{variant.key}`",
            variant.options,
            rate_cell(results, setup.key, variant.key),
            ratio_cell(results, setup.key, variant.key) if variant.key != "none" else "1",
            num(median([m.accepted_s for m in ok]), 2),
            num(engine_cpu, 2) + (f" ({num(ratio(engine_cpu, base_cpu), 2)})" if variant.key != "none" else ""),
        ]
        if setup.store == "postgres":
            row.append(num(cpu_ms(figures, "postgres"), 2))
        rows.append(row)
    head = ["variant", "flow control", "runs/s", "÷ `none`", "events accepted, s", "engine CPU ms per run (÷ `none`)"]
    if setup.store == "postgres":
        head.append("PostgreSQL CPU ms per run")
    return section(STORE_NAMES[setup.key], head, rows)


def header(results: FlowResults) -> list[str]:
    kind = "quick" if results.quick else "full"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores"
    plan = results.plan
    rounds = "one round" if plan.rounds == 1 else f"{plan.rounds} rounds"
    return [
        "# Flow control: its cost to queue throughput",
        "",
        f"{when}; {kind} run in {results.elapsed_s:.0f} s; {machine}; CPU {100 * results.busy_before:.0f}% busy in",
        "the second before the run (other load skews every figure). See `bench/README.md` (*Flow control*).",
        "",
        f"Command: `{results.command}`.",
        "",
        f"Each variant: {plan.runs:,} runs of the same three-step function, events sent at once in requests of",
        f"{CHUNK}; runs/s = runs / (the latest `ended_at` - the time just before the first send); every run counted",
        f"Completed through the REST API. One engine per store; variants interleaved over {rounds} (order",
        "reversed every other round). runs/s is the median of the rounds, each round's figure in brackets; `÷ none`",
        "divides it by `none`'s on the same engine (brackets: each round's variant ÷ that round's `none`).",
        f"Events spread over {TENANTS} tenants (`event.data.tenant`), `event.data.p` in [-60, 60], unique",
        "`event.data.id`, in every variant alike.",
    ]


def logged(results: FlowResults) -> list[str]:
    lines = ["", "## What the engine and the app logged during the runs (`--log-level warning`)", ""]
    for setup in STORES:
        found = sum((m.logged for m in results.measured if m.store == setup.key), Counter())
        lines.append(f"- {STORE_NAMES[setup.key]}:")
        lines += multi_report.counted(found, "during the measured runs")
    return lines


def failures(results: FlowResults) -> list[str]:
    found = [
        f"- {STORE_NAMES[store_key]}, `{variant}`, warm-up: {error}"
        for (store_key, variant), error in results.warm_errors.items()
    ]
    found += [
        f"- {STORE_NAMES[m.store]}, `{m.variant}`, round {m.round + 1}: {m.error}" for m in results.measured if m.error
    ]
    return ["", "## Failures", "", *found] if found else []


def render(results: FlowResults) -> str:
    lines = header(results)
    for setup in STORES:
        lines += store_table(results, setup)
    lines += logged(results) + failures(results)
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.flow", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 runs per variant instead of 1,000, one round")
    parser.add_argument("--out", type=Path, help="where to write the report (default: bench/results/flow.md)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    plan = QUICK if args.quick else FULL
    out: Path = args.out or RESULTS / ("flow-quick.md" if args.quick else "flow.md")
    procs.interrupt_on_sigterm()
    work_dir = Path(tempfile.mkdtemp(prefix="stepstone-bench-flow-"))
    command = " ".join([".venv/bin/python -m bench.flow", *(argv if argv is not None else sys.argv[1:])])
    results = FlowResults(quick=args.quick, plan=plan, command=command, busy_before=procs.busy_now())
    started = time.monotonic()

    def measure() -> None:
        with procs.processes(work_dir) as group:
            for setup in STORES:
                measure_store(group, plan, setup, work_dir, results)

    code = postgres.guarded(measure, work_dir)
    if code is not None:
        return code
    results.elapsed_s = time.monotonic() - started
    keep_logs = results.warm_errors or any(
        m.error or any(map(multi_report.is_error, m.logged)) for m in results.measured
    )
    procs.publish(render(results), out, work_dir, keep_logs=bool(keep_logs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
