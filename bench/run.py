"""The benchmark: `python -m bench.run [--quick]` from the repository root.

Measures the baselines, then, for SQLite `synchronous=full` and `normal`, Stepstone (engine + app over
HTTP, with each SDK) and DBOS (in-process workflows); prints a markdown report and writes it to
`bench/results/latest.md` (`--quick`: `bench/results/quick.md`). See `bench/README.md`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import baselines, procs, report, stepstone_workload, yardstick

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Plan:
    latency_runs: int
    rounds: int  # the latency runs come in this many rounds, alternating with DBOS's
    hundred_runs: int
    throughput_runs: int
    loopback_s: float
    commit_s: float
    client_s: float

    @property
    def workload(self) -> stepstone_workload.Plan:
        return stepstone_workload.Plan(self.latency_runs, self.hundred_runs, self.throughput_runs)


FULL = Plan(latency_runs=30, rounds=3, hundred_runs=3, throughput_runs=1000, loopback_s=2.0, commit_s=1.0, client_s=3.0)
QUICK = Plan(latency_runs=10, rounds=2, hundred_runs=1, throughput_runs=200, loopback_s=0.5, commit_s=0.3, client_s=1.0)


def measure_http(group: procs.Processes, plan: Plan, results: report.Results) -> None:
    """The loopback round trip and the client choice, against `bench.echo` in its own process."""
    port = procs.free_port()
    echo = group.start("echo", procs.uvicorn_command("bench.echo:app", port))
    url = f"http://127.0.0.1:{port}/"
    procs.wait_until(procs.answers(url), process=echo, what="the trivial app", log=group.log_of("echo"))
    results.loopback_s = baselines.run_async(baselines.loopback_round_trip(url, plan.loopback_s))
    results.clients = baselines.run_async(baselines.client_rates(url, plan.client_s))
    group.stop(echo)


def measure_sqlite(plan: Plan, work_dir: Path, results: report.Results) -> None:
    for journal in ("wal", "delete"):
        for mode in report.MODES:
            path = work_dir / f"commits-{journal}-{mode}.db"
            rate = baselines.sqlite_commit_rate(path, journal=journal, synchronous=mode, seconds=plan.commit_s)
            results.commits[(journal, mode)] = rate


def measure_mode(
    group: procs.Processes, plan: Plan, mode: str, sdks: list[str], work_dir: Path, results: report.Results
) -> None:
    """Both systems at one `synchronous` setting. The 10-step latency, the figure with the tightest target,
    is measured in rounds that alternate Stepstone and DBOS, so a machine that speeds up or slows down
    over the minutes a run takes (this one's fsync rate moves by a third) weighs on both alike."""
    sessions = {sdk: stepstone_workload.start(group, sdk=sdk, synchronous=mode, work_dir=work_dir) for sdk in sdks}
    dbos = {style: yardstick.DbosFigures(style=style) for style in yardstick.STYLES}

    def run_dbos(style: str, *, latency: int, hundred: int, throughput: int) -> None:
        part = yardstick.measure(
            group,
            style=style,
            synchronous=mode,
            work_dir=work_dir,
            latency_runs=latency,
            hundred_runs=hundred,
            throughput_runs=throughput,
        )
        yardstick.add(dbos[style], part)

    try:
        per_round = -(-plan.latency_runs // plan.rounds)
        for number in range(1, plan.rounds + 1):
            procs.progress(f"10-step latency, synchronous={mode}, round {number} of {plan.rounds}")
            for session in sessions.values():
                stepstone_workload.latency(session, per_round)
            for style in yardstick.STYLES:
                run_dbos(style, latency=per_round, hundred=0, throughput=0)
        for sdk, session in sessions.items():
            procs.progress(f"Stepstone with the {sdk} SDK, synchronous={mode}: 100-step runs and throughput")
            stepstone_workload.rest(session, plan.workload)
        for style in yardstick.STYLES:
            procs.progress(f"DBOS {style} workflows, synchronous={mode}: 100-step runs and throughput")
            run_dbos(style, latency=0, hundred=plan.hundred_runs, throughput=plan.throughput_runs)
    finally:
        for session in sessions.values():
            stepstone_workload.stop(group, session)
    for sdk, session in sessions.items():
        results.stepstone[(sdk, mode)] = session.figures
    for style, figures in dbos.items():
        results.dbos[(style, mode)] = figures


def measure(plan: Plan, sdks: list[str], work_dir: Path, *, quick: bool) -> report.Results:
    results = report.Results(quick=quick)
    with procs.processes(work_dir) as group:
        procs.progress("baselines: loopback HTTP, HTTP clients")
        measure_http(group, plan, results)
        for mode in report.MODES:
            measure_mode(group, plan, mode, sdks, work_dir, results)
        procs.progress("baseline: SQLite commits")  # last: its burst of fsyncs slows the disk for a while after
        measure_sqlite(plan, work_dir, results)
    return results


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs (200 instead of 1,000); under a minute")
    parser.add_argument(
        "--sdk",
        action="append",
        choices=["stepstone", "inngest"],
        help="the app's SDK (repeatable; default: both)",
    )
    parser.add_argument("--out", type=Path, help="where to write the report (default: bench/results/latest.md)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    plan = QUICK if args.quick else FULL
    out: Path = args.out or RESULTS / ("quick.md" if args.quick else "latest.md")
    procs.interrupt_on_sigterm()
    work_dir = Path(tempfile.mkdtemp(prefix="stepstone-bench-"))
    started = time.monotonic()
    results = procs.guarded(
        lambda: measure(plan, args.sdk or ["stepstone", "inngest"], work_dir, quick=args.quick), work_dir
    )
    if isinstance(results, int):
        return results
    results.elapsed_s = time.monotonic() - started
    text = report.render(results, plan.throughput_runs)
    procs.publish(text, out, work_dir, keep_logs=bool(report.failures(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
