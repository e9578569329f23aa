"""Flow control at schedule time: which runs an event starts, when, and under what limits.

For each function an event triggers, in Inngest's order (inngest: pkg/execution/executor
`schedule`, reference §B4.16): batching collects the event; a rate limit (or `idempotency`, which
replaces it) may drop it; debounce holds it; then the run's keys are evaluated once, from the first
event — concurrency keys and limits, the throttle key, the priority — and a singleton key may skip
the run or cancel the one holding it. The queue applies throttle and concurrency when it claims.
"""

from __future__ import annotations

import logging
from typing import Any

from stepstone.protocol import config as wire
from stepstone.protocol import durations
from stepstone.server.core import expressions, gcra
from stepstone.server.core.observe import FactKind
from stepstone.server.functions.registry import Registered
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Note, Work
from stepstone.server.runs import lifecycle, pauses
from stepstone.server.store.records import EventRecord, RunConstraints, RunRecord, RunStatus, SkipRecord

PRIORITY_LIMIT_S = 43_200  # ±12 h, the open-source server's bounds (inngest: consts.PriorityFactorMin/Max)
DAY_MS = 24 * 3600 * 1000

RATE_LIMITED = "rate limited"
IDEMPOTENT = "idempotent duplicate: the function's idempotency key was seen within 24 h"
DEBOUNCED = "debounced: a later event replaced it"
SINGLETON = "singleton"
PAUSED = queueing.PAUSED
FILTERED = "filtered out by if"  # followed by the trigger's expression
# Skips that flow control decided, by the name `stepstone_flow_held_total` gives their reason
HELD_REASONS = {RATE_LIMITED: "rate_limit", IDEMPOTENT: "idempotency", PAUSED: "paused"}


def millis(text: str) -> int:
    return int(durations.parse_duration(text).total_seconds() * 1000)


def key_of(expression: str | None, payload: dict[str, Any]) -> str | None:
    """A key expression's value for an event ("" without an expression); None when it is `false`."""
    if not expression:
        return ""
    value = expressions.evaluate_key(expression, payload)
    if value == "false":
        return None
    return value or ""


def constraints(fn: Registered, payload: dict[str, Any]) -> RunConstraints:
    """The run's keys and limits for its first event."""
    config = fn.config
    found = RunConstraints()
    keys = []
    for limit in config.concurrency or []:
        if limit.limit <= 0:
            continue
        value = key_of(limit.key, payload) or ""
        scope = limit.scope or "fn"
        keys.append((f"{scope}:{fn.id if scope == 'fn' else ''}:{value}", limit.limit))
    if keys:
        found.ckey1, found.climit1 = keys[0]
    if len(keys) > 1:
        found.ckey2, found.climit2 = keys[1]
    if config.throttle is not None:
        value = key_of(config.throttle.key, payload) or ""
        found.throttle = {
            "key": f"throttle:{fn.id}:{value}",
            "limit": max(config.throttle.limit, 1),
            "period_ms": millis(config.throttle.period),
            "burst": config.throttle.burst or 0,
        }
    if config.priority is not None and config.priority.run:
        found.priority_ms = _priority_seconds(config.priority.run, payload) * 1000
    if found.ckey1 or found.throttle:
        found.partition = f"{fn.id}/{found.ckey1 or found.throttle['key']}"  # type: ignore[index]
    return found


def _priority_seconds(expression: str, payload: dict[str, Any]) -> int:
    try:
        value = expressions.compile_expression(expression).evaluate({"event": payload})
    except expressions.ExpressionError:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(-PRIORITY_LIMIT_S, min(PRIORITY_LIMIT_S, int(value)))


def effective_rate_limit(config: wire.FunctionConfig) -> tuple[wire.RateLimitConfig, str] | None:
    """The rate limit that applies, and the skip reason: `idempotency` replaces `rateLimit` (§B4.14)."""
    if config.idempotency:
        return wire.RateLimitConfig(limit=1, period="24h", key=config.idempotency), IDEMPOTENT
    if config.rate_limit is not None:
        return config.rate_limit, RATE_LIMITED
    return None


def rate_limited(work: Work, fn: Registered, payload: dict[str, Any]) -> str | None:
    """The skip reason when the function's rate limit drops this event, else None (and it counts)."""
    found = effective_rate_limit(fn.config)
    if found is None:
        return None
    limit, reason = found
    value = key_of(limit.key, payload)
    if value is None:  # a key that evaluates to false bypasses the limit
        return None
    key = f"ratelimit:{fn.id}:{value}"
    work.locks.lock_name(key, exclusive=True)
    period = millis(limit.period)
    burst = limit.limit // 10
    decision = gcra.decide(
        work.flow.get_limiter(key, work.now), now=work.now, period_ms=period, limit=limit.limit, burst=burst
    )
    if not decision.allowed:
        return reason
    work.flow.put_limiter(key, decision.tat, work.now + gcra.expires_after(period, limit.limit, burst))
    return None


def skip(work: Work, fn: Registered, event: EventRecord, reason: str) -> None:
    """Record that `event` starts no run of `fn`, and why; noted for the log (a debounced event at DEBUG)."""
    work.events.insert_skip(SkipRecord(event.internal_id, fn.id, fn.slug, reason, work.now))
    fields = {"action": "run.skipped", "function_id": fn.slug, "event_id": event.internal_id}
    # A debounce replaces events, and an `if` filters them, by design.
    level = logging.DEBUG if reason == DEBOUNCED or reason.startswith(FILTERED) else logging.INFO
    args = (fn.slug, event.internal_id, reason)
    work.notes.append(Note(level, "%s: event %s starts no run: %s", args, fields, fn.id))
    if held := HELD_REASONS.get(reason):
        work.observe(FactKind.FLOW_HELD, fn=fn.slug, status=held)


def start(work: Work, fn: Registered, events: list[EventRecord], **options: Any) -> RunRecord:
    """Create the run (after the singleton check), with its constraints evaluated on the first event.

    A run that a held singleton key skips is created Skipped (and an invoke of it fails at once).
    """
    payload = events[0].payload
    found = constraints(fn, payload)
    singleton = fn.config.singleton
    key = key_of(singleton.key, payload) if singleton is not None else None
    if singleton is not None and key is not None:
        work.locks.lock_name(f"singleton:{fn.id}:{key}", exclusive=True)
        holder = work.flow.get_singleton(fn.id, key)
        current = work.runs.lock_run(holder) if holder else None
        if current is not None and not current.status.ended:
            if singleton.mode == "skip":
                reason = f"{SINGLETON}: run {current.id} holds the key"
                if options.get("parent"):
                    pauses.invoke_failed(work, payload, f"invoked function skipped ({reason})")
                return lifecycle.create_skipped(
                    work, fn, events, reason=reason, original_run_id=options.get("original_run_id")
                )
            lifecycle.finalize(
                work, current, RunStatus.CANCELLED, output_json=None, reason=f"{SINGLETON}: a newer run took the key"
            )
    run = lifecycle.create_run(work, fn, events, constraints=found, **options)
    if singleton is not None and key is not None:
        work.flow.put_singleton(fn.id, key, run.id)
    return run
