"""Stepstone: self-hostable, event-driven durable functions, wire-compatible with the Inngest SDKs.

Define functions with a `Stepstone` client and serve them with `stepstone.fastapi.serve` or
`stepstone.flask.serve`; test them with `stepstone.testing`.
"""

from __future__ import annotations

from stepstone.protocol.events import Event
from stepstone.sdk.client import Stepstone
from stepstone.sdk.context import Context, ContextSync
from stepstone.sdk.errors import NonRetriableError, RetryAfterError, StepError, StepstoneError
from stepstone.sdk.function import Function
from stepstone.sdk.group import Group, GroupSync
from stepstone.sdk.options import (
    Batch,
    Cancel,
    Concurrency,
    Debounce,
    Priority,
    RateLimit,
    Singleton,
    Throttle,
    Timeouts,
    TriggerCron,
    TriggerEvent,
)
from stepstone.sdk.replay import ParallelMode
from stepstone.sdk.step import Step, StepSync

__all__ = [
    "Batch",
    "Cancel",
    "Concurrency",
    "Context",
    "ContextSync",
    "Debounce",
    "Event",
    "Function",
    "Group",
    "GroupSync",
    "NonRetriableError",
    "ParallelMode",
    "Priority",
    "RateLimit",
    "RetryAfterError",
    "Singleton",
    "Step",
    "StepError",
    "StepSync",
    "Stepstone",
    "StepstoneError",
    "Throttle",
    "Timeouts",
    "TriggerCron",
    "TriggerEvent",
]
