"""Retry delays: Inngest's table with jitter, a fixed interval, and `Retry-After`."""

from __future__ import annotations

import random
from datetime import timedelta

from stepstone.protocol import durations

DEFAULT_RETRIES = 4
MAX_RETRIES = 20

# Delay after failed attempt N (0-based), then 0-30 s of jitter (inngest: pkg/backoff/backoff.go).
_TABLE_SECONDS = (15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200)
_JITTER_MS = 30_000
_MIN_RETRY_AFTER_MS = 1_000
_MAX_RETRY_AFTER_MS = 24 * 3600 * 1000


def max_attempts(retries: int | None) -> int:
    """Attempts per step for a configured retry count (default 4, clamped to 0..20), plus the first.

    Inngest clamps too; a sync over 20 is accepted and says so (`registry.sync_warnings`).
    """
    count = DEFAULT_RETRIES if retries is None else min(max(retries, 0), MAX_RETRIES)
    return count + 1


def retry_delay_ms(failed_attempt: int, *, fixed: timedelta | None, rng: random.Random) -> int:
    """How long to wait after `failed_attempt` (0-based) failed."""
    if fixed is not None:
        return int(fixed.total_seconds() * 1000)
    base = _TABLE_SECONDS[min(failed_attempt, len(_TABLE_SECONDS) - 1)] * 1000
    return base + rng.randrange(_JITTER_MS + 1)


def parse_retry_after(value: str | None, *, now_ms: int) -> int | None:
    """The time (unix ms) a `Retry-After` header asks for, clamped to [now+1 s, now+24 h]; None if absent.

    Up to 7 characters are whole seconds; longer values are dates (ISO 8601 or RFC 1123).
    """
    if not value:
        return None
    text = value.strip()
    try:
        seconds_form = len(text) <= 7
        at = now_ms + int(float(text) * 1000) if seconds_form else durations.to_millis(durations.parse_time(text))
    except ValueError:
        return None
    return min(max(at, now_ms + _MIN_RETRY_AFTER_MS), now_ms + _MAX_RETRY_AFTER_MS)
