"""What Prometheus metrics cost: `python -m bench.metrics [--quick]` from the repository root.

Two engine + app pairs of `bench.run` (Stepstone's SDK, SQLite `synchronous=normal`, fresh databases): one
with metrics on and scraped every `SCRAPE_S` seconds (as Prometheus would, 7 to 30 times as often), one
with `--no-metrics`. The same workloads as `bench.run` (10-step latency, a burst of three-step runs) go to
both in rounds, alternating which goes first, so that the machine's drift weighs on both alike. Reports the
ratios on / off (1.00: no cost) and writes `bench/results/metrics.md` (`--quick`: `metrics-quick.md`).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import procs, stepstone_workload
from bench.report import section
from bench.stats import median, ratio
from bench.stepstone_workload import Session

RESULTS = Path(__file__).resolve().parent / "results"
SCRAPE_S = 2.0  # Prometheus's usual interval is 15 s to 1 min
MODES = ("on", "off")


class Scraper:
    """GET /metrics every `SCRAPE_S` seconds in a thread, counting scrapes and failures."""

    def __init__(self, url: str) -> None:
        self.url, self.scrapes, self.failures = url, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        with httpx.Client(timeout=10) as http:
            while True:  # at once, then every SCRAPE_S seconds
                answer = http.get(self.url)
                self.scrapes += 1
                self.failures += answer.status_code != 200
                if self._stop.wait(SCRAPE_S):
                    break

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Round:
    """One engine pair's figures for a mode: 10-step latencies, the burst's runs/s, engine CPU seconds."""

    latency_s: list[float] = field(default_factory=list)
    runs_s: list[float] = field(default_factory=list)
    burst_cpu_s: float = 0.0
    latency_cpu_s: float = 0.0


def start_pair(group: procs.Processes, mode: str, number: int, work_dir: Path) -> Session:
    return stepstone_workload.start(
        group,
        sdk="stepstone",
        synchronous="normal",
        work_dir=work_dir,
        tag=f"metrics-{mode}-{number}",
        engine_env={"STEPSTONE_NO_METRICS": "true"} if mode == "off" else None,
    )


def measure(rounds: int, latency_runs: int, burst: int, work_dir: Path) -> list[str]:
    """Each round starts a fresh engine + app pair per mode (in alternating order, so that neither mode is
    always the first process started) and runs the same work on both, alternating which goes first."""
    figures = {mode: Round() for mode in MODES}
    scrapes = failures = 0
    with procs.processes(work_dir) as group:
        for number in range(rounds):
            order = MODES if number % 2 == 0 else tuple(reversed(MODES))
            procs.progress(f"round {number + 1} of {rounds}: {' then '.join(order)}")
            sessions = {mode: start_pair(group, mode, number, work_dir) for mode in order}
            scrape_url = str(sessions["on"].stack.api.http.base_url.join("/metrics"))
            with Scraper(scrape_url) as scraper:
                for mode in order:
                    session, into = sessions[mode], figures[mode]
                    before = session.stack.cpu_seconds()
                    stepstone_workload.measure_latency(session.stack.api, session.figures, latency_runs)
                    middle = session.stack.cpu_seconds()
                    stepstone_workload.measure_throughput(session.stack.api, session.figures, burst)
                    after = session.stack.cpu_seconds()
                    into.latency_s += session.figures.latency_s
                    into.runs_s.append(session.figures.throughput_runs / session.figures.throughput_s)
                    if before and middle and after:
                        into.latency_cpu_s += middle[0] - before[0]
                        into.burst_cpu_s += after[0] - middle[0]
            scrapes, failures = scrapes + scraper.scrapes, failures + scraper.failures
            for session in sessions.values():
                stepstone_workload.stop(group, session)
    latency = {mode: median(figures[mode].latency_s) for mode in MODES}
    runs_s = {mode: median(figures[mode].runs_s) for mode in MODES}
    cpu = {mode: figures[mode].burst_cpu_s / (burst * rounds) * 1e6 for mode in MODES}
    latency_cpu = {mode: figures[mode].latency_cpu_s / (latency_runs * rounds * 10) * 1e6 for mode in MODES}

    def row(name: str, values: dict[str, float | None], unit: float, digits: int) -> list[str]:
        shown = [f"{(values[mode] or 0) * unit:.{digits}f}" for mode in MODES]
        return [name, *shown, f"{ratio(values['on'], values['off']) or 0:.3f}"]

    rows = [
        row("10-step latency, median (ms)", latency, 1000, 1),
        row(f"throughput, {burst} three-step runs (runs/s, median of rounds)", runs_s, 1, 0),
        row("engine CPU per three-step run in the bursts (µs)", cpu, 1, 0),
        row("engine CPU per step in the 10-step runs (µs)", latency_cpu, 1, 0),
    ]
    return [
        "# What metrics cost",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} {platform.python_version()}, "
        f"{rounds} rounds, each on a fresh engine + app pair per mode (started in alternating order): "
        f"{latency_runs} ten-step runs and a burst of {burst} three-step runs on each; the metrics engine "
        f"scraped every {SCRAPE_S:g} s ({scrapes} scrapes, {failures} failed).",
        *section("Metrics on / off", ["figure", "on", "off", "on / off"], rows),
        "",
        "Target: the latency and throughput ratios within 0.95 to 1.05 (latency: lower is better; throughput: higher "
        "is better). Wall-clock figures move with whatever else the machine does; the engine's CPU time per run or "
        "step (from /proc, 10 ms ticks) moves less.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 10 runs and a burst of 200")
    parser.add_argument("--out", type=Path, help="where to write the report")
    args = parser.parse_args(argv)
    rounds, latency_runs, burst = (2, 10, 200) if args.quick else (6, 20, 500)
    out: Path = args.out or RESULTS / ("metrics-quick.md" if args.quick else "metrics.md")
    procs.interrupt_on_sigterm()
    work_dir = Path(tempfile.mkdtemp(prefix="stepstone-bench-metrics-"))
    lines = procs.guarded(lambda: measure(rounds, latency_runs, burst, work_dir), work_dir)
    if isinstance(lines, int):
        return lines
    text = "\n".join(lines) + "\n"
    out.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
