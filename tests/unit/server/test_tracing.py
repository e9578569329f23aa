"""The engine's tracer: spans of runs from committed facts, with ids derived from the run id, through its
own provider (an in-memory exporter here), and the `OTEL_*` configuration."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler
from ulid import ULID

from stepstone.protocol import tracecontext
from stepstone.server.core import observe, tracing
from stepstone.server.core.clock import FakeClock
from stepstone.server.core.ids import ULIDS
from stepstone.server.core.observe import Fact, FactKind
from stepstone.server.core.settings import EngineSettings

RUN = str(ULID())
T0 = 1_767_225_600_000
STEP = "h" * 40
SLEEP = "s" * 40
MS = 1_000_000


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def make_tracer(exporter: InMemorySpanExporter, sampler: Sampler = ALWAYS_ON) -> tracing.Tracer:
    ids = tracing.ChosenIds()
    provider = TracerProvider(sampler=sampler, id_generator=ids, shutdown_on_exit=False)  # type: ignore[arg-type]
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return tracing.Tracer(provider, ids, FakeClock(start_ms=T0))


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Iterator[tracing.Tracer]:
    made = make_tracer(exporter)
    yield made
    made.close()


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def hexes(span: ReadableSpan) -> tuple[str, str, str | None]:
    assert span.context is not None
    parent = f"{span.parent.span_id:016x}" if span.parent is not None else None
    return f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}", parent


def charge(kind: FactKind, attempt: int, at: int, **fields: Any) -> Fact:
    """A fact of the step "charge", whose attempts ran from `at - 10` to `at` (after T0)."""
    step: dict[str, Any] = {"run_id": RUN, "fn": "app-fn", "step_id": "charge", "hashed_id": STEP, "op": "StepRun"}
    return Fact(kind, attempt=attempt, at_ms=T0 + at, started_ms=T0 + at - 10, **step, **fields)


def a_run(*, final_failure: bool = False) -> list[list[Fact]]:
    """The committed transactions of a run: a step failing once, then succeeding; a sleep of a day; the end."""
    second = [charge(FactKind.STEP_ENDED, 1, 50, status="Completed")]
    if final_failure:
        second = [
            charge(FactKind.ATTEMPT_FAILED, 1, 50, error="ValueError: again"),
            charge(FactKind.STEP_ENDED, 1, 50, status="Failed"),
        ]
    nap: dict[str, Any] = {"run_id": RUN, "fn": "app-fn", "step_id": "nap", "hashed_id": SLEEP, "op": "Sleep"}
    day = 86_400_000
    return [
        [Fact(FactKind.RUN_STARTED, run_id=RUN, fn="app-fn", at_ms=T0 + 5, started_ms=T0)],
        [charge(FactKind.ATTEMPT_FAILED, 0, 20, error="ValueError: no", retry_at_ms=T0 + 30)],
        second,
        [Fact(FactKind.STEP_WAITING, at_ms=T0 + 60, **nap)],
        [Fact(FactKind.STEP_ENDED, status="Completed", at_ms=T0 + day, started_ms=T0 + 60, **nap)],
        [Fact(FactKind.RUN_ENDED, run_id=RUN, fn="app-fn", status="Completed", at_ms=T0 + day + 10, started_ms=T0)],
    ]


def attempt_of(span: ReadableSpan) -> int:
    value = (span.attributes or {}).get("stepstone.step.attempt")
    assert isinstance(value, int)
    return value


def test_a_run_is_one_trace_with_derived_ids_and_explicit_times(
    tracer: tracing.Tracer, exporter: InMemorySpanExporter
) -> None:
    for facts in a_run():
        tracer.committed(facts)
    spans = by_name(exporter)
    assert set(spans) == {"run app-fn", "queued", "step charge", "sleep nap"}
    assert len(exporter.get_finished_spans()) == 5  # two attempts of "charge"
    trace_id, root = tracecontext.trace_id(RUN), tracecontext.run_span_id(RUN)
    assert hexes(spans["run app-fn"]) == (trace_id, root, None)
    run = spans["run app-fn"]
    assert (run.start_time, run.end_time) == (T0 * MS, (T0 + 86_400_010) * MS)
    assert run.attributes is not None and run.attributes["stepstone.run.status"] == "Completed"

    attempts = sorted((span for span in exporter.get_finished_spans() if span.name == "step charge"), key=attempt_of)
    first, second = attempts
    assert hexes(first) == (trace_id, tracecontext.step_span_id(RUN, STEP, 0), root)
    assert hexes(second) == (trace_id, tracecontext.step_span_id(RUN, STEP, 1), root)
    assert first.attributes is not None and dict(first.attributes) == {
        "stepstone.run.id": RUN,
        "stepstone.function.id": "app-fn",
        "stepstone.step.id": "charge",
        "stepstone.step.hashed_id": STEP,
        "stepstone.step.op": "StepRun",
        "stepstone.step.attempt": 0,
        "stepstone.step.status": "Failed",
        "stepstone.step.retried": True,
        "stepstone.step.error": "ValueError: no",
    }
    assert first.status.status_code == trace.StatusCode.ERROR and first.status.description == "ValueError: no"
    assert second.attributes is not None and second.attributes["stepstone.step.status"] == "Completed"
    assert second.status.status_code == trace.StatusCode.UNSET

    nap = spans["sleep nap"]
    assert hexes(nap) == (trace_id, tracecontext.step_span_id(RUN, SLEEP, 0), root)
    assert (nap.start_time, nap.end_time) == ((T0 + 60) * MS, (T0 + 86_400_000) * MS)
    queued = spans["queued"]
    assert (queued.start_time, queued.end_time) == (T0 * MS, (T0 + 5) * MS)
    assert queued.parent is not None and queued.parent.span_id == int(root, 16)


def test_a_step_that_fails_for_good_is_one_span_with_its_error(
    tracer: tracing.Tracer, exporter: InMemorySpanExporter
) -> None:
    for facts in a_run(final_failure=True):
        tracer.committed(facts)
    last = [span for span in exporter.get_finished_spans() if span.name == "step charge"][-1]
    assert len([span for span in exporter.get_finished_spans() if span.name == "step charge"]) == 2
    assert last.attributes is not None
    assert last.attributes["stepstone.step.retried"] is False
    assert last.attributes["stepstone.step.error"] == "ValueError: again"


def test_another_engine_process_emits_the_same_ids(exporter: InMemorySpanExporter) -> None:
    one, two = make_tracer(exporter), make_tracer(exporter)
    run = a_run()
    for facts in run[:3]:
        one.committed(facts)
    for facts in run[3:]:
        two.committed(facts)
    spans = exporter.get_finished_spans()
    assert {span.context.trace_id for span in spans if span.context} == {int(tracecontext.trace_id(RUN), 16)}
    root = by_name(exporter)["run app-fn"]
    assert all(span.parent is None or span.parent.span_id == root.context.span_id for span in spans)


def test_a_call_gets_a_traceparent_and_a_client_span_with_its_transactions(
    tracer: tracing.Tracer, exporter: InMemorySpanExporter
) -> None:
    call = observe.Call("app-fn", RUN, "item-1", 1, "", 0, "http://app/api/inngest?fnId=fn&stepId=step")
    headers: dict[str, str] = {}
    token = observe.CURRENT_CALL.set(call)
    try:
        tracer.call_started(call, headers)
        tracer.transaction("write", 0.001, None)
        tracer.call_ended(call, 0.25, "steps")
        tracer.transaction("write", 0.002, "conflict")
    finally:
        observe.CURRENT_CALL.reset(token)
    tracer.transaction("read", 0.001, None)  # not a call's: no span
    call_span_id = tracecontext.call_span_id(RUN, "item-1", 1, 0)
    trace_id = tracecontext.trace_id(RUN)
    assert headers[tracecontext_header()] == f"00-{trace_id}-{call_span_id}-01"
    spans = exporter.get_finished_spans()
    assert sorted(span.name for span in spans) == ["call app-fn", "store write", "store write"]
    call_span = by_name(exporter)["call app-fn"]
    assert hexes(call_span) == (trace_id, call_span_id, tracecontext.run_span_id(RUN))
    assert call_span.kind == trace.SpanKind.CLIENT
    assert call_span.start_time == T0 * MS and call_span.end_time == T0 * MS + 250_000_000
    assert call_span.attributes is not None and call_span.attributes["stepstone.call.outcome"] == "steps"
    stores = [span for span in spans if span.name == "store write"]
    assert all(span.parent is not None and span.parent.span_id == int(call_span_id, 16) for span in stores)
    assert [span.status.status_code for span in stores] == [trace.StatusCode.UNSET, trace.StatusCode.ERROR]


def test_a_request_the_engine_made_is_a_client_span_under_its_call(
    tracer: tracing.Tracer, exporter: InMemorySpanExporter
) -> None:
    call = observe.Call("app-fn", RUN, "item-1", 1, "", 0, "http://app/api/inngest?fnId=fn")
    token = observe.CURRENT_CALL.set(call)
    try:
        tracer.call_started(call, {})
        started = time.perf_counter()
        tracer.call_ended(call, 0.1, "steps")
        ok = observe.EngineRequest("ask", "h1", "ai", "POST", "https://m/v1", 200, None, started, 2.0)
        failed = observe.EngineRequest(
            "get", "h2", "fetch", "GET", "http://h/x", None, "GatewayError: down", started, 1
        )
        tracer.engine_request(call, ok)
        tracer.engine_request(call, failed)
    finally:
        observe.CURRENT_CALL.reset(token)
    call_span_id = tracecontext.call_span_id(RUN, "item-1", 1, 0)
    spans = by_name(exporter)
    asked, got = spans["request ask"], spans["request get"]
    for span in (asked, got):
        assert span.parent is not None and span.parent.span_id == int(call_span_id, 16)
        assert span.kind == trace.SpanKind.CLIENT
    assert asked.end_time is not None and asked.start_time is not None
    assert asked.end_time - asked.start_time == 2_000_000_000 and asked.start_time >= T0 * MS
    assert asked.attributes is not None and dict(asked.attributes) == {
        "stepstone.run.id": RUN,
        "stepstone.step.id": "ask",
        "stepstone.step.hashed_id": "h1",
        "stepstone.request.kind": "ai",
        "http.request.method": "POST",
        "url.full": "https://m/v1",
        "http.response.status_code": 200,
    }
    assert asked.status.status_code == trace.StatusCode.UNSET
    assert got.status.status_code == trace.StatusCode.ERROR and got.status.description == "GatewayError: down"
    assert got.attributes is not None and "http.response.status_code" not in got.attributes


def tracecontext_header() -> str:
    from stepstone.protocol import headers

    return headers.TRACEPARENT


def test_a_targeted_call_belongs_to_the_step_attempt(tracer: tracing.Tracer) -> None:
    call = observe.Call("app-fn", RUN, "item-1", 2, STEP, 1, "http://app")
    headers: dict[str, str] = {}
    tracer.call_started(call, headers)
    assert headers["traceparent"].split("-")[2] == tracecontext.step_span_id(RUN, STEP, 1)


def test_an_unsampled_run_sends_flag_00_and_emits_nothing(exporter: InMemorySpanExporter) -> None:
    tracer = make_tracer(exporter, ParentBased(ALWAYS_OFF))
    headers: dict[str, str] = {}
    tracer.call_started(observe.Call("app-fn", RUN, "i", 1, "", 0, "http://app"), headers)
    assert headers["traceparent"].endswith("-00")
    for facts in a_run():
        tracer.committed(facts)
    assert exporter.get_finished_spans() == ()


def test_a_ratio_keeps_or_drops_every_span_of_a_run(exporter: InMemorySpanExporter) -> None:
    tracer = make_tracer(exporter, tracing.sampler("parentbased_traceidratio", "0.5"))
    runs = [ULIDS.new(T0) for _ in range(40)]  # made in one millisecond: they count up (`core.ids`)
    for run in runs:
        tracer.committed(
            [
                Fact(
                    FactKind.STEP_ENDED, run_id=run, fn="f", step_id="a", hashed_id=STEP, status="Completed", at_ms=T0
                ),
                Fact(FactKind.RUN_ENDED, run_id=run, fn="f", status="Completed", at_ms=T0, started_ms=T0),
            ]
        )
    per_run: dict[int, int] = {}
    for span in exporter.get_finished_spans():
        assert span.context is not None
        per_run[span.context.trace_id] = per_run.get(span.context.trace_id, 0) + 1
    assert set(per_run.values()) == {2}
    assert {f"{trace_id:032x}" for trace_id in per_run} == {
        tracecontext.trace_id(run) for run in runs if tracer.sampled(run)
    }
    assert 0 < len(per_run) < len(runs)  # a burst of runs is not kept or dropped as one


def test_a_span_never_takes_the_current_span_of_the_process_as_parent(
    tracer: tracing.Tracer, exporter: InMemorySpanExporter
) -> None:
    user = TracerProvider(shutdown_on_exit=False).get_tracer("user")
    with user.start_as_current_span("user's own"):
        tracer.committed([Fact(FactKind.RUN_ENDED, run_id=RUN, fn="f", status="Completed", at_ms=T0, started_ms=T0)])
    [root] = exporter.get_finished_spans()
    assert root.parent is None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"OTEL_SERVICE_NAME": "x"}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318/"}, (("otlp",), "http://jaeger:4318/v1/traces")),
        (
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/t", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"},
            (("otlp",), "http://c:4318/t"),
        ),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, (("otlp",), tracing.DEFAULT_ENDPOINT)),
        ({"OTEL_TRACES_EXPORTER": "console,zipkin"}, (("console",), tracing.DEFAULT_ENDPOINT)),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, None),
    ],
)
def test_configuration_from_otel_variables(
    environ: dict[str, str], expected: tuple[tuple[str, ...], str] | None
) -> None:
    config = tracing.configuration(environ)
    assert (None if config is None else (config.exporters, config.endpoint)) == expected


def test_configuration_names_the_service_and_sampler() -> None:
    config = tracing.configuration(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x",
            "OTEL_SERVICE_NAME": "engine-a",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
        }
    )
    assert config is not None and config.service_name == "engine-a"
    sampler = tracing.sampler(config.sampler, config.sampler_arg)
    assert "TraceIdRatioBased{0.25}" in sampler.get_description()
    assert tracing.configuration({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}).service_name == "stepstone"  # type: ignore[union-attr]


def test_from_environment_builds_the_engines_own_provider() -> None:
    made = tracing.from_environment(
        EngineSettings(), FakeClock(), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    )
    assert made is not None
    try:
        assert made.provider is not trace.get_tracer_provider()
        assert made.provider.resource.attributes["service.name"] == "stepstone"
    finally:
        made.provider.shutdown()
    assert tracing.from_environment(EngineSettings(), FakeClock(), {}) is None
