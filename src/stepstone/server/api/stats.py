"""`GET /v1/stats`: the dashboard's charts, runs and steps over the last hour or day in time buckets.

Everything is read from the runs and steps the store keeps (`StatsTx`): nothing is counted as work happens,
so the figures survive restarts and cover every engine sharing a database. The window ends with the bucket
holding `now` and is aligned on whole buckets (minutes for `1h`, quarter hours for `24h`), so two requests
in the same minute see the same buckets. The store groups by bucket in SQL; this module turns its rows into
a full series (empty buckets included) and the backlog's changes into levels.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from stepstone.server.api import rest, views
from stepstone.server.api.common import JSONAnswer, engine_of, error
from stepstone.server.store.base import Tx
from stepstone.server.store.records import BucketStartsRecord, RunStatsRecord, StatsWindow, StepDurationsRecord

router = APIRouter(prefix="/v1", tags=["rest"], dependencies=rest.router.dependencies)

_MINUTE = 60_000


class Span(NamedTuple):
    """A window the API offers: its name, its bucket size (ms) and how many buckets it spans."""

    name: str
    bucket_ms: int
    buckets: int


SPANS = {"1h": Span("1h", _MINUTE, 60), "24h": Span("24h", 15 * _MINUTE, 96)}
_ENDED = ("Completed", "Failed", "Cancelled")


def window_for(span: Span, now: int) -> StatsWindow:
    """The span's buckets up to the one holding `now`, aligned on multiples of the bucket size."""
    end = (now // span.bucket_ms + 1) * span.bucket_ms
    return StatsWindow(start=end - span.buckets * span.bucket_ms, end=end, size=span.bucket_ms)


def backlog_levels(changes: Iterable[tuple[int, int]], buckets: int) -> list[int]:
    """The backlog at the end of each bucket, from its changes by bucket (bucket -1: the level at the start)."""
    by_bucket = dict(changes)
    level = by_bucket.get(-1, 0)
    levels = []
    for bucket in range(buckets):
        level += by_bucket.get(bucket, 0)
        levels.append(level)
    return levels


def failure_rate(failed: int, ended: int) -> float | None:
    """The share of ended runs that failed, as the functions' 24 h stats give it (None when none ended)."""
    return round(failed / ended, 4) if ended else None


def series(window: StatsWindow, stats: RunStatsRecord) -> list[dict[str, Any]]:
    """One entry per bucket, oldest first, with every figure (0, or null for a latency with no start)."""
    count = (window.end - window.start) // window.size
    starts = {row.bucket: row for row in stats.starts}
    ends = {(bucket, status): runs for bucket, status, runs in stats.ends}
    backlog = backlog_levels(stats.backlog, count)
    answer = []
    for bucket in range(count):
        started = starts.get(bucket)
        answer.append(
            {
                "start": views.iso(window.start + bucket * window.size),
                "started": started.started if started else 0,
                **{status.lower(): ends.get((bucket, status), 0) for status in _ENDED},
                "backlog": backlog[bucket],
                "queue_latency_p50_ms": started.latency_p50 if started else None,
                "queue_latency_p95_ms": started.latency_p95 if started else None,
            }
        )
    return answer


def totals(buckets: list[dict[str, Any]], whole: list[BucketStartsRecord]) -> dict[str, Any]:
    """The window's sums, the failure rate, the backlog now, and the queue latency over the whole window."""
    sums = {key: sum(bucket[key] for bucket in buckets) for key in ("started", "completed", "failed", "cancelled")}
    levels = [bucket["backlog"] for bucket in buckets]
    latency = whole[0] if whole else None
    return {
        **sums,
        "failure_rate": failure_rate(sums["failed"], sums["completed"] + sums["failed"] + sums["cancelled"]),
        "backlog": levels[-1] if levels else 0,
        "backlog_max": max(levels, default=0),
        "queue_latency_p50_ms": latency.latency_p50 if latency else None,
        "queue_latency_p95_ms": latency.latency_p95 if latency else None,
    }


def step_view(record: StepDurationsRecord) -> dict[str, Any]:
    return {
        "function_id": record.function_slug,
        "steps": record.steps,
        "duration_p50_ms": record.p50,
        "duration_p95_ms": record.p95,
    }


STATS = (
    "Runs over the last hour (`window=1h`: 60 buckets of a minute) or day (`24h`: 96 buckets of 15 minutes), the "
    "last bucket holding now; with `function_id`, one function's. Each bucket (`start`, RFC 3339) has the runs that "
    "`started` in it, those that ended `completed`, `failed` or `cancelled` in it, the `backlog` at its end (runs "
    "created and not started yet), and the queue latency of the runs that started in "
    "it (`queue_latency_p50_ms`, `queue_latency_p95_ms`: from a run's creation to its first call, nearest-rank; null "
    "when none started). `totals` sums the window (with the `failure_rate`: failed over ended runs, null when none "
    "ended; the `backlog` now and its maximum; the window's latency percentiles); `steps` gives each function's "
    "step.run steps that finished in the window with the p50 and p95 of their durations (from when a step was "
    "scheduled to when its result was stored, retries included, as a run's timeline draws it). Read from the runs "
    "and steps stored, so it covers every engine sharing the database, and runs pruned by retention are not in it."
)


@router.get(
    "/stats",
    summary="Runs started, completed and failed per bucket, backlog, queue latency and step durations",
    description=STATS + " A bad `window` is a 400; an unknown `function_id` a 404.",
    responses={200: {"description": '{"data": {"window", "buckets", "totals", "steps"}}'}, 400: {}, 401: {}, 404: {}},
)
async def get_stats(
    request: Request,
    window: str = Query(default="1h", description="`1h` or `24h`"),
    function_id: str | None = Query(default=None, description="one function's runs and steps (its id, e.g. `app-fn`)"),
) -> Response:
    span = SPANS.get(window)
    if span is None:
        return error(400, f"invalid window {window!r}: use 1h or 24h")
    engine = engine_of(request)
    now = engine.clock.now_ms()
    chart = window_for(span, now)
    whole = chart._replace(size=chart.end - chart.start)

    def read(tx: Tx) -> tuple[str | None, RunStatsRecord, list[BucketStartsRecord], list[StepDurationsRecord]] | None:
        slug = None
        if function_id is not None:
            fn = tx.get_function(function_id)
            if fn is None:
                return None
            slug = fn.slug
        return (
            slug,
            tx.run_stats(chart, function_slug=slug),
            tx.run_starts(whole, function_slug=slug),
            tx.step_durations(chart, function_slug=slug),
        )

    found = await engine.store.read(read)
    if found is None:
        return error(404, f"function {function_id} not found: see GET /v1/functions")
    slug, stats, overall, steps = found
    buckets = series(chart, stats)
    data = {
        "window": span.name,
        "bucket_ms": span.bucket_ms,
        "start": views.iso(chart.start),
        "end": views.iso(chart.end),
        "now": views.iso(now),
        "function_id": slug,
        "buckets": buckets,
        "totals": totals(buckets, overall),
        "steps": [step_view(record) for record in steps],
    }
    return JSONAnswer({"data": data})
