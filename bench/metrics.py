"""What Prometheus metrics cost: `python -m bench.metrics [--quick]` from the repository root.

Two engine + app pairs of `bench.run` (Stepstone's SDK, SQLite `synchronous=normal`, fresh databases): one
with metrics on and scraped every `SCRAPE_S` seconds (as Prometheus would, 3 to 12 times as often), one
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
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import procs, stepstone_workload
from bench.report import section
from bench.stats import median, ratio
from bench.stepstone_workload import Session

RESULTS = Path(__file__).resolve().parent / "results"
SCRAPE_S = 5.0  # Prometheus's usual interval is 15 s to 1 min
MODES = ("on", "off")


class Scraper:
    """GET /metrics every `SCRAPE_S` seconds in a thread, counting scrapes and failures."""

    def __init__(self, url: str) -> None:
        self.url, self.scrapes, self.failures = url, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self._stop.wait(SCRAPE_S):
                answer = http.get(self.url)
                self.scrapes += 1
                self.failures += answer.status_code != 200

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(rounds: int, latency_runs: int, burst: int, work_dir: Path) -> list[str]:
    with procs.processes(work_dir) as group:
        sessions: dict[str, Session] = {
            mode: stepstone_workload.start(
                group,
                sdk="stepstone",
                synchronous="normal",
                work_dir=work_dir,
                tag=f"metrics-{mode}",
                engine_env={"STEPSTONE_NO_METRICS": "true"} if mode == "off" else None,
            )
            for mode in MODES
        }
        throughput: dict[str, list[float]] = {mode: [] for mode in MODES}
        scrape_url = str(sessions["on"].stack.api.http.base_url.join("/metrics"))
        with Scraper(scrape_url) as scraper:
            for number in range(rounds):
                order = MODES if number % 2 == 0 else tuple(reversed(MODES))
                procs.progress(f"round {number + 1} of {rounds}: {' then '.join(order)}")
                for mode in order:
                    session = sessions[mode]
                    stepstone_workload.latency(session, latency_runs)
                    figures = session.figures
                    with session.stack.cpu(figures, "throughput"):
                        stepstone_workload.measure_throughput(session.stack.api, figures, burst)
                    throughput[mode].append(figures.throughput_runs / figures.throughput_s)
        for session in sessions.values():
            stepstone_workload.stop(group, session)
    failed = [f"{mode}: {s.figures.error}" for mode, s in sessions.items() if s.figures.error]
    if failed:
        raise SystemExit("a pair failed: " + "; ".join(failed))
    latency = {mode: median(sessions[mode].figures.latency_s) for mode in MODES}
    runs_s = {mode: median(throughput[mode]) for mode in MODES}
    cpu = {
        mode: sessions[mode].figures.cpu_s.get(workload, (0.0, 0.0))[0] / runs * 1e6
        for mode in MODES
        for workload, runs in [("throughput", burst * rounds)]
    }
    latency_cpu = {
        mode: sessions[mode].figures.cpu_s.get("latency", (0.0, 0.0))[0] / (latency_runs * rounds * 10) * 1e6
        for mode in MODES
    }
    rows = [
        [
            "10-step latency, median (ms)",
            f"{(latency['on'] or 0) * 1000:.1f}",
            f"{(latency['off'] or 0) * 1000:.1f}",
            f"{ratio(latency['on'], latency['off']) or 0:.3f}",
        ],
        [
            f"throughput, {burst} three-step runs (runs/s, median of rounds)",
            f"{runs_s['on'] or 0:.0f}",
            f"{runs_s['off'] or 0:.0f}",
            f"{ratio(runs_s['on'], runs_s['off']) or 0:.3f}",
        ],
        [
            "engine CPU per three-step run in the bursts (µs)",
            f"{cpu['on']:.0f}",
            f"{cpu['off']:.0f}",
            f"{ratio(cpu['on'], cpu['off']) or 0:.3f}",
        ],
        [
            "engine CPU per step in the 10-step runs (µs)",
            f"{latency_cpu['on']:.0f}",
            f"{latency_cpu['off']:.0f}",
            f"{ratio(latency_cpu['on'], latency_cpu['off']) or 0:.3f}",
        ],
    ]
    lines = [
        "# What metrics cost",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} {platform.python_version()}, "
        f"{rounds} rounds of {latency_runs} ten-step runs and a burst of {burst}, alternating; the metrics engine "
        f"scraped every {SCRAPE_S:g} s ({scraper.scrapes} scrapes, {scraper.failures} failed).",
        "",
        *section("Metrics on / off", ["figure", "on", "off", "on / off"], rows),
        "",
        "Target: the latency and throughput ratios within 0.95 to 1.05 (latency: lower is better; throughput: higher "
        "is better). Wall-clock figures move with whatever else the machine does; the engine's CPU time per run or "
        "step (from /proc, 10 ms ticks, over all rounds) moves less.",
    ]
    return lines


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
