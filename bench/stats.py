"""Figures derived from the raw measurements: medians, percentiles, rates, costs per step, ratios."""

from __future__ import annotations

import statistics

from bench.stepstone_workload import StepstoneFigures
from bench.yardstick import DbosFigures

Figures = StepstoneFigures | DbosFigures
STEPS = {"latency": 10, "hundred": 100, "throughput": 3}


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    if len(values) < 2:
        return median(values)
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def ratio(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top is not None and bottom else None


def throughput(figures: Figures) -> float | None:
    """Runs per second of the throughput workload."""
    return figures.throughput_runs / figures.throughput_s if figures.throughput_s else None


def per_step(figures: Figures) -> float | None:
    """Seconds per step of a 100-step run (median run)."""
    whole = median(figures.hundred_s)
    return whole / 100 if whole is not None else None


def steps_in(figures: StepstoneFigures, workload: str) -> int:
    runs = {
        "latency": len(figures.latency_s),
        "hundred": len(figures.hundred_s),
        "throughput": figures.throughput_runs,
    }[workload]
    return runs * STEPS[workload]


def cpu_per_step(figures: StepstoneFigures, workload: str, process: int) -> float | None:
    """CPU seconds per step of the engine (`process` 0) or the app (1) during a workload."""
    spent = figures.cpu_s.get(workload)
    steps = steps_in(figures, workload)
    return spent[process] / steps if spent is not None and steps else None
