"""Stepstone: self-hostable, event-driven durable functions, wire-compatible with the Inngest SDKs.

Define functions with a `Stepstone` client and serve them with `stepstone.fastapi.serve` or
`stepstone.flask.serve`; test them with `stepstone.testing`.

The names below are loaded on first use (`from stepstone import Stepstone` imports the SDK then), so
importing the engine (`stepstone.server`) or the CLI loads no SDK module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from stepstone.sdk.step import FetchResponse, Signal, Step, StepSync

# Where each public name lives.
_SOURCES = {
    "Batch": "stepstone.sdk.options",
    "Cancel": "stepstone.sdk.options",
    "Concurrency": "stepstone.sdk.options",
    "Context": "stepstone.sdk.context",
    "ContextSync": "stepstone.sdk.context",
    "Debounce": "stepstone.sdk.options",
    "Event": "stepstone.protocol.events",
    "FetchResponse": "stepstone.sdk.step",
    "Function": "stepstone.sdk.function",
    "Group": "stepstone.sdk.group",
    "GroupSync": "stepstone.sdk.group",
    "NonRetriableError": "stepstone.sdk.errors",
    "ParallelMode": "stepstone.sdk.replay",
    "Priority": "stepstone.sdk.options",
    "RateLimit": "stepstone.sdk.options",
    "RetryAfterError": "stepstone.sdk.errors",
    "Signal": "stepstone.sdk.step",
    "Singleton": "stepstone.sdk.options",
    "Step": "stepstone.sdk.step",
    "StepError": "stepstone.sdk.errors",
    "StepSync": "stepstone.sdk.step",
    "Stepstone": "stepstone.sdk.client",
    "StepstoneError": "stepstone.sdk.errors",
    "Throttle": "stepstone.sdk.options",
    "Timeouts": "stepstone.sdk.options",
    "TriggerCron": "stepstone.sdk.options",
    "TriggerEvent": "stepstone.sdk.options",
}

__all__ = [
    "Batch",
    "Cancel",
    "Concurrency",
    "Context",
    "ContextSync",
    "Debounce",
    "Event",
    "FetchResponse",
    "Function",
    "Group",
    "GroupSync",
    "NonRetriableError",
    "ParallelMode",
    "Priority",
    "RateLimit",
    "RetryAfterError",
    "Signal",
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


def __getattr__(name: str) -> Any:
    """Import a public name on first use, then keep it here (later lookups do not come back)."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
