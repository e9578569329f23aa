"""The multi-engine benchmark's results, rendered as a markdown report: baselines, raw figures, ratios,
then what the database backends waited on and what the processes logged.

With several rounds, runs/s is the median over the rounds (each round's figure follows in brackets), and
the other figures pool the rounds.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.multi_workload import MultiFigures, Setup
from bench.report import NONE, num, section
from bench.stats import median, ratio

COMMITS = {
    "postgres-1": "PostgreSQL, 1 connection",
    "postgres-3": "PostgreSQL, 3 connections in 3 threads",
    "sqlite": "SQLite, WAL, synchronous=full",
}
TOP_WAITS = 8
TOP_LOG_LINES = 6  # errors first, then the most frequent


@dataclass
class MultiResults:
    quick: bool
    runs: int
    setups: tuple[Setup, ...]
    busy_before: float  # the machine's busy share in the second before the run: other load skews the figures
    commits: dict[str, float] = field(default_factory=dict)  # COMMITS key -> commits/s
    figures: list[MultiFigures] = field(default_factory=list)
    elapsed_s: float = 0.0

    def of(self, setup: Setup) -> list[MultiFigures]:
        return [f for f in self.figures if f.setup == setup and f.error is None]

    def rate(self, setup: Setup) -> float | None:
        return median([rate for f in self.of(setup) if (rate := f.rate) is not None])

    def find(self, key: str) -> Setup | None:
        return next((setup for setup in self.setups if setup.key == key), None)

    def rate_of(self, key: str) -> float | None:
        setup = self.find(key)
        return self.rate(setup) if setup else None


def header(results: MultiResults) -> list[str]:
    kind = "quick" if results.quick else "full"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cores = os.cpu_count()
    machine = f"Python {platform.python_version()}, {platform.machine()}, {cores} cores"
    return [
        "# Stepstone on PostgreSQL: 1, 2 and 3 engine processes",
        "",
        f"{when}; {kind} run in {results.elapsed_s:.0f} s; {machine}; CPU {100 * results.busy_before:.0f}% busy in the",
        "second before the run (other load skews every figure). See `bench/README.md` (*Several engines*).",
        "",
        f"The engines, the app processes, PostgreSQL and the driver all share these {cores} cores: with 2 or 3",
        "engines nothing runs on a core of its own, so more engine processes cannot scale linearly here; they",
        "show what sharing one database costs, not what more machines would gain.",
    ]


def baselines(results: MultiResults) -> list[str]:
    rows = [[name, num(results.commits.get(key))] for key, name in COMMITS.items()]
    return section("Raw commit rates (single-row INSERT + COMMIT loop)", ["store", "commits/s"], rows)


def rate_cell(results: MultiResults, setup: Setup) -> str:
    rates = [f.rate for f in results.of(setup)]
    cell = num(results.rate(setup))
    return cell + (f" ({', '.join(num(rate) for rate in rates)})" if len(rates) > 1 else "")


def seconds(values: list[float]) -> str:
    if not values:
        return NONE
    values = sorted(values)
    p90 = values[int(0.9 * (len(values) - 1))]
    return f"{statistics.median(values):.2f} / {p90:.2f} / {values[-1]:.2f}"


def busy_cell(figures: list[MultiFigures]) -> str:
    busy = ratio(
        sum(f.cpu_s.get("machine busy", 0.0) for f in figures), sum(f.cpu_s.get("machine", 0.0) for f in figures)
    )
    return NONE if busy is None else f"{100 * busy:.0f}%"


def median_cell(values: list[float], digits: int = 2) -> str:
    middle = median(values)
    return NONE if middle is None else f"{middle:.{digits}f}"


def throughput(results: MultiResults) -> list[str]:
    rows = []
    for setup in results.setups:
        figures = results.of(setup)
        run_s = [value for f in figures for value in f.run_s]
        accepted, ended = median_cell([f.accepted_s for f in figures]), median_cell([f.seconds for f in figures])
        rows.append([setup.label, rate_cell(results, setup), accepted, ended, seconds(run_s)])
    head = [
        "configuration",
        "runs/s",
        "events accepted, s",
        "last run ended, s",
        "run time (created → ended) median / p90 / max, s",
    ]
    return section(f"Throughput: {results.runs:,} three-step runs sent at once", head, rows)


def per_run(figures: list[MultiFigures], value: Callable[[MultiFigures], float], digits: int) -> str:
    runs = sum(f.runs for f in figures)
    return num(sum(value(f) for f in figures) / runs, digits) if runs else NONE


KINDS = ("engines", "apps", "postgres", "driver")


def cpu_ms(kind: str) -> Callable[[MultiFigures], float]:
    return lambda f: 1000 * f.cpu_s.get(kind, 0.0)


def other_ms(f: MultiFigures) -> float:
    """The machine's busy CPU that none of the benchmark's processes used (other load, the kernel's own work)."""
    return 1000 * (f.cpu_s.get("machine busy", 0.0) - sum(f.cpu_s.get(kind, 0.0) for kind in KINDS))


def costs(results: MultiResults) -> list[str]:
    rows = []
    for setup in results.setups:
        figures, on_postgres = results.of(setup), setup.store == "postgres"
        cpu = [per_run(figures, cpu_ms(kind), 2) for kind in KINDS] + [per_run(figures, other_ms, 2)]
        written = [NONE, NONE]
        if on_postgres:
            written = [
                per_run(figures, lambda f: f.write_transactions, 1),
                per_run(figures, lambda f: f.wal_bytes / 1024, 1),
            ]
        else:
            cpu[2] = NONE
        rows.append([setup.label, " / ".join(cpu), busy_cell(figures), *written])
    head = [
        "configuration",
        "CPU ms per run: engines / apps / PostgreSQL / driver / other",
        "machine CPU busy",
        "write transactions per run",
        "WAL kB per run",
    ]
    return section("Cost per run, over the same runs", head, rows)


def ratio_row(results: MultiResults, setup: Setup) -> list[str]:
    rate = results.rate(setup)
    own = results.commits.get("postgres-1" if setup.store == "postgres" else "sqlite")
    on_postgres = setup.store == "postgres"
    return [
        setup.label,
        num(ratio(rate, own), 3),
        num(ratio(rate, results.commits.get("postgres-3")), 3) if on_postgres else NONE,
        num(ratio(rate, results.rate_of("pg-1")), 2) if on_postgres and setup.key != "pg-1" else NONE,
        num(ratio(rate, results.rate_of("sqlite-1")), 2) if setup.key != "sqlite-1" else NONE,
    ]


def ratios(results: MultiResults) -> list[str]:
    head = [
        "configuration",
        "runs/s ÷ its store's commits/s (1 connection)",
        "runs/s ÷ PostgreSQL commits/s (3 connections)",
        "÷ PostgreSQL, 1 engine",
        "÷ SQLite, 1 engine",
    ]
    return section("Ratios (same run)", head, [ratio_row(results, setup) for setup in results.setups])


def mean_waits(figures: list[MultiFigures]) -> dict[str, float]:
    total: dict[str, float] = {}
    for f in figures:
        for what, value in f.waits.items():
            total[what] = total.get(what, 0.0) + value / len(figures)
    return total


def waits(results: MultiResults) -> list[str]:
    setups = [setup for setup in results.setups if setup.store == "postgres" and results.of(setup)]
    by_setup = {setup: mean_waits(results.of(setup)) for setup in setups}
    peak: dict[str, float] = {}
    for found in by_setup.values():
        for what, value in found.items():
            peak[what] = max(peak.get(what, 0.0), value)
    top = sorted(peak, key=lambda what: -peak[what])[:TOP_WAITS]
    rows = [[what, *(f"{by_setup[setup].get(what, 0.0):.2f}" for setup in setups)] for what in top]
    rows.append(["all non-idle", *(f"{sum(by_setup[setup].values()):.2f}" for setup in setups)])
    title = "PostgreSQL backends during the runs: mean count per sample (`pg_stat_activity`, every 50 ms)"
    return section(title, ["state: wait event", *(setup.label for setup in setups)], rows) if setups else []


def is_error(message: str) -> bool:
    return any(mark in message for mark in (" ERROR ", "Error:", "Exception", "Violation"))


def counted(found: Counter[str], when: str) -> list[str]:
    total = sum(found.values())
    lines = [f"  - {when}: {total:,} message{'s' if total != 1 else ''}"]
    for message, count in sorted(found.items(), key=lambda item: (not is_error(item[0]), -item[1]))[:TOP_LOG_LINES]:
        quoted = message.replace("`", "'")
        lines.append(f"    - {count} times: `{quoted}`")
    return lines


def logs(results: MultiResults) -> list[str]:
    lines = ["", "## What the engines and apps logged (`--log-level warning`; traceback frames left out)", ""]
    for setup in results.setups:
        ran = [f for f in results.figures if f.setup == setup]
        lines.append(f"- {setup.label}, {len(ran)} start{'s' if len(ran) != 1 else ''}:")
        lines += counted(sum((f.logged_at_start for f in ran), Counter()), "before every engine had synced the app")
        lines += counted(sum((f.logged for f in ran), Counter()), "after")
    return lines


def failures(results: MultiResults) -> list[str]:
    found = [f"- {f.setup.label}: {f.error}" for f in results.figures if f.error]
    return ["", "## Failures", "", *found] if found else []


def render(results: MultiResults) -> str:
    parts = [header, baselines, throughput, costs, ratios, waits, logs, failures]
    return "\n".join(line for part in parts for line in part(results)) + "\n"
