"""The spans that a run's committed facts end (`core.observe`), as plain values: which span, its ids (derived
from the run id, `protocol.tracecontext`), its times on the engine clock, its attributes. `core.tracing`
emits them through OpenTelemetry; this module needs none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stepstone.protocol import tracecontext
from stepstone.server.core import observe

FAILED = observe.FactKind.ATTEMPT_FAILED
MS = 1_000_000  # nanoseconds
_SPAN_NAMES = {"Sleep": "sleep", "WaitForEvent": "wait", "WaitForSignal": "signal", "InvokeFunction": "invoke"}


@dataclass(frozen=True)
class Span:
    """A span to emit: every id and time is known when it ends."""

    name: str
    run_id: str
    span_id: str
    parent_id: str | None  # None: the run's root span
    start_ns: int  # nanoseconds on the engine clock
    end_ns: int
    attributes: dict[str, Any]
    error: str | None = None
    client: bool = False  # a call to the app (kind CLIENT), else INTERNAL


def spans_of(facts: Sequence[observe.Fact]) -> list[Span]:
    """The spans the facts of one committed transaction end.

    A step that failed for good is both an `ATTEMPT_FAILED` (with its error) and a `STEP_ENDED`: one
    span, the attempt's.
    """
    failed = {(fact.run_id, fact.hashed_id, fact.attempt) for fact in facts if fact.kind == FAILED and fact.hashed_id}
    spans = []
    for fact in facts:
        if fact.kind == observe.FactKind.STEP_ENDED and (fact.run_id, fact.hashed_id, fact.attempt) in failed:
            continue
        span = _span_of(fact)
        if span is not None:
            spans.append(span)
    return spans


def _span_of(fact: observe.Fact) -> Span | None:
    kind, run = fact.kind, fact.run_id
    base: dict[str, Any] = {"stepstone.run.id": run, "stepstone.function.id": fact.fn}
    if kind == observe.FactKind.RUN_ENDED:
        attributes = base | {"stepstone.run.status": fact.status}
        start = fact.started_ms if fact.started_ms is not None else fact.at_ms
        root = tracecontext.run_span_id(run)
        return Span(f"run {fact.fn}", run, root, None, start * MS, fact.at_ms * MS, attributes, fact.error)
    if kind == observe.FactKind.RUN_STARTED and fact.started_ms is not None:
        # The wait between the run's creation and its first call (flow control, a busy queue).
        span_id = tracecontext.step_span_id(run, "queued", 0)  # no hashed step id is "queued"
        root = tracecontext.run_span_id(run)
        return Span("queued", run, span_id, root, fact.started_ms * MS, fact.at_ms * MS, base)
    if kind == observe.FactKind.STEP_ENDED or kind == FAILED:
        return _step_span(fact, base)
    return None


def _step_span(fact: observe.Fact, base: dict[str, Any]) -> Span:
    run, hashed = fact.run_id, fact.hashed_id or ""
    verb = _SPAN_NAMES.get(fact.op or "", "step")
    attributes = base | {"stepstone.step.attempt": fact.attempt}
    if fact.step_id is not None:
        attributes["stepstone.step.id"] = fact.step_id
    if hashed:
        attributes["stepstone.step.hashed_id"] = hashed
    if fact.op:
        attributes["stepstone.step.op"] = fact.op
    if fact.kind == FAILED:
        attributes["stepstone.step.status"] = "Failed"
        attributes["stepstone.step.retried"] = fact.retry_at_ms is not None
        if fact.error is not None:
            attributes["stepstone.step.error"] = fact.error
    else:
        attributes["stepstone.step.status"] = fact.status
    name = f"{verb} {fact.step_id}" if fact.step_id is not None else "function code"
    start = fact.started_ms if fact.started_ms is not None else fact.at_ms
    error = fact.error if fact.kind == FAILED else None
    span_id = tracecontext.step_span_id(run, hashed, fact.attempt)
    return Span(name, run, span_id, tracecontext.run_span_id(run), start * MS, fact.at_ms * MS, attributes, error)
