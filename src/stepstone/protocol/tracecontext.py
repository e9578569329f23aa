"""W3C trace context for runs: a run's trace id and its span ids, derived from the run id alone.

A run that sleeps for days is one trace, yet no span stays open meanwhile: every engine process (and the
same one after a restart) derives the same trace id and root span id from the run id, and emits a span
when what it measures ends, with its start time. A run id is a ULID, 128 bits, so its trace id is the
ULID itself in hex, readable both ways; any other id is hashed.

The engine sends a W3C `traceparent` header (`headers.TRACEPARENT`, https://www.w3.org/TR/trace-context/)
on every call to an app, with or without OpenTelemetry installed. Stepstone's SDK derives a step's span id
as the engine does (`step_span_id`), so a user's span inside a step has the engine's span of that step
attempt as parent, even when the step ran in a call that did not target it.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_HEADER = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?")
_INVALID_TRACE = "0" * 32
_INVALID_SPAN = "0" * 16


class TraceParent(NamedTuple):
    """A parsed `traceparent` header."""

    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    sampled: bool


def trace_id(run_id: str) -> str:
    """The run's trace id: a ULID's 128 bits as 32 hex digits, else a hash of the id.

    >>> trace_id("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    '01563e3ab5d3d6764c61efb99302bd5b'
    """
    upper = run_id.upper()
    if _ULID.fullmatch(upper):
        value = 0
        for char in upper:
            value = value * 32 + _CROCKFORD.index(char)
        if value:
            return f"{value:032x}"
    return _digest("trace", run_id)[:32]


def run_span_id(run_id: str) -> str:
    """The span id of the run's root span."""
    return _span("run", run_id)


def step_span_id(run_id: str, hashed_step_id: str, attempt: int) -> str:
    """The span id of one attempt of a step (a sleep, wait or invoke has attempt 0)."""
    return _span("step", run_id, hashed_step_id, str(attempt))


def call_span_id(run_id: str, item_id: str, generation: int, attempt: int) -> str:
    """The span id of one call the engine makes to the app (a queue item's attempt)."""
    return _span("call", run_id, item_id, str(generation), str(attempt))


def call_parent_span_id(run_id: str, target: str, item_id: str, generation: int, attempt: int) -> str:
    """The span the app's work in a call belongs to: the targeted step's attempt, else the call's own span."""
    if target:
        return step_span_id(run_id, target, attempt)
    return call_span_id(run_id, item_id, generation, attempt)


def format_traceparent(trace: str, span: str, *, sampled: bool = True) -> str:
    """A version-00 `traceparent` header value."""
    return f"00-{trace}-{span}-{'01' if sampled else '00'}"


def parse_traceparent(value: str | None) -> TraceParent | None:
    """A `traceparent` header, or None when it is absent or not valid (version ff, zero ids, bad form)."""
    if not value:
        return None
    found = _HEADER.fullmatch(value.strip().lower())
    if found is None:
        return None
    version, trace, span, flags = found.groups()
    if version == "ff" or (version == "00" and len(value.strip()) != 55):
        return None
    if trace == _INVALID_TRACE or span == _INVALID_SPAN:
        return None
    return TraceParent(trace, span, bool(int(flags, 16) & 1))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _span(*parts: str) -> str:
    span = _digest(*parts)[:16]
    return span if span != _INVALID_SPAN else "0" * 15 + "1"
