"""The old engine against the new, in interleaved rounds: `python -m bench.compare --base <git-rev> [--quick]`.

The old engine runs from a git worktree of `<git-rev>` (`PYTHONPATH=<worktree>/src`), the new one from a copy
of this checkout's `src/` taken at the start (uncommitted changes included; later edits do not reach the
rounds), both as `stepstone dev` subprocesses of this interpreter; the app (the SDK side, `bench.app` and
`bench.reuseport`) imports that copy on both sides, so only the engine differs. Every round starts, workload
by workload, an old and a new set of processes side by side, each on a fresh store, and measures them next to
each other in time: `bench.run`'s ten-step runs alternate old / new run by run, then its burst of three-step
runs goes to one side and then to the other; likewise `bench.multi`'s burst for each configuration (engines
sharing a PostgreSQL database). The old side goes first in odd rounds, the new one in even rounds. Prints a
markdown table of the medians over the rounds and their new/old ratios, and writes it to
`bench/results/compare.md`. See `bench/README.md`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import cluster, logs, multi, multi_workload, postgres, procs, stats, stepstone_workload
from bench.multi_workload import Setup
from bench.report import NONE, num, table

RESULTS = Path(__file__).resolve().parent / "results"
SIDES = ("old", "new")
BAND = (0.9, 1.1)
SDK = "stepstone"
SYNCHRONOUS = "full"  # the engine's default, and bench.multi's SQLite configuration
SINGLE = "SQLite, 1 engine (`bench.run`)"
TOP_ERRORS = 8
ROUND_COLUMNS = ["rounds' new/old, old first", "rounds' new/old, new first"]


@dataclass(frozen=True)
class Plan:
    rounds: int
    latency_runs: int  # ten-step runs per round and side, one after another
    throughput_runs: int  # three-step runs sent at once (bench.run's throughput workload)
    multi_runs: int  # three-step runs per multi-engine configuration
    setups: tuple[str, ...]  # bench.multi configurations (keys of `multi.SETUPS`)


FULL = Plan(rounds=10, latency_runs=30, throughput_runs=1000, multi_runs=1000, setups=("pg-1", "pg-3-apps"))
QUICK = Plan(rounds=6, latency_runs=10, throughput_runs=200, multi_runs=200, setups=("pg-1", "pg-3-apps"))


@dataclass(frozen=True)
class Metric:
    workload: str
    name: str
    lower_is_better: bool
    criterion: bool = True  # one of the acceptance figures (latency, throughput); CPU is for reading only
    digits: int = 1


@dataclass(frozen=True)
class Source:
    """Where one side's engine is imported from (its `PYTHONPATH`), and what it is."""

    src: Path
    describe: str

    @property
    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.src)}


@dataclass
class Comparison:
    quick: bool
    plan: Plan
    sources: dict[str, Source]
    busy_before: float
    imported: dict[str, str] = field(default_factory=dict)  # old / new / app -> the stepstone package's directory
    metrics: list[Metric] = field(default_factory=list)
    values: dict[tuple[Metric, str], list[float | None]] = field(default_factory=dict)  # (metric, side) -> by round
    failures: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # ERROR lines the engines and apps logged
    stopped: bool = False  # a process did not start: the rounds after it were not run
    busy_during: float | None = None  # the machine's busy share while measuring
    own_during: float | None = None  # the share of it the driver and its subprocesses used
    elapsed_s: float = 0.0

    def record(self, metric: Metric, side: str, number: int, value: float | None) -> None:
        if metric not in self.metrics:
            self.metrics.append(metric)
        by_round = self.values.setdefault((metric, side), [None] * self.plan.rounds)
        by_round[number - 1] = value

    def of(self, metric: Metric, side: str) -> list[float | None]:
        return self.values.get((metric, side), [None] * self.plan.rounds)

    def median(self, metric: Metric, side: str) -> float | None:
        return stats.median([value for value in self.of(metric, side) if value is not None])

    def ratio(self, metric: Metric) -> float | None:
        return stats.ratio(self.median(metric, "new"), self.median(metric, "old"))

    def round_ratios(self, metric: Metric, first: str | None = None) -> list[float]:
        """Each round's new / old (the two sides of a round ran next to each other); with `first`, only of
        the rounds where that side went first."""
        pairs = zip(self.of(metric, "old"), self.of(metric, "new"), strict=True)
        return [
            new / old
            for number, (old, new) in enumerate(pairs, start=1)
            if old and new is not None and (first is None or order(number)[0] == first)
        ]


