"""The stats endpoint's pure parts: windows aligned on whole buckets, backlog levels from their changes, the
failure rate, and a full series (empty buckets included) from the store's grouped rows."""

from __future__ import annotations

from stepstone.server.api import stats
from stepstone.server.store.records import BucketStartsRecord, RunStatsRecord, StatsWindow

HOUR = stats.SPANS["1h"]
DAY = stats.SPANS["24h"]
T = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a whole day


def test_a_window_ends_with_the_bucket_holding_now_and_spans_whole_buckets() -> None:
    assert stats.window_for(HOUR, T + 90_500) == StatsWindow(T + 120_000 - 3_600_000, T + 120_000, 60_000)
    assert stats.window_for(HOUR, T) == StatsWindow(T + 60_000 - 3_600_000, T + 60_000, 60_000)
    day = stats.window_for(DAY, T + 16 * 60_000)
    assert day == StatsWindow(T + 30 * 60_000 - 86_400_000, T + 30 * 60_000, 900_000)
    assert (day.end - day.start) // day.size == 96


def test_backlog_levels_add_up_the_changes_from_the_level_at_the_start() -> None:
    assert stats.backlog_levels([], 3) == [0, 0, 0]
    assert stats.backlog_levels([(-1, 2), (0, 1), (2, -3)], 4) == [3, 3, 0, 0]
    assert stats.backlog_levels([(1, 2), (3, -1)], 4) == [0, 2, 2, 1]


def test_the_failure_rate_is_failed_over_ended_runs() -> None:
    assert stats.failure_rate(0, 0) is None
    assert stats.failure_rate(1, 3) == 0.3333
    assert stats.failure_rate(2, 2) == 1.0


def test_a_series_has_every_bucket_with_zeros_and_null_latencies_where_nothing_started() -> None:
    window = StatsWindow(T, T + 3 * 60_000, 60_000)
    rows = RunStatsRecord(
        starts=[BucketStartsRecord(1, 4, 10, 250)],
        ends=[(1, "Completed", 3), (2, "Failed", 1), (2, "Cancelled", 2)],
        backlog=[(-1, 1), (1, -1)],
    )
    buckets = stats.series(window, rows)
    assert [bucket["start"] for bucket in buckets] == [
        "2026-01-01T00:00:00.000Z",
        "2026-01-01T00:01:00.000Z",
        "2026-01-01T00:02:00.000Z",
    ]
    assert [(b["started"], b["completed"], b["failed"], b["cancelled"], b["backlog"]) for b in buckets] == [
        (0, 0, 0, 0, 1),
        (4, 3, 0, 0, 0),
        (0, 0, 1, 2, 0),
    ]
    assert [(b["queue_latency_p50_ms"], b["queue_latency_p95_ms"]) for b in buckets] == [
        (None, None),
        (10, 250),
        (None, None),
    ]
    whole = [BucketStartsRecord(0, 4, 10, 250)]
    assert stats.totals(buckets, whole) == {
        "started": 4,
        "completed": 3,
        "failed": 1,
        "cancelled": 2,
        "failure_rate": round(1 / 6, 4),
        "backlog": 0,
        "backlog_max": 1,
        "queue_latency_p50_ms": 10,
        "queue_latency_p95_ms": 250,
    }
