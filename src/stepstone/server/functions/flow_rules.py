"""Flow-control configuration at sync: what Inngest's server rejects, and what it clamps.

The bounds follow the open-source server (inngest: pkg/inngest/function.go `Validate`, pkg/consts;
reference §B4.17). A rejected function fails the whole sync, and nothing registered changes;
a clamped value is stored clamped, so `GET /v1/functions` shows what the engine applies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

from stepstone.protocol import config as wire
from stepstone.protocol import durations
from stepstone.server.core import expressions

MAX_CONCURRENCY_LIMITS = 2
SECOND = timedelta(seconds=1)
WEEK = timedelta(days=7)
DAY = timedelta(days=1)
MIN_BATCH_SIZE = 2
_LABELS = {SECOND: "1s", DAY: "24h", WEEK: "7d"}
_GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


def problems(config: wire.FunctionConfig) -> Iterator[str]:
    """Each broken flow-control rule as `field: why` (the caller names the function)."""
    yield from _concurrency(config.concurrency or [])
    if (throttle := config.throttle) is not None:
        yield from _key("throttle.key", throttle.key)
        yield from _duration("throttle.period", throttle.period, low=SECOND, high=WEEK)
        if throttle.burst is not None and throttle.burst < 0:
            yield f"throttle.burst: must not be negative, got {throttle.burst}"
    if (rate := config.rate_limit) is not None:
        yield from _key("rateLimit.key", rate.key)
        if rate.limit <= 0:
            yield f"rateLimit.limit: must be greater than 0, got {rate.limit}"
        yield from _duration("rateLimit.period", rate.period, low=SECOND, high=DAY)
    if config.idempotency is not None:
        yield from _key("idempotency", config.idempotency)
    if (debounce := config.debounce) is not None:
        yield from _key("debounce.key", debounce.key)
        yield from _duration("debounce.period", debounce.period, low=SECOND, high=WEEK)
        if debounce.timeout:
            yield from _duration("debounce.timeout", debounce.timeout, low=SECOND, high=None)
    if (batch := config.batch_events) is not None:
        yield from _batch(config, batch)
    if config.priority is not None and config.priority.run:
        yield from _key("priority.run", config.priority.run)
    if config.singleton is not None:
        yield from _key("singleton.key", config.singleton.key)


def normalize(config: wire.FunctionConfig) -> wire.FunctionConfig:
    """The config with the values Inngest's server clamps clamped (a throttle limit under 1 becomes 1)."""
    if config.throttle is not None and config.throttle.limit < 1:
        throttle = config.throttle.model_copy(update={"limit": 1})
        return config.model_copy(update={"throttle": throttle})
    return config


def _concurrency(limits: list[wire.ConcurrencyConfig]) -> Iterator[str]:
    if len(limits) > MAX_CONCURRENCY_LIMITS:
        yield f"concurrency: at most {MAX_CONCURRENCY_LIMITS} limits, found {len(limits)}"
    for position, limit in enumerate(limits):
        where = f"concurrency[{position}]"
        if limit.limit < 0:
            yield f"{where}.limit: must not be negative, got {limit.limit}"
        if limit.scope in ("env", "account") and not limit.key:
            yield f"{where}.key: a limit with scope {limit.scope!r} needs a key"
        yield from _key(f"{where}.key", limit.key)


def _batch(config: wire.FunctionConfig, batch: wire.BatchConfig) -> Iterator[str]:
    if batch.max_size < MIN_BATCH_SIZE:
        yield f"batchEvents.maxSize: must be at least {MIN_BATCH_SIZE}, got {batch.max_size}"
    if batch.timeout is not None:  # without one, 60 s
        if _GO_DURATION.match(batch.timeout.strip()):
            yield from _duration("batchEvents.timeout", batch.timeout, low=SECOND, high=None)
        else:
            yield f"batchEvents.timeout: {batch.timeout!r} is not a duration in s, m or h (e.g. '30s', '5m')"
    yield from _key("batchEvents.key", batch.key)
    yield from _key("batchEvents.if", batch.if_exp)
    for field_name, present in (
        ("cancel", bool(config.cancel)),
        ("debounce", config.debounce is not None),
        ("singleton", config.singleton is not None),
        ("priority", config.priority is not None and bool(config.priority.run)),
    ):
        if present:
            yield f"batchEvents: cannot be combined with {field_name}"


def _key(where: str, source: str | None) -> Iterator[str]:
    if source and (problem := expressions.problem(source)):
        yield f"{where}: {problem}"


def _duration(where: str, text: str, *, low: timedelta, high: timedelta | None) -> Iterator[str]:
    try:
        value = durations.parse_duration(text)
    except ValueError as err:
        yield f"{where}: {err}"
        return
    if value < low:
        yield f"{where}: must be at least {_LABELS[low]}, got {text!r}"
    elif high is not None and value > high:
        yield f"{where}: must be at most {_LABELS[high]}, got {text!r}"