def order(number: int) -> tuple[str, ...]:
    """Which side goes first in round `number`: old in odd rounds, new in even ones. Whatever one side
    leaves behind for the next (PostgreSQL's and the disk's work after a burst) then falls on each side in
    half the rounds, instead of always on the second (with the same code on both sides and a fixed order,
    one run on a loaded machine had the second side's 3-engine throughput lower in all five rounds)."""
    return SIDES if number % 2 else SIDES[::-1]


def p95(values: list[float]) -> float | None:
    if len(values) < 2:
        return stats.median(values)
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def in_ms(seconds: float | None) -> float | None:
    return 1000 * seconds if seconds is not None else None


def per_run_ms(cpu_s: float | None, runs: int) -> float | None:
    """Milliseconds per run of `cpu_s` seconds over `runs` runs (None when unknown)."""
    return 1000 * cpu_s / runs if cpu_s is not None and runs else None


# --- the two sources ---------------------------------------------------------------------------------------


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=procs.ROOT, check=True, capture_output=True, text=True).stdout.strip()


@contextlib.contextmanager
def worktree(rev: str) -> Iterator[Source]:
    """A detached worktree of `rev` in a temporary directory for the block; removed afterwards, also on
    errors and Ctrl-C."""
    try:
        commit = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        raise procs.StartError(f"{rev!r} names no commit here") from None
    path = Path(tempfile.mkdtemp(prefix="stepstone-compare-base-"))
    try:
        git("worktree", "add", "--detach", str(path), commit)
    except subprocess.CalledProcessError as err:
        shutil.rmtree(path, ignore_errors=True)
        raise procs.StartError(f"git worktree add {rev}: {err.stderr.strip()}") from None
    try:
        subject = git("log", "-1", "--format=%s", commit)
        yield Source(path / "src", f"`{rev}` = {commit[:7]} ({shorten(subject)}), from a worktree's `src/`")
    finally:
        with procs.uninterrupted():
            try:
                git("worktree", "remove", "--force", str(path))
            except subprocess.CalledProcessError:
                shutil.rmtree(path, ignore_errors=True)
                git("worktree", "prune")


def shorten(text: str, longest: int = 70) -> str:
    return text if len(text) <= longest else text[: longest - 1] + "…"


def this_checkout() -> str:
    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--", "src")
    changes = " with uncommitted changes under `src/`" if dirty else ""
    return f"this checkout's `src/` (HEAD = {head}{changes}), copied at the start"


@contextlib.contextmanager
def copy_of(src: Path, describe: str) -> Iterator[Source]:
    """A copy of the source tree `src` in a temporary directory for the block, so that every round runs the
    code as it was at the start, whatever edits the checkout sees meanwhile."""
    path = Path(tempfile.mkdtemp(prefix="stepstone-compare-src-"))
    try:
        shutil.copytree(src, path / "src", ignore=shutil.ignore_patterns("__pycache__"))
        yield Source(path / "src", describe)
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def sources(args: argparse.Namespace) -> Iterator[dict[str, Source]]:
    """The old and the new engine's source trees for the block."""
    with contextlib.ExitStack() as trees:
        if args.base_src is not None:
            old = trees.enter_context(copy_of(args.base_src.resolve(), f"`{args.base_src}`, copied at the start"))
        else:
            old = trees.enter_context(worktree(args.base))
        new = trees.enter_context(copy_of(procs.ROOT / "src", this_checkout()))
        yield {"old": old, "new": new}


@contextlib.contextmanager
def app_source(source: Source) -> Iterator[None]:
    """Every subprocess started in the block imports `source` unless told otherwise (the app processes get
    their environment from this process's; the engines get their own `PYTHONPATH`)."""
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(source.src)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = previous


