"""Function options: triggers and flow control, named and shaped as in the official Python SDK.

Each class turns into its registration model (`stepstone.protocol.config`) with `to_config()`, which
raises `ValueError` naming the bad field; `create_function` reports that as a
`FunctionConfigInvalidError` when the function is decorated. A duration is int milliseconds, a
`timedelta` or a string like `"30m"`, and must be a whole number of seconds, at least one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from stepstone.protocol import config, durations

Duration = int | timedelta | str


def wire_duration(value: Duration, field: str) -> str:
    """Write `value` as the wire does (`"30s"`, `"5m"`).

    Raises:
        ValueError: the value is not a duration of whole seconds, at least one; the message names `field`.
    """
    try:
        return durations.format_duration(durations.to_timedelta(value))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{field}: {err}") from None


def _optional(value: Duration | None, field: str) -> str | None:
    return None if value is None else wire_duration(value, field)


@dataclass(frozen=True)
class TriggerEvent:
    """Run the function when an event arrives."""

    event: str
    """The event name, e.g. `"app/user.created"`."""
    expression: str | None = None
    """A CEL expression the event must match (e.g. `"event.data.plan == 'pro'"`); default: none."""

    def to_config(self) -> config.TriggerConfig:
        return config.TriggerConfig(event=self.event, expression=self.expression)


@dataclass(frozen=True)
class TriggerCron:
    """Run the function on a schedule."""

    cron: str
    """A cron expression, optionally prefixed with a time zone (`"TZ=Europe/Paris 0 9 * * *"`)."""
    jitter: Duration | None = None
    """A random delay of up to this long before each run; default: none."""

    def to_config(self) -> config.TriggerConfig:
        return config.TriggerConfig(cron=self.cron, jitter=_optional(self.jitter, "jitter"))


@dataclass(frozen=True)
class Cancel:
    """Cancel a run when a matching event arrives."""

    event: str
    """The event name that cancels the run."""
    if_exp: str | None = None
    """A CEL expression over `event` (the trigger) and `async` (the cancelling event); default: none."""
    timeout: Duration | None = None
    """How long after the run starts cancelling is possible; default: for the run's whole life."""

    def to_config(self) -> config.CancelConfig:
        return config.CancelConfig(event=self.event, if_exp=self.if_exp, timeout=_optional(self.timeout, "timeout"))


@dataclass(frozen=True)
class Timeouts:
    """Cancel a run that waits too long to start, or takes too long to finish."""

    start: Duration | None = None
    """Longest time from the trigger to the first call; default: no limit."""
    finish: Duration | None = None
    """Longest time from the first call to the end of the run; default: no limit."""

    def to_config(self) -> config.TimeoutsConfig:
        return config.TimeoutsConfig(start=_optional(self.start, "start"), finish=_optional(self.finish, "finish"))


@dataclass(frozen=True)
class Concurrency:
    """Limit how many steps of this function run at the same time."""

    limit: int
    """Most steps running at once (per key, when a key is given)."""
    key: str | None = None
    """A CEL expression; each distinct value gets its own limit. Default: one limit for all runs."""
    scope: Literal["fn", "env", "account"] | None = None
    """Where the limit applies: this function (`"fn"`, the default), the environment or the account."""

    def to_config(self) -> config.ConcurrencyConfig:
        return config.ConcurrencyConfig(limit=self.limit, key=self.key, scope=self.scope)


@dataclass(frozen=True)
class Throttle:
    """Limit how many runs start per period; extra runs wait their turn."""

    limit: int
    """Runs started per period."""
    period: Duration
    """The period (1 second to 7 days)."""
    key: str | None = None
    """A CEL expression; each distinct value gets its own limit. Default: one limit."""
    burst: int = 1
    """Extra runs allowed at once on top of `limit`; default 1."""

    def to_config(self) -> config.ThrottleConfig:
        period = wire_duration(self.period, "period")
        return config.ThrottleConfig(limit=self.limit, period=period, key=self.key, burst=self.burst)


@dataclass(frozen=True)
class RateLimit:
    """Limit how many runs start per period; extra events are dropped."""

    limit: int
    """Runs started per period."""
    period: Duration
    """The period (1 second to 24 hours)."""
    key: str | None = None
    """A CEL expression; each distinct value gets its own limit. Default: one limit."""

    def to_config(self) -> config.RateLimitConfig:
        return config.RateLimitConfig(limit=self.limit, period=wire_duration(self.period, "period"), key=self.key)


@dataclass(frozen=True)
class Debounce:
    """Wait for events to stop arriving for `period`, then run once with the last one."""

    period: Duration
    """The quiet time that ends the wait (1 second to 7 days)."""
    key: str | None = None
    """A CEL expression; each distinct value debounces separately. Default: one debounce."""
    timeout: Duration | None = None
    """Run anyway this long after the first event; default: no limit."""

    def to_config(self) -> config.DebounceConfig:
        return config.DebounceConfig(
            period=wire_duration(self.period, "period"), key=self.key, timeout=_optional(self.timeout, "timeout")
        )


@dataclass(frozen=True)
class Batch:
    """Run once per batch of events (`ctx.events`) instead of once per event."""

    max_size: int
    """Most events in a batch."""
    timeout: Duration | None = None
    """Run a partial batch this long after its first event; default 60 s (s, m or h units only)."""
    key: str | None = None
    """A CEL expression; each distinct value gets its own batches. Default: one batch."""
    if_exp: str | None = None
    """A CEL expression an event must match to be batched; default: every event."""

    def to_config(self) -> config.BatchConfig:
        timeout = _optional(self.timeout, "timeout")
        if timeout is not None:  # the engine reads a batch timeout in Go's units: s, m, h (not "1d")
            timeout = f"{int(durations.parse_duration(timeout).total_seconds())}s"
        return config.BatchConfig.model_validate(
            {"maxSize": self.max_size, "timeout": timeout, "key": self.key, "if": self.if_exp}
        )


@dataclass(frozen=True)
class Priority:
    """Run some runs ahead of others."""

    run: str
    """A CEL expression giving seconds to move the run ahead (positive) or back (negative)."""

    def to_config(self) -> config.PriorityConfig:
        return config.PriorityConfig(run=self.run)


@dataclass(frozen=True)
class Singleton:
    """Allow one run at a time (per key)."""

    mode: Literal["skip", "cancel"]
    """`"skip"` drops a new run while one is active; `"cancel"` cancels the active one."""
    key: str | None = None
    """A CEL expression; each distinct value gets its own singleton. Default: one for the function."""

    def to_config(self) -> config.SingletonConfig:
        return config.SingletonConfig(mode=self.mode, key=self.key)
