"""The results of one benchmark run, rendered as a markdown report: raw figures, then ratios.

Every ratio divides two figures of the same run; "DBOS best" is, per figure, the better of DBOS's
async and sync workflows, so the yardstick is the hardest one measured.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench import stats
from bench.stats import Figures, median, ratio
from bench.stepstone_workload import StepstoneFigures
from bench.yardstick import DbosFigures

MODES = ("full", "normal")
SDK_NAMES = {"stepstone": "Stepstone SDK", "inngest": "Inngest SDK 0.5"}
CLIENT_NAMES = {"aiohttp": "aiohttp", "httpx": "httpx (default limits)", "httpx-16": "httpx (max_connections=16)"}
NONE = "—"


@dataclass
class Results:
    quick: bool
    loopback_s: list[float] = field(default_factory=list)
    commits: dict[tuple[str, str], float] = field(default_factory=dict)  # (journal, synchronous) -> commits/s
    clients: dict[str, float] = field(default_factory=dict)  # client -> requests/s
    stepstone: dict[tuple[str, str], StepstoneFigures] = field(default_factory=dict)  # (sdk, synchronous)
    dbos: dict[tuple[str, str], DbosFigures] = field(default_factory=dict)  # (style, synchronous)
    elapsed_s: float = 0.0


def ms(value: float | None, digits: int = 1) -> str:
    return NONE if value is None else f"{value * 1000:.{digits}f}"


def num(value: float | None, digits: int = 0) -> str:
    return NONE if value is None else f"{value:,.{digits}f}"


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(cells) + " |" for cells in [head, ["---"] * len(head), *rows]]


def section(title: str, head: list[str], rows: list[list[str]]) -> list[str]:
    return ["", f"## {title}", "", *table(head, rows)] if rows else []


def header(results: Results) -> list[str]:
    kind = "quick" if results.quick else "full"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores"
    return [
        "# Stepstone benchmark",
        "",
        f"{when}; {kind} run in {results.elapsed_s:.0f} s; {machine}. See `bench/README.md`.",
    ]


def baselines(results: Results) -> list[str]:
    rows = [["loopback HTTP round trip, aiohttp → uvicorn, sequential: median ms", ms(median(results.loopback_s), 3)]]
    for (journal, synchronous), rate in results.commits.items():
        rows.append([f"SQLite commits/s, journal={journal}, synchronous={synchronous}", num(rate)])
    return section("Baselines", ["measurement", "value"], rows)


def failed(figures: Figures | None) -> str:
    return "not run" if figures is None else "failed (see below)"


def cells(by_mode: list[Figures | None], render: Callable[[Figures], str]) -> list[str]:
    return [render(f) if f is not None and f.error is None else failed(f) for f in by_mode]


def latency_cell(figures: Figures) -> str:
    return f"{ms(median(figures.latency_s))} / {ms(stats.p90(figures.latency_s))}"


def common_rows(name: str, by_mode: list[Figures | None], runs: int) -> list[list[str]]:
    return [
        [f"{name}: 10-step latency, median / p90 ms", *cells(by_mode, latency_cell)],
        [f"{name}: throughput, 3-step runs/s ({runs:,} at once)", *cells(by_mode, lambda f: num(stats.throughput(f)))],
        [f"{name}: 100-step run, ms per step", *cells(by_mode, lambda f: ms(stats.per_step(f), 2))],
    ]


def stepstone_rows(name: str, by_mode: list[StepstoneFigures | None]) -> list[list[str]]:
    def first_last(f: Figures) -> str:
        assert isinstance(f, StepstoneFigures)
        return f"{ms(median(f.first10_s), 2)} → {ms(median(f.last10_s), 2)}"

    def cpu(process: int) -> Callable[[Figures], str]:
        def render(f: Figures) -> str:
            assert isinstance(f, StepstoneFigures)
            return " / ".join(ms(stats.cpu_per_step(f, workload, process), 2) for workload in stats.STEPS)

        return render

    figures: list[Figures | None] = list(by_mode)
    return [
        [f"{name}: 100-step run, ms per step, first 10 → last 10", *cells(figures, first_last)],
        [f"{name}: engine CPU ms per step (10-step / 100-step / 3-step runs)", *cells(figures, cpu(0))],
        [f"{name}: app CPU ms per step (10-step / 100-step / 3-step runs)", *cells(figures, cpu(1))],
    ]


def workloads(results: Results, runs: int) -> list[str]:
    rows = []
    for sdk, name in SDK_NAMES.items():
        by_sdk = [results.stepstone.get((sdk, mode)) for mode in MODES]
        if any(by_sdk):
            rows += common_rows(f"Stepstone, {name}", list(by_sdk), runs) + stepstone_rows(f"Stepstone, {name}", by_sdk)
    for style in ("async", "sync"):
        by_style = [results.dbos.get((style, mode)) for mode in MODES]
        if any(by_style):
            rows += common_rows(f"DBOS, {style} workflows", list(by_style), runs)
    head = ["measurement", *(f"synchronous={mode}" for mode in MODES)]
    return section("Workloads over HTTP on SQLite (DBOS in-process)", head, rows)


def dbos_best(results: Results, mode: str, value: Callable[[Figures], float | None], best: str) -> float | None:
    found = [value(f) for (_, m), f in results.dbos.items() if m == mode and f.error is None]
    present = [v for v in found if v is not None]
    return (min if best == "min" else max)(present) if present else None


def verdict(value: float | None, target: str) -> str:
    if value is None:
        return NONE
    bound = float(target[2:])
    met = value <= bound if target.startswith("≤") else value >= bound
    return f"{value:.2f} ({'met' if met else 'not met'})"


RATIOS = [
    ("10-step latency / DBOS best", "≤ 0.5"),
    ("throughput / DBOS best", "≥ 3"),
    ("per-step time (100-step run) / DBOS best", NONE),
    ("per-step time (100-step run) / loopback round trip", NONE),
    ("engine CPU per step (100-step run) / loopback round trip", NONE),
    ("per-step time (100-step run) / one SQLite commit (WAL)", NONE),
    ("per-step time, last 10 / first 10", "≈ 1 (flat)"),
]


def ratio_cells(results: Results, figures: StepstoneFigures | None, mode: str) -> list[str]:
    if figures is None or figures.error is not None:
        return [failed(figures)] * len(RATIOS)
    step, loopback = stats.per_step(figures), median(results.loopback_s)
    commit = results.commits.get(("wal", mode))
    best_latency = dbos_best(results, mode, lambda f: median(f.latency_s), "min")
    return [
        verdict(ratio(median(figures.latency_s), best_latency), "≤ 0.5"),
        verdict(ratio(stats.throughput(figures), dbos_best(results, mode, stats.throughput, "max")), "≥ 3"),
        num(ratio(step, dbos_best(results, mode, stats.per_step, "min")), 2),
        num(ratio(step, loopback), 1),
        num(ratio(stats.cpu_per_step(figures, "hundred", 0), loopback), 1),
        num(ratio(step, 1 / commit if commit else None), 1),
        num(ratio(median(figures.last10_s), median(figures.first10_s)), 2),
    ]


def ratios(results: Results) -> list[str]:
    rows = []
    for sdk, name in SDK_NAMES.items():
        if any(key[0] == sdk for key in results.stepstone):
            columns = [ratio_cells(results, results.stepstone.get((sdk, mode)), mode) for mode in MODES]
            for index, (what, target) in enumerate(RATIOS):
                rows.append([f"{name}: {what}", target, *(column[index] for column in columns)])
    head = ["ratio (same run)", "target", *(f"synchronous={mode}" for mode in MODES)]
    return section("Ratios", head, rows)


def clients(results: Results) -> list[str]:
    rows = [[CLIENT_NAMES[name], num(rate)] for name, rate in results.clients.items()]
    aio = results.clients.get("aiohttp")
    for name in ("httpx", "httpx-16"):
        if name in results.clients:
            rows.append([f"aiohttp / {CLIENT_NAMES[name]}", num(ratio(aio, results.clients[name]), 2)])
    title = "Engine → app HTTP client: requests/s at 16 in flight against a trivial uvicorn app"
    return section(title, ["client", "requests/s"], rows)


def failures(results: Results) -> list[str]:
    found = [(f"Stepstone, {SDK_NAMES[sdk]}", mode, f.error) for (sdk, mode), f in results.stepstone.items() if f.error]
    found += [(f"DBOS, {style}", mode, f.error) for (style, mode), f in results.dbos.items() if f.error]
    if not found:
        return []
    return ["", "## Failures", "", *(f"- {what}, synchronous={mode}: {error}" for what, mode, error in found)]


def render(results: Results, throughput_runs: int) -> str:
    parts = [header, baselines, lambda r: workloads(r, throughput_runs), ratios, clients, failures]
    return "\n".join(line for part in parts for line in part(results)) + "\n"