def imported_from(env: dict[str, str] | None) -> str:
    """The directory `import stepstone` finds with this interpreter, the checkout as working directory, and
    `env` added (as the engine and the app subprocesses are started)."""
    command = [procs.PYTHON, "-c", "import pathlib, stepstone; print(pathlib.Path(stepstone.__file__).parent)"]
    found = subprocess.run(
        command, cwd=procs.ROOT, env={**os.environ, **(env or {})}, check=True, capture_output=True, text=True
    )
    return found.stdout.strip()


def check_imports(comparison: Comparison) -> None:
    """Each side's engine imports its own tree, and the app the new one (this checkout's); else `StartError`."""
    expected = {side: source.src for side, source in comparison.sources.items()} | {
        "app": comparison.sources["new"].src
    }
    for who, src in expected.items():
        source = comparison.sources.get(who)
        found = comparison.imported[who] = imported_from(source.env if source is not None else None)
        if Path(found) != src / "stepstone":
            raise procs.StartError(f"the {who} processes would import stepstone from {found}, not from {src}")


# --- the workloads -----------------------------------------------------------------------------------------

LATENCY_P50 = Metric(SINGLE, "10-step run latency, p50 (ms)", lower_is_better=True)
LATENCY_P95 = Metric(SINGLE, "10-step run latency, p95 (ms)", lower_is_better=True)
THROUGHPUT = Metric(SINGLE, "throughput, 3-step runs/s", lower_is_better=False, digits=0)
CPU_LATENCY = Metric(SINGLE, "engine CPU per 10-step run (ms)", lower_is_better=True, criterion=False, digits=2)
CPU_THROUGHPUT = Metric(
    SINGLE, "engine CPU per 3-step run, burst (ms)", lower_is_better=True, criterion=False, digits=2
)


@contextlib.contextmanager
def single_engines(
    group: procs.Processes, comparison: Comparison, number: int, work_dir: Path
) -> Iterator[dict[str, stepstone_workload.Session]]:
    """An engine + app pair per side, each on a fresh SQLite database, warmed up, for the block."""
    sessions: dict[str, stepstone_workload.Session] = {}
    try:
        for side in order(number):
            sessions[side] = stepstone_workload.start(
                group,
                sdk=SDK,
                synchronous=SYNCHRONOUS,
                work_dir=work_dir,
                tag=f"{side}-{number}",
                engine_env=comparison.sources[side].env,
            )
        yield sessions
    finally:
        for session in sessions.values():
            stepstone_workload.stop(group, session)


def measure_single(group: procs.Processes, comparison: Comparison, number: int, work_dir: Path) -> None:
    """`bench.run`'s workloads, both engines up: ten-step runs one after another, alternating between the
    sides run by run; then a burst of three-step runs on one side, then one on the other (`order`)."""
    plan = comparison.plan
    failed: RuntimeError | None = None
    try:
        with single_engines(group, comparison, number, work_dir) as sessions:
            for _ in range(plan.latency_runs):
                for side in order(number):
                    stepstone_workload.latency(sessions[side], 1)
            for side in order(number):
                stepstone_workload.rest(sessions[side], stepstone_workload.Plan(0, 0, plan.throughput_runs))
    except procs.StartError:
        raise  # `measure_rounds` stops there
    except RuntimeError as err:  # an engine's error answer (`EngineApi`): the round is not counted
        failed = err
    for side in SIDES:
        named = {f"{kind} {side}-{number}": f"{kind}-{side}-{number}" for kind in ("engine", "app")}
        note_errors(comparison, SINGLE, logs.read({who: group.log_of(name) for who, name in named.items()}))
    if failed is not None:
        comparison.failures.append(f"round {number}, {SINGLE}: {failed}")
        return
    for side, session in sessions.items():
        figures = session.figures
        if figures.error is not None:
            comparison.failures.append(f"round {number}, {side} engine, {SINGLE}: {figures.error}")
            continue
        latency = figures.latency_s
        comparison.record(LATENCY_P50, side, number, in_ms(stats.median(latency)))
        comparison.record(LATENCY_P95, side, number, in_ms(p95(latency)))
        comparison.record(THROUGHPUT, side, number, stats.throughput(figures))
        engine_cpu = {workload: spent[0] for workload, spent in figures.cpu_s.items()}
        comparison.record(CPU_LATENCY, side, number, per_run_ms(engine_cpu.get("latency"), len(latency)))
        burst_cpu = per_run_ms(engine_cpu.get("throughput"), figures.throughput_runs)
        comparison.record(CPU_THROUGHPUT, side, number, burst_cpu)


