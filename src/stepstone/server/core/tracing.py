"""OpenTelemetry traces of runs (the `stepstone[otel]` extra), configured by the standard `OTEL_*` variables.

One trace per run, whose ids come from the run id (`protocol.tracecontext`): the run's root span, a child
for each step attempt, sleep, wait and invoke, and one for each call to the app, with the store
transactions of that call under it. Nothing stays open while a run waits: a span is emitted when what it
measures ends (a fact committed, `core.observe`), with its start time, on whichever engine process saw the
end. Times are the engine clock's (a test's `FakeClock` too); a call's and its transactions' lengths are
measured in real time from the call's start.

The engine has its own `TracerProvider`, never the global one, so an app's code in the same process
keeps its own. Without configuration (`from_environment` answers None) this module imports nothing of
OpenTelemetry, and neither does the engine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from stepstone.protocol import tracecontext
from stepstone.protocol.headers import TRACEPARENT
from stepstone.server.core import clock, observe
from stepstone.server.core.settings import EngineSettings
from stepstone.server.core.spans import MS, Span, spans_of

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.id_generator import IdGenerator
    from opentelemetry.sdk.trace.sampling import Sampler

log = logging.getLogger("stepstone.tracing")

DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
EXPORTERS = ("otlp", "console")

# The call this task is making, with when it went out (engine clock, ns) and `time.perf_counter()` then:
# a store transaction of the call is placed on the engine clock from its real distance to the call's start.
_CALL_START: ContextVar[tuple[observe.Call, int, float] | None] = ContextVar("stepstone_call_start", default=None)


@dataclass(frozen=True)
class TraceConfig:
    """What the `OTEL_*` variables ask for."""

    exporters: tuple[str, ...]  # of `EXPORTERS`
    endpoint: str  # the OTLP/HTTP traces URL
    service_name: str
    sampler: str  # an `OTEL_TRACES_SAMPLER` name
    sampler_arg: str | None


def configuration(environ: Mapping[str, str]) -> TraceConfig | None:
    """The trace configuration `environ` asks for; None when it asks for none.

    Traces are on when an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or
    `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`) or `OTEL_TRACES_EXPORTER` names an exporter; off with
    `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. Unlike OpenTelemetry's own default, nothing
    is sent to localhost:4318 unless asked.
    """
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = [name.strip().lower() for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()]
    traces_url = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    base_url = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if "none" in names:
        return None
    if not names:
        if not (traces_url or base_url):
            return None
        names = ["otlp"]
    unknown = [name for name in names if name not in EXPORTERS]
    if unknown:
        log.warning(
            "OTEL_TRACES_EXPORTER: %s not supported (the engine exports with %s)",
            ", ".join(unknown),
            " or ".join(EXPORTERS),
            extra={"action": "tracing.exporter_unknown"},
        )
    exporters = tuple(name for name in names if name in EXPORTERS)
    if not exporters:
        return None
    endpoint = traces_url or (f"{base_url.rstrip('/')}/v1/traces" if base_url else DEFAULT_ENDPOINT)
    return TraceConfig(
        exporters=exporters,
        endpoint=endpoint,
        service_name=environ.get("OTEL_SERVICE_NAME", "").strip() or "stepstone",
        sampler=environ.get("OTEL_TRACES_SAMPLER", "").strip().lower() or "parentbased_always_on",
        sampler_arg=environ.get("OTEL_TRACES_SAMPLER_ARG", "").strip() or None,
    )


def from_environment(
    settings: EngineSettings, engine_clock: clock.Clock | None = None, environ: Mapping[str, str] | None = None
) -> Tracer | None:
    """The engine's tracer as the `OTEL_*` variables configure it, or None (not asked, or not installed)."""
    config = configuration(os.environ if environ is None else environ)
    if config is None:
        return None
    ids = ChosenIds()
    try:
        provider = build_provider(config, ids)
    except ImportError:
        log.warning(
            "OTEL_* variables ask for traces, but OpenTelemetry is not installed: pip install 'stepstone[otel]'",
            extra={"action": "tracing.unavailable"},
        )
        return None
    log.info(
        "traces go to %s as %s",
        config.endpoint if "otlp" in config.exporters else "the console",
        config.service_name,
        extra={"action": "tracing.configured"},
    )
    return Tracer(provider, ids, engine_clock or clock.SystemClock())


def build_provider(config: TraceConfig, ids: ChosenIds) -> TracerProvider:
    """The engine's own provider: its resource, sampler, batch exporters, and the ids the tracer chooses."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    provider = TracerProvider(
        sampler=sampler(config.sampler, config.sampler_arg),
        resource=Resource.create({SERVICE_NAME: config.service_name}),
        id_generator=cast("IdGenerator", ids),
        shutdown_on_exit=False,  # `Tracer.close` at the engine's stop
    )
    for name in config.exporters:
        exporter: SpanExporter
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=config.endpoint)
        else:
            exporter = ConsoleSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def sampler(name: str, arg: str | None) -> Sampler:
    """An `OTEL_TRACES_SAMPLER` by name (unknown: parentbased_always_on). A run's spans are all kept or all
    dropped: each decision is the root sampler's on the run's trace id."""
    from opentelemetry.sdk.trace import sampling

    try:
        ratio = float(arg) if arg is not None else 1.0
    except ValueError:
        ratio = 1.0
    roots: dict[str, Sampler] = {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": sampling.TraceIdRatioBased(ratio),
    }
    if name in roots:
        return cast("Sampler", SpreadSampler(roots[name]))
    root = roots.get(name.removeprefix("parentbased_"), sampling.ALWAYS_ON)
    return cast("Sampler", SpreadSampler(sampling.ParentBased(root)))


class SpreadSampler:
    """A sampler that decides on a hash of the trace id, the same on every engine.

    Run ids made in one millisecond count up from one random start (`core.ids`), so the low 64 bits of
    their trace ids, which `TraceIdRatioBased` reads, barely differ: a burst of runs would be kept or
    dropped as one. Duck-typed as OpenTelemetry's `Sampler`, like `ChosenIds`.
    """

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

    def should_sample(self, parent_context: Any, trace_id: int, name: str, *args: Any, **kwargs: Any) -> Any:
        spread = int.from_bytes(hashlib.blake2b(trace_id.to_bytes(16), digest_size=16).digest())
        return self.inner.should_sample(parent_context, spread, name, *args, **kwargs)

    def get_description(self) -> str:
        return f"Spread{{{self.inner.get_description()}}}"


class ChosenIds:
    """The provider's id generator: it hands out the ids the tracer sets just before it starts a span.

    Duck-typed as OpenTelemetry's `IdGenerator` (subclassing it would import OpenTelemetry with this
    module)."""

    def __init__(self) -> None:
        self.trace_id = 0
        self.span_id = 0

    def generate_trace_id(self) -> int:
        return self.trace_id

    def generate_span_id(self) -> int:
        return self.span_id

    def is_trace_id_random(self) -> bool:
        return False


class Tracer(observe.Observer):
    """Emits the spans of runs through the engine's own provider; see the module docstring."""

    def __init__(self, provider: TracerProvider, ids: ChosenIds, engine_clock: clock.Clock) -> None:
        from opentelemetry.sdk.trace import sampling

        self.provider = provider
        self.clock = engine_clock
        self.tracer = provider.get_tracer("stepstone")
        self._ids = ids  # the provider's `id_generator`
        self._kept = sampling.Decision.RECORD_AND_SAMPLE
        self._lock = threading.Lock()  # the chosen ids are set, then taken by the span that starts

    def sampled(self, run_id: str) -> bool:
        """Whether the run's spans are kept: the root sampler's decision on its trace id."""
        trace = int(tracecontext.trace_id(run_id), 16)
        return self.provider.sampler.should_sample(None, trace, "run").decision == self._kept

    def committed(self, facts: Sequence[observe.Fact]) -> None:
        for span in spans_of(facts):
            self.emit(span)

    def call_started(self, call: observe.Call, headers: dict[str, str]) -> None:
        span = tracecontext.call_parent_span_id(call.run_id, call.target, call.item_id, call.generation, call.attempt)
        trace = tracecontext.trace_id(call.run_id)
        headers[TRACEPARENT] = tracecontext.format_traceparent(trace, span, sampled=self.sampled(call.run_id))
        _CALL_START.set((call, self.clock.now_ms() * MS, time.perf_counter()))

    def call_ended(self, call: observe.Call, seconds: float, outcome: str) -> None:
        started = _started(call)
        start_ns = started[0] if started else self.clock.now_ms() * MS
        attributes = {
            "stepstone.run.id": call.run_id,
            "stepstone.function.id": call.fn,
            "stepstone.call.target": call.target,
            "stepstone.call.attempt": call.attempt,
            "stepstone.call.outcome": outcome,
            "http.request.method": "POST",
            "url.full": call.url,
        }
        span_id = tracecontext.call_span_id(call.run_id, call.item_id, call.generation, call.attempt)
        end_ns = start_ns + int(seconds * 1e9)
        failed = outcome if outcome in ("error", "unreachable") else None
        root = tracecontext.run_span_id(call.run_id)
        self.emit(
            Span(f"call {call.fn}", call.run_id, span_id, root, start_ns, end_ns, attributes, failed, client=True)
        )

    def engine_request(self, call: observe.Call, request: observe.EngineRequest) -> None:
        started = _started(call)
        if started is None:
            return
        start_ns = started[0] + int((request.perf_started - started[1]) * 1e9)
        attributes: dict[str, Any] = {
            "stepstone.run.id": call.run_id,
            "stepstone.step.id": request.step_id,
            "stepstone.step.hashed_id": request.hashed_id,
            "stepstone.request.kind": request.kind,
            "http.request.method": request.method,
            "url.full": request.url,
        }
        if request.status is not None:
            attributes["http.response.status_code"] = request.status
        parent = tracecontext.call_span_id(call.run_id, call.item_id, call.generation, call.attempt)
        span_id = f"{int.from_bytes(os.urandom(8)) or 1:016x}"  # a request made again is a span of its own
        end_ns = start_ns + int(request.seconds * 1e9)
        name = f"request {request.step_id}"
        self.emit(Span(name, call.run_id, span_id, parent, start_ns, end_ns, attributes, request.error, client=True))

    def transaction(self, kind: str, seconds: float, error: str | None) -> None:
        call = observe.CURRENT_CALL.get()
        started = _started(call) if call is not None else None
        if call is None or started is None:
            return  # only a call's transactions are part of a run's trace
        end_ns = started[0] + int((time.perf_counter() - started[1]) * 1e9)
        start_ns = max(end_ns - int(seconds * 1e9), started[0])
        attributes = {"stepstone.run.id": call.run_id, "stepstone.store.transaction": kind}
        if error is not None:
            attributes["error.type"] = error
        parent = tracecontext.call_span_id(call.run_id, call.item_id, call.generation, call.attempt)
        span_id = f"{int.from_bytes(os.urandom(8)) or 1:016x}"  # a transaction is never emitted twice
        self.emit(Span(f"store {kind}", call.run_id, span_id, parent, start_ns, end_ns, attributes, error))

    def emit(self, span: Span) -> None:
        """Start and end `span` at once, with its ids and times."""
        from opentelemetry import context, trace

        trace_id = int(tracecontext.trace_id(span.run_id), 16)
        parent_context = context.Context()  # never the current span of the user's code in this process
        if span.parent_id is not None:
            flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if self.sampled(span.run_id) else 0)
            parent = trace.SpanContext(trace_id, int(span.parent_id, 16), is_remote=False, trace_flags=flags)
            parent_context = trace.set_span_in_context(trace.NonRecordingSpan(parent), parent_context)
        kind = trace.SpanKind.CLIENT if span.client else trace.SpanKind.INTERNAL
        with self._lock:
            self._ids.trace_id, self._ids.span_id = trace_id, int(span.span_id, 16)
            otel_span = self.tracer.start_span(
                span.name, context=parent_context, kind=kind, attributes=span.attributes, start_time=span.start_ns
            )
        if span.error is not None:
            otel_span.set_status(trace.Status(trace.StatusCode.ERROR, span.error))
        otel_span.end(end_time=max(span.end_ns, span.start_ns))

    def flush(self, timeout_millis: int = 30_000) -> bool:
        """Export every span ended so far; False when the exporters did not finish in time."""
        return bool(self.provider.force_flush(timeout_millis))

    def close(self) -> None:
        """Flush, then stop the exporters (the engine's stop)."""
        self.provider.force_flush()
        self.provider.shutdown()


def _started(call: observe.Call) -> tuple[int, float] | None:
    found = _CALL_START.get()
    if found is None or found[0] != call:
        return None
    return found[1], found[2]
