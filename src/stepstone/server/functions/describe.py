"""A function as people read it: its flow control in plain words, its next cron tick, its recent run counts.

Pure functions of a registered config (and "now"); the REST API shows what they return with each function.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from stepstone.protocol import config as wire
from stepstone.server.core import backoff, cron

STATS_WINDOW_MS = 24 * 3600 * 1000
STATUSES = ("Queued", "Running", "Completed", "Failed", "Cancelled", "Skipped")
_PATH = re.compile(r"event\.data\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_SCOPES = {"env": " across the environment", "account": " across the account"}


def count(number: int, noun: str) -> str:
    """`1 step`, `5 steps`."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def key_words(expression: str | None) -> str:
    """` per account_id` for `event.data.account_id`, `` per `expr` `` for anything else, "" without a key."""
    if not expression:
        return ""
    match = _PATH.fullmatch(expression.strip())
    return f" per {match.group(1)}" if match else f" per `{expression.strip()}`"


def flow(config: wire.FunctionConfig) -> list[str]:
    """Every flow-control setting of a function, one sentence each, in the order Inngest applies them."""
    words: list[str] = []
    if config.batch_events is not None:
        batch = config.batch_events
        timeout = f", or after {batch.timeout}" if batch.timeout else ""
        condition = f" (events where `{batch.if_exp}`)" if batch.if_exp else ""
        size = count(batch.max_size, "event")
        words.append(f"runs on batches of up to {size}{key_words(batch.key)}{timeout}{condition}")
    if config.idempotency:
        words.append(f"at most 1 run per 24h{key_words(config.idempotency)} (idempotency)")
    if config.rate_limit is not None:
        rate = config.rate_limit
        per = f"{count(rate.limit, 'run')} per {rate.period}{key_words(rate.key)}"
        words.append(f"at most {per} (rate limit: more are skipped)")
    if config.debounce is not None:
        debounce = config.debounce
        timeout = f", at most {debounce.timeout} after the first" if debounce.timeout else ""
        words.append(f"starts {debounce.period} after the last event{key_words(debounce.key)}{timeout} (debounce)")
    if config.singleton is not None:
        what = "skips new runs" if config.singleton.mode == "skip" else "cancels the running one for a new run"
        words.append(f"one run at a time{key_words(config.singleton.key)} (singleton: {what})")
    for limit in config.concurrency or []:
        if limit.limit > 0:
            scope = _SCOPES.get(limit.scope or "", "")
            words.append(f"at most {count(limit.limit, 'step')} at once{key_words(limit.key)}{scope}")
    if config.throttle is not None:
        throttle = config.throttle
        burst = f", bursts of {throttle.burst} more" if throttle.burst else ""
        per = f"{count(throttle.limit, 'run')} per {throttle.period}{key_words(throttle.key)}"
        words.append(f"at most {per}{burst} (throttle)")
    if config.priority is not None and config.priority.run:
        words.append(f"priority: runs start earlier by `{config.priority.run}` seconds")
    for cancel in config.cancel or []:
        condition = f" where `{cancel.if_exp}`" if cancel.if_exp else ""
        within = f" within {cancel.timeout}" if cancel.timeout else ""
        words.append(f"cancelled by the event {cancel.event}{condition}{within}")
    if config.timeouts is not None and config.timeouts.start:
        words.append(f"cancelled if not started within {config.timeouts.start}")
    if config.timeouts is not None and config.timeouts.finish:
        words.append(f"cancelled if not finished within {config.timeouts.finish}")
    retries = backoff.max_attempts(config.retry_count) - 1
    words.append(f"{retries} {'retry' if retries == 1 else 'retries'} per step")
    return words


def next_cron(config: wire.FunctionConfig, now: datetime) -> datetime | None:
    """The next tick of the function's cron triggers after `now` (jitter aside), None without one."""
    ticks = [cron.parse_cron(trigger.cron).next_after(now) for trigger in config.triggers if trigger.cron]
    return min(ticks) if ticks else None


def stats(counts: dict[str, int]) -> dict[str, Any]:
    """Run counts by status over the window, and the share of ended runs that failed (None when none ended)."""
    shown = {status: counts.get(status, 0) for status in STATUSES}
    ended = shown["Completed"] + shown["Failed"] + shown["Cancelled"]
    return {
        "window": "24h",
        "counts": shown,
        "failure_rate": round(shown["Failed"] / ended, 4) if ended else None,
    }