def multi_metrics(setup: Setup) -> tuple[Metric, Metric, Metric, Metric, Metric]:
    workload = f"{setup.label} (`bench.multi`)"
    return (
        Metric(workload, "3-step run time, p50 (ms)", lower_is_better=True),
        Metric(workload, "3-step run time, p95 (ms)", lower_is_better=True),
        Metric(workload, "throughput, 3-step runs/s", lower_is_better=False, digits=0),
        Metric(workload, "engines' CPU per run (ms)", lower_is_better=True, criterion=False, digits=2),
        # Runs are created as their events are accepted: faster intake means longer queued run times.
        Metric(workload, "events accepted (ms)", lower_is_better=True, criterion=False, digits=0),
    )


def measure_multi(
    group: procs.Processes, comparison: Comparison, setup: Setup, number: int, work_dir: Path, server: str
) -> None:
    """One `bench.multi` configuration per side, each on its own fresh database, both up; then each side is
    warmed and gets its burst of runs, one side after the other (`order`)."""
    runs = comparison.plan.multi_runs
    with contextlib.ExitStack() as running:
        clusters: dict[str, cluster.Cluster] = {}
        for side in order(number):
            flags, _ = running.enter_context(multi_workload.store(setup, work_dir, server))
            started = cluster.start(
                group,
                f"{setup.key}-{side}-{number}",
                engines=setup.engines,
                apps=setup.apps,
                store=flags,
                engine_env=comparison.sources[side].env,
            )
            running.callback(started.stop, group)
            clusters[side] = started
        synced = {side: logs.offsets(started.logs(group)) for side, started in clusters.items()}
        for side in order(number):
            figures = multi_workload.MultiFigures(setup)
            try:
                multi_workload.warm(clusters[side])
                multi_workload.measure_throughput(clusters[side], figures, runs)
            except RuntimeError as err:  # `RunTimeoutError`, or an engine's error answer
                exited = ", ".join(clusters[side].exited()) or "none"
                comparison.failures.append(f"round {number}, {side} engine, {setup.label}: {err}; exited: {exited}")
                continue
            p50, p95_, rate, cpu, accepted = multi_metrics(setup)
            comparison.record(p50, side, number, in_ms(stats.median(figures.run_s)))
            comparison.record(p95_, side, number, in_ms(p95(figures.run_s)))
            comparison.record(rate, side, number, figures.rate)
            comparison.record(cpu, side, number, per_run_ms(figures.cpu_s.get("engines"), figures.runs))
            comparison.record(accepted, side, number, in_ms(figures.accepted_s))
        for side, started in clusters.items():  # before stopping: shutdown is not the runs'
            note_errors(comparison, f"{side} engines, {setup.label}", logs.read(started.logs(group), synced[side]))


def note_errors(comparison: Comparison, where: str, logged: Counter[str]) -> None:
    for message, count in logged.items():
        if " ERROR " in message:
            comparison.errors[f"{where}: {message}"] += count


