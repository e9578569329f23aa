"""Runs `bench.dbos_workload` in a subprocess (DBOS keeps process-global state) and reads its figures."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs

STYLES = ("async", "sync")
TIMEOUT = 900.0


@dataclass
class DbosFigures:
    """Seconds measured on DBOS workflows of one style (`async` or `sync`)."""

    style: str
    latency_s: list[float] = field(default_factory=list)
    hundred_s: list[float] = field(default_factory=list)
    throughput_runs: int = 0
    throughput_s: float = 0.0
    error: str | None = None


def measure(
    group: procs.Processes,
    *,
    style: str,
    synchronous: str,
    work_dir: Path,
    latency_runs: int,
    hundred_runs: int,
    throughput_runs: int,
) -> DbosFigures:
    """DBOS's three workloads; `synchronous` is `full` (as DBOS ships) or `normal`."""
    tag = f"dbos-{style}-{synchronous}"
    out = work_dir / f"{tag}.json"
    command = [
        procs.PYTHON,
        "-m",
        "bench.dbos_workload",
        f"--db={work_dir / f'{tag}.sqlite'}",
        f"--out={out}",
        f"--style={style}",
        f"--synchronous={synchronous}",
        f"--latency-runs={latency_runs}",
        f"--hundred-runs={hundred_runs}",
        f"--throughput-runs={throughput_runs}",
    ]
    process = group.start(tag, command)
    try:
        code = process.wait(TIMEOUT)
    finally:
        group.stop(process)
    if code != 0 or not out.exists():
        return DbosFigures(style=style, error=f"exited with code {code}; see {group.log_of(tag)}")
    return DbosFigures(style=style, **json.loads(out.read_text()))


def add(total: DbosFigures, part: DbosFigures) -> None:
    """Fold the figures of one more DBOS process (a latency round, or the other workloads) into `total`."""
    total.error = total.error or part.error
    total.latency_s += part.latency_s
    total.hundred_s += part.hundred_s
    if part.throughput_runs:
        total.throughput_runs, total.throughput_s = part.throughput_runs, part.throughput_s
