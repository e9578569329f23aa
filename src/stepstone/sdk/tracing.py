"""The engine's trace, continued in step handlers when OpenTelemetry is installed (it stays optional).

The engine sends a W3C `traceparent` header with every call. While a step handler runs, the current
OpenTelemetry context is the engine's span of that step attempt, so a span the user starts inside the
step (with the global tracer provider, `trace.get_tracer(...).start_as_current_span(...)`) is its child.
A Stepstone engine derives that span's id from the run id, the hashed step id and the attempt
(`protocol.tracecontext.step_span_id`), and so does this module: a step run in a call that did not target
it still finds its span. From another engine (its trace id is not the run's), the header's span is the
parent as it came.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from stepstone.protocol import tracecontext


@functools.cache
def available() -> bool:
    """Whether OpenTelemetry's API can be imported (tried once per process)."""
    try:
        import opentelemetry.context
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def step_context(traceparent: str | None, run_id: str, hashed_step_id: str, attempt: int) -> Iterator[None]:
    """Make the engine's span of this step attempt the current OpenTelemetry context, if there is one."""
    parent = tracecontext.parse_traceparent(traceparent)
    if parent is None or not available():
        yield
        return
    from opentelemetry import context, trace

    span_id = parent.span_id
    if parent.trace_id == tracecontext.trace_id(run_id):
        span_id = tracecontext.step_span_id(run_id, hashed_step_id, attempt)
    flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if parent.sampled else trace.TraceFlags.DEFAULT)
    remote = trace.SpanContext(int(parent.trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=flags)
    token = context.attach(trace.set_span_in_context(trace.NonRecordingSpan(remote)))
    try:
        yield
    finally:
        context.detach(token)