def own_cpu() -> float:
    """CPU seconds of this process and of its children that have exited (every subprocess it stopped)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def measure(comparison: Comparison, work_dir: Path, server: str) -> None:
    """Every round: each workload on the old engine and on the new, next to each other in time."""
    (busy, total), own = procs.machine_cpu(), own_cpu()
    measure_rounds(comparison, work_dir, server)
    (busy_after, total_after), own_after = procs.machine_cpu(), own_cpu()
    if total_after > total:
        comparison.busy_during = (busy_after - busy) / (total_after - total)
        comparison.own_during = (own_after - own) / (total_after - total)


def measure_rounds(comparison: Comparison, work_dir: Path, server: str) -> None:
    plan = comparison.plan
    setups = [setup for key in plan.setups for setup in multi.SETUPS if setup.key == key]
    assert all(setup.store == "postgres" for setup in setups), "both sides' SQLite files would be one"
    with procs.processes(work_dir) as group:
        for number in range(1, plan.rounds + 1):
            try:
                procs.progress(f"round {number} of {plan.rounds}: {SINGLE}")
                measure_single(group, comparison, number, work_dir)
                for setup in setups:
                    procs.progress(f"round {number} of {plan.rounds}: {setup.label}")
                    measure_multi(group, comparison, setup, number, work_dir, server)
            except procs.StartError as err:  # the report gives the rounds measured so far
                procs.progress(f"error: {err}")
                comparison.failures.append(f"round {number}: {err}; no further rounds were run")
                comparison.stopped = True
                return


# --- the report --------------------------------------------------------------------------------------------


def verdict(metric: Metric, value: float | None) -> str:
    if value is None:
        return NONE
    if BAND[0] <= value <= BAND[1]:
        return "yes"
    slower = (value > BAND[1]) == metric.lower_is_better
    return f"**no** ({'worse' if slower else 'better'})"


def ratio_range(ratios: list[float]) -> str:
    if not ratios:
        return NONE
    return f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else f"{ratios[0]:.2f}"


def rows(comparison: Comparison, *, criterion: bool) -> list[list[str]]:
    found = []
    for metric in comparison.metrics:
        if metric.criterion != criterion:
            continue
        ratio = comparison.ratio(metric)
        found.append(
            [
                metric.workload,
                metric.name,
                num(comparison.median(metric, "old"), metric.digits),
                num(comparison.median(metric, "new"), metric.digits),
                NONE if ratio is None else f"{ratio:.3f}",
                verdict(metric, ratio),
                ratio_range(comparison.round_ratios(metric, "old")),
                ratio_range(comparison.round_ratios(metric, "new")),
            ]
        )
    return found


def summary(comparison: Comparison) -> str:
    judged = [metric for metric in comparison.metrics if metric.criterion]
    ratios = {metric: comparison.ratio(metric) for metric in judged}
    outside = [metric for metric, ratio in ratios.items() if ratio is None or not BAND[0] <= ratio <= BAND[1]]
    spreads = [ratio for metric in judged for ratio in comparison.round_ratios(metric)]
    line = (
        f"**{len(judged) - len(outside)} of {len(judged)}** latency and throughput ratios lie within "
        f"{BAND[0]}-{BAND[1]}"
    )
    if outside:
        line += ": not " + "; ".join(f"{metric.workload} {metric.name}" for metric in outside)
    if spreads:
        line += f". Single rounds' new/old ranged over {min(spreads):.2f}-{max(spreads):.2f}"
    return line + "."


def render(comparison: Comparison) -> str:
    plan = comparison.plan
    kind = "quick" if comparison.quick else "full"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores"
    head = ["workload", "metric", "old", "new", "new/old", f"within {BAND[0]}-{BAND[1]}", *ROUND_COLUMNS]
    lines = [
        "# Old engine against new, interleaved rounds",
        "",
        f"{when}; {kind} run in {comparison.elapsed_s:.0f} s; {machine}. See `bench/README.md` (*Old engine "
        "against new*).",
        "",
        load(comparison),
        "",
        f"- **old** engine: {comparison.sources['old'].describe}",
        f"- **new** engine: {comparison.sources['new'].describe}",
        "- the app processes (the SDK side) run the new tree on both sides: only the engine differs (checked "
        "before measuring: `import stepstone` finds the new tree in the app processes and the new engine, the "
        "old tree in the old engine).",
        f"- {plan.rounds} round{'s' if plan.rounds > 1 else ''}. In each, per workload, the old and the new "
        "engines (and their app processes) are started side by side on fresh stores, then measured next to "
        f"each other: {SINGLE} with `--sqlite-synchronous {SYNCHRONOUS}` and the Stepstone SDK, "
        f"{plan.latency_runs} ten-step runs per side one after another, alternating between the sides run by "
        f"run, then {plan.throughput_runs:,} three-step runs sent at once to one side, then to the other; then "
        f"each `bench.multi` configuration, {plan.multi_runs:,} three-step runs to one side's engines, then to "
        "the other's. The old side goes first in odd rounds, the new one in even rounds.",
        "- *old*, *new*: the median over the rounds of each round's figure (a round's p50 / p95 is over its own "
        "runs); *new/old*: their ratio; *rounds' new/old*: the lowest and highest ratio of one round's two "
        "sides, which ran next to each other, over the rounds where the old side went first and over those "
        "where the new one did (the noise a round has; a gap between the two columns is an order effect).",
        "",
        summary(comparison),
        "",
        "## Latency and throughput",
        "",
        *table(head, rows(comparison, criterion=True)),
        "",
        "## Engine CPU and event intake (for reading, not part of the criterion)",
        "",
        "User + system CPU of the engine processes over the workload, per run (`/proc`); other load moves it "
        "less than it moves wall-clock figures. *Events accepted*: the first event request sent → the last "
        "one answered; a burst's runs are created as their events are accepted, so faster intake lengthens "
        "their queued run time (created → ended) at the same throughput.",
        "",
        *table(head, rows(comparison, criterion=False)),
    ]
    if comparison.failures:
        lines += ["", "## Failures", "", *(f"- {failure}" for failure in comparison.failures)]
    if comparison.errors:
        top = comparison.errors.most_common(TOP_ERRORS)
        lines += ["", "## Errors logged (logs kept)", "", *(f"- {message} ({count} times)" for message, count in top)]
    return "\n".join(lines) + "\n"


def load(comparison: Comparison) -> str:
    """What else used the machine: other load widens the rounds' spread."""
    line = f"Machine CPU: {100 * comparison.busy_before:.0f}% busy in the second before the run"
    if comparison.busy_during is not None and comparison.own_during is not None:
        other = comparison.busy_during - comparison.own_during
        line += (
            f"; {100 * comparison.busy_during:.0f}% busy while measuring, {100 * comparison.own_during:.0f}% of "
            f"the machine in the benchmark's own processes (the driver, engines and apps) and {100 * other:.0f}% "
            "in others: PostgreSQL and any other load"
        )
    return line + " (other load widens the rounds' spread)."


