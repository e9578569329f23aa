"""The multi-engine benchmark: `python -m bench.multi [--quick]` from the repository root.

Throughput of three-step runs with 1, 2 and 3 engine processes sharing one PostgreSQL database (with one
app process, and with one app process per engine) and with one engine on SQLite, next to the raw
PostgreSQL and SQLite commit rates measured in the same run; prints a markdown report and writes it to
`bench/results/multi.md` (`--quick`: `bench/results/multi-quick.md`). See `bench/README.md`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import baselines, multi_report, multi_workload, postgres, procs
from bench.multi_workload import Setup

RESULTS = Path(__file__).resolve().parent / "results"
SETUPS = (
    Setup("sqlite-1", "sqlite", engines=1, apps=1),
    Setup("pg-1", "postgres", engines=1, apps=1),
    Setup("pg-2", "postgres", engines=2, apps=1),
    Setup("pg-3", "postgres", engines=3, apps=1),
    Setup("pg-2-apps", "postgres", engines=2, apps=2),
    Setup("pg-3-apps", "postgres", engines=3, apps=3),
)


@dataclass(frozen=True)
class Plan:
    runs: int
    rounds: int  # every configuration is measured once per round, rounds one after another
    commit_s: float


FULL = Plan(runs=1000, rounds=2, commit_s=2.0)
QUICK = Plan(runs=200, rounds=1, commit_s=0.5)


def measure_commits(plan: Plan, server: str, work_dir: Path, results: multi_report.MultiResults) -> None:
    with postgres.database(server) as dsn:
        for connections in (1, 3):
            rate = postgres.commit_rate(dsn, connections=connections, seconds=plan.commit_s)
            results.commits[f"postgres-{connections}"] = rate
    path = work_dir / "commits.db"
    results.commits["sqlite"] = baselines.sqlite_commit_rate(
        path, journal="wal", synchronous="full", seconds=plan.commit_s
    )


def measure(plan: Plan, server: str, work_dir: Path, *, quick: bool) -> multi_report.MultiResults:
    results = multi_report.MultiResults(quick=quick, runs=plan.runs, setups=SETUPS, busy_before=procs.busy_now())
    procs.progress("raw commit rates: PostgreSQL (1 and 3 connections), SQLite")
    measure_commits(plan, server, work_dir, results)
    with procs.processes(work_dir) as group:
        for round_ in range(plan.rounds):
            for setup in SETUPS:
                procs.progress(f"round {round_ + 1} of {plan.rounds}: {setup.label}")
                figures = multi_workload.measure(group, setup, plan.runs, work_dir=work_dir, server=server)
                results.figures.append(figures)
                if figures.error:
                    procs.progress(f"failed: {figures.error}")
    return results


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.multi", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 runs instead of 1,000, one round; under a minute")
    parser.add_argument("--out", type=Path, help="where to write the report (default: bench/results/multi.md)")
    return parser.parse_args(argv)


def run(plan: Plan, work_dir: Path, *, quick: bool) -> multi_report.MultiResults | int:
    """The results, or the exit code when the benchmark could not run."""
    return postgres.guarded(lambda: measure(plan, postgres.server_dsn(), work_dir, quick=quick), work_dir)


def errors_logged(figures: multi_workload.MultiFigures) -> bool:
    """Whether a process logged an error (its traceback is in the log, not in the report)."""
    return any(" ERROR " in message for message in figures.logged + figures.logged_at_start)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    plan = QUICK if args.quick else FULL
    out: Path = args.out or RESULTS / ("multi-quick.md" if args.quick else "multi.md")
    procs.interrupt_on_sigterm()
    work_dir = Path(tempfile.mkdtemp(prefix="stepstone-bench-multi-"))
    started = time.monotonic()
    results = run(plan, work_dir, quick=args.quick)
    if isinstance(results, int):
        return results
    results.elapsed_s = time.monotonic() - started
    keep_logs = any(f.error or errors_logged(f) for f in results.figures)
    procs.publish(multi_report.render(results), out, work_dir, keep_logs=keep_logs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
