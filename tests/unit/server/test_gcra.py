"""GCRA: `burst + 1` admitted at once, then one per emission interval; refused requests learn when."""

from __future__ import annotations

from stepstone.server.core import gcra
from stepstone.server.queue import queueing

MINUTE = 60_000


def admit(times: list[int], *, period: int, limit: int, burst: int) -> list[bool]:
    tat: int | None = None
    admitted = []
    for now in times:
        decision = gcra.decide(tat, now=now, period_ms=period, limit=limit, burst=burst)
        if decision.allowed:
            tat = decision.tat
        admitted.append(decision.allowed)
    return admitted


def test_burst_plus_one_at_once_then_the_rate() -> None:
    assert admit([0] * 5, period=MINUTE, limit=5, burst=1) == [True, True, False, False, False]
    # one more every period/limit = 12 s
    assert admit([0, 0, 11_999, 12_000, 24_000], period=MINUTE, limit=5, burst=1) == [True, True, False, True, True]


def test_a_refused_request_learns_when_it_would_be_admitted() -> None:
    first = gcra.decide(None, now=0, period_ms=MINUTE, limit=1, burst=0)
    refused = gcra.decide(first.tat, now=1000, period_ms=MINUTE, limit=1, burst=0)
    assert first.allowed and not refused.allowed and refused.retry_at == MINUTE
    assert gcra.decide(first.tat, now=MINUTE, period_ms=MINUTE, limit=1, burst=0).allowed


def test_one_per_day_is_idempotency() -> None:
    day = 24 * 60 * MINUTE
    assert admit([0, 1, day - 1, day], period=day, limit=1, burst=0) == [True, False, False, True]


def test_a_long_idle_key_starts_fresh() -> None:
    assert admit([0, 0, 10 * MINUTE, 10 * MINUTE], period=MINUTE, limit=1, burst=1) == [True, True, True, True]


def test_a_throttle_starts_limit_plus_burst_at_once_then_one_per_period_over_limit() -> None:
    # Inngest's throttle docs: {limit 2, period 6s, burst 1} starts three runs at once, then one every 3 s.
    throttle = {"key": "k", "limit": 2, "period_ms": 6_000, "burst": 1}
    tat = None
    for _ in range(3):
        decision = queueing._throttle(throttle, tat, 0)
        assert decision.allowed
        tat = decision.tat
    refused = queueing._throttle(throttle, tat, 0)
    assert not refused.allowed and refused.retry_at == 3_000
    assert queueing._throttle(throttle, tat, 3_000).allowed


def test_a_throttle_without_burst_starts_limit_at_once() -> None:
    throttle = {"key": "k", "limit": 1, "period_ms": 60_000, "burst": 0}
    first = queueing._throttle(throttle, None, 0)
    assert first.allowed
    assert queueing._throttle(throttle, first.tat, 59_999).retry_at == 60_000