# --- the entry point ---------------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", metavar="REV", help="the git revision whose engine is the old one")
    base.add_argument(
        "--base-src",
        metavar="DIR",
        type=Path,
        help="run the old engine from this source directory instead (`--base-src src`: the checkout against "
        "itself, the noise floor)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds and runs; under ~4 minutes on 2 cores")
    parser.add_argument(
        "--rounds",
        type=int,
        help=f"rounds (default: {FULL.rounds}; --quick: {QUICK.rounds}); even: each side goes first equally often",
    )
    parser.add_argument("--out", type=Path, help="where to write the report (default: bench/results/compare.md)")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def run(args: argparse.Namespace, plan: Plan, work_dir: Path) -> Comparison | int:
    def work() -> Comparison:
        with sources(args) as trees, app_source(trees["new"]):
            comparison = Comparison(quick=args.quick, plan=plan, sources=trees, busy_before=procs.busy_now())
            check_imports(comparison)
            measure(comparison, work_dir, postgres.server_dsn())
            return comparison

    return postgres.guarded(work, work_dir)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    plan = QUICK if args.quick else FULL
    if args.rounds is not None:
        plan = Plan(args.rounds, plan.latency_runs, plan.throughput_runs, plan.multi_runs, plan.setups)
    out: Path = args.out or RESULTS / "compare.md"
    procs.interrupt_on_sigterm()
    work_dir = Path(tempfile.mkdtemp(prefix="stepstone-bench-compare-"))
    started = time.monotonic()
    comparison = run(args, plan, work_dir)
    if isinstance(comparison, int):
        return comparison
    comparison.elapsed_s = time.monotonic() - started
    keep_logs = bool(comparison.failures or comparison.errors)
    procs.publish(render(comparison), out, work_dir, keep_logs=keep_logs)
    return 1 if comparison.stopped else 0


if __name__ == "__main__":
    sys.exit(main())
