"""GCRA (the generic cell rate algorithm), as Inngest limits throttles and rate limits.

A key's state is one number, its theoretical arrival time (TAT). Each admitted request moves it one
emission interval (`period / limit`) past `max(TAT, now)`; a request is admitted while that new TAT
stays within the tolerance (`emission * (burst + 1)`) of now. So `burst + 1` requests may start at
once, then one per emission interval (inngest: pkg/execution/state/redis_state/lua/.../gcra.lua).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    tat: int  # the state to store when allowed (unchanged when not)
    retry_at: int  # when a refused request would be admitted


def decide(tat: int | None, *, now: int, period_ms: int, limit: int, burst: int) -> Decision:
    """Admit one request at `now` (unix ms) for a key whose stored TAT is `tat` (None: never seen)."""
    emission = period_ms / max(limit, 1)
    tolerance = emission * (max(burst, 0) + 1)
    current = now if tat is None else max(tat, now)
    new_tat = current + emission
    allow_at = new_tat - tolerance
    if now < allow_at:
        return Decision(False, tat if tat is not None else now, int(allow_at + 0.999))
    return Decision(True, int(new_tat), now)


def expires_after(period_ms: int, limit: int, burst: int) -> int:
    """How long a key's state matters (ms): after this an unused key behaves as never seen."""
    emission = period_ms / max(limit, 1)
    return int(emission * (max(burst, 0) + 2)) + 1
