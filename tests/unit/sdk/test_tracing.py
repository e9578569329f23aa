"""The engine's trace in step handlers: with a `traceparent` from a Stepstone engine, the current
OpenTelemetry span while a step runs is the engine's span of that step attempt (derived as the engine
derives it); from another engine, the header's span; without one, or without OpenTelemetry, nothing."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from ulid import ULID

import stepstone
from stepstone.protocol import headers, stepids, tracecontext
from stepstone.sdk import tracing

from .helpers import body, handler, hashed, ops, request

RUN = str(ULID())
TRACE = tracecontext.trace_id(RUN)
CALL_SPAN = tracecontext.call_span_id(RUN, "item", 1, 0)


def current() -> tuple[str, str, bool]:
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}", context.trace_flags.sampled


def test_a_step_of_a_stepstone_run_gets_its_attempts_span() -> None:
    header = tracecontext.format_traceparent(TRACE, CALL_SPAN)
    with tracing.step_context(header, RUN, "h" * 40, 2):
        assert current() == (TRACE, tracecontext.step_span_id(RUN, "h" * 40, 2), True)
        assert trace.get_current_span().get_span_context().is_remote
    assert not trace.get_current_span().get_span_context().is_valid


def test_another_engines_trace_is_continued_from_the_headers_span() -> None:
    header = tracecontext.format_traceparent("ab" * 16, "cd" * 8, sampled=False)
    with tracing.step_context(header, RUN, "h" * 40, 0):
        assert current() == ("ab" * 16, "cd" * 8, False)


@pytest.mark.parametrize("header", [None, "", "not a traceparent"])
def test_without_a_valid_header_nothing_is_attached(header: str | None) -> None:
    with tracing.step_context(header, RUN, "h" * 40, 0):
        assert not trace.get_current_span().get_span_context().is_valid


def test_without_opentelemetry_nothing_is_attached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "available", lambda: False)
    with tracing.step_context(tracecontext.format_traceparent(TRACE, CALL_SPAN), RUN, "h" * 40, 0):
        assert not trace.get_current_span().get_span_context().is_valid


def traced_call(fn: stepstone.Function, attempt: int = 0, steps: dict[str, Any] | None = None) -> Any:
    raw = body(run_id=RUN, attempt=attempt, steps=steps)
    header = {headers.TRACEPARENT: tracecontext.format_traceparent(TRACE, CALL_SPAN)}
    return request(fn.id, raw, step_id=stepids.UNTARGETED, headers=header)


def test_a_plain_functions_step_runs_in_its_span(client: stepstone.Stepstone) -> None:
    seen: list[tuple[str, str, bool]] = []

    @client.create_function(fn_id="fn", trigger=stepstone.TriggerEvent(event="app/go"))
    def fn(ctx: stepstone.ContextSync) -> None:
        ctx.step.run("a", lambda: seen.append(current()))

    ops(handler(client, [fn], checkpoint=False).handle_sync(traced_call(fn, 1)))
    assert seen == [(TRACE, tracecontext.step_span_id(RUN, hashed("a"), 1), True)]


async def test_an_async_functions_steps_run_in_their_spans(client: stepstone.Stepstone) -> None:
    seen: list[tuple[str, str, bool]] = []

    async def record() -> None:
        seen.append(current())

    @client.create_function(fn_id="fn", trigger=stepstone.TriggerEvent(event="app/go"))
    async def fn(ctx: stepstone.Context) -> None:
        await ctx.step.run("a", record)
        await ctx.step.run("b", lambda: seen.append(current()))  # a plain callback, in a thread

    h = handler(client, [fn], checkpoint=False)
    ops(await h.handle(traced_call(fn)))
    ops(await h.handle(traced_call(fn, steps={hashed("a"): {"data": None}})))
    assert seen == [
        (TRACE, tracecontext.step_span_id(RUN, hashed("a"), 0), True),
        (TRACE, tracecontext.step_span_id(RUN, hashed("b"), 0), True),
    ]
    assert not trace.get_current_span().get_span_context().is_valid
