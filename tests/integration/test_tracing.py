"""OpenTelemetry traces end to end: an engine configured by `OTEL_*` variables exports over OTLP/HTTP to a
real receiver started here, and a Stepstone SDK app's own span inside a step joins the run's trace.

The run: a step that fails once then succeeds, a sleep of a day (the fake clock moves), and a step in
which the user's code opens a span with its own tracer provider, exported to the same receiver. The
official Inngest SDK gets a `traceparent` header too.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import fastapi
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

import stepstone
import stepstone.fastapi
from stepstone.protocol import tracecontext
from tests.harness import Harness, Served, eventually, free_socket
from tests.integration import official_app

DAY = timedelta(days=1)


@dataclass
class Received:
    service: str
    span: Span

    @property
    def attributes(self) -> dict[str, Any]:
        return {item.key: value_of(item) for item in self.span.attributes}

    @property
    def span_id(self) -> str:
        return self.span.span_id.hex()

    @property
    def parent_id(self) -> str:
        return self.span.parent_span_id.hex()


def value_of(item: KeyValue) -> Any:
    kind = item.value.WhichOneof("value")
    return getattr(item.value, kind) if kind else None


class Receiver:
    """An OTLP/HTTP trace receiver: `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`."""

    def __init__(self) -> None:
        self.spans: list[Received] = []
        self.app = Starlette(routes=[Route("/v1/traces", self.traces, methods=["POST"])])

    async def traces(self, request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        message = ExportTraceServiceRequest.FromString(body)
        for resource_spans in message.resource_spans:
            service = next(
                (value_of(item) for item in resource_spans.resource.attributes if item.key == "service.name"), ""
            )
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(Received(service, span) for span in scope_spans.spans)
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    def named(self, name: str) -> list[Received]:
        return [item for item in self.spans if item.span.name == name]


def traced_app(engine_url: str, user_provider: TracerProvider) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    client = stepstone.Stepstone(app_id="traced", is_dev=True, base_url=engine_url, environ={})
    tries = {"flaky": 0}
    user_tracer = user_provider.get_tracer("the-users-code")

    @client.create_function(fn_id="order", trigger=stepstone.TriggerEvent(event="trace/order"), retries=2)
    async def order(ctx: stepstone.Context) -> Any:
        async def flaky() -> str:
            tries["flaky"] += 1
            if tries["flaky"] == 1:
                raise ValueError("the partner is down")
            return "charged"

        def work() -> str:  # a plain callback: runs in a thread, with the step's context
            with user_tracer.start_as_current_span("user work") as span:
                span.set_attribute("order", "A-1")
            return "worked"

        charged = await ctx.step.run("charge", flaky)
        await ctx.step.sleep("nap", DAY)
        return [charged, await ctx.step.run("work", work)]

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [order])
    return app, client


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, Served]]:
    made = Receiver()
    served = Served(made.app)
    await served.start()
    yield made, served
    await served.stop()


async def test_a_run_is_one_trace_with_the_users_span_under_its_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: tuple[Receiver, Served]
) -> None:
    received, served = receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", served.url)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "stepstone-under-test")
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    harness = Harness(tmp_path, retry_interval=timedelta(minutes=1))
    assert harness.engine.tracer is not None
    user_provider = TracerProvider(resource=Resource.create({"service.name": "the-app"}), shutdown_on_exit=False)
    user_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{served.url}/v1/traces")))
    await harness.start()
    stopped = False
    try:
        app, client = traced_app(harness.url, user_provider)
        app_served = await harness.serve_app(app, free_socket())
        await harness.sync(f"{app_served.url}/api/inngest")
        event_id = await harness.send("trace/order")

        async def attempts() -> dict[str, Any] | None:
            runs = await harness.runs_for(event_id)
            run = runs and await harness.run(runs[0]["run_id"])
            return run if run and run["attempts"] else None

        await eventually(attempts)
        await harness.advance(timedelta(minutes=2))  # the retry

        async def sleeping() -> bool:
            run = await attempts()
            return run is not None and any(s["id"] == "nap" and s["status"] == "Sleeping" for s in run["steps"])

        await eventually(sleeping)
        await harness.advance(DAY + timedelta(minutes=1))
        run = await harness.wait_run(event_id)
        assert run["output"] == ["charged", "worked"]
        await harness.stop()  # flushes the engine's spans
        stopped = True
        await asyncio.to_thread(user_provider.force_flush)
        await client.aclose()
    finally:
        if not stopped:
            await harness.stop()
        await asyncio.to_thread(user_provider.shutdown)

    run_id, trace_id = run["run_id"], run["trace_id"]
    assert trace_id == tracecontext.trace_id(run_id)
    await eventually(_has(received, "run traced-order", "user work"))
    assert {item.span.trace_id.hex() for item in received.spans} == {trace_id}
    engine_spans = [item for item in received.spans if item.span.name != "user work"]
    assert {item.service for item in engine_spans} == {"stepstone-under-test"}

    [root] = received.named("run traced-order")
    assert root.parent_id == "" and root.span_id == tracecontext.run_span_id(run_id)
    assert root.attributes["stepstone.run.status"] == "Completed"
    assert root.attributes["stepstone.run.id"] == run_id
    assert root.span.end_time_unix_nano - root.span.start_time_unix_nano >= DAY.total_seconds() * 1e9

    charge = sorted(received.named("step charge"), key=lambda item: item.attributes["stepstone.step.attempt"])
    assert [item.attributes["stepstone.step.attempt"] for item in charge] == [0, 1]
    assert [item.attributes["stepstone.step.status"] for item in charge] == ["Failed", "Completed"]
    assert "the partner is down" in charge[0].attributes["stepstone.step.error"]
    assert charge[0].span.status.code == Status.STATUS_CODE_ERROR
    assert charge[0].attributes["stepstone.step.id"] == "charge"
    [nap] = received.named("sleep nap")
    assert nap.span.end_time_unix_nano - nap.span.start_time_unix_nano >= DAY.total_seconds() * 1e9
    [work] = received.named("step work")
    for step in [*charge, nap, work]:
        assert step.parent_id == root.span_id

    [user] = received.named("user work")
    assert user.service == "the-app"
    assert user.parent_id == work.span_id
    assert user.attributes == {"order": "A-1"}

    calls = received.named("call traced-order")
    assert len(calls) >= 3 and all(item.parent_id == root.span_id for item in calls)
    assert {item.span.kind for item in calls} == {Span.SPAN_KIND_CLIENT}
    stores = [item for item in received.spans if item.span.name.startswith("store ")]
    assert stores and {item.parent_id for item in stores} <= {item.span_id for item in calls}
    # Each call's answer is applied in a transaction under it; the call that sleeps also checkpointed the
    # retried `charge` (the SDK POSTs it before answering with the sleep): that transaction is its child too.
    children = {call.span_id: sum(item.parent_id == call.span_id for item in stores) for call in calls}
    assert sorted(children.values()) == [1, 1, 2]
    [slept] = [call for call in calls if children[call.span_id] == 2]
    assert slept.attributes["stepstone.call.attempt"] == 1


def _has(received: Receiver, *names: str) -> Any:
    async def check() -> bool:
        return all(received.named(name) for name in names)

    return check


class HeaderLog:
    """ASGI middleware that records the `traceparent` header of each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[str | None] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            value = headers.get(b"traceparent")
            self.seen.append(value.decode() if value is not None else None)
        await self.app(scope, receive, send)


async def test_an_official_sdk_app_gets_a_traceparent_without_tracing_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    harness = Harness(tmp_path)
    assert harness.engine.tracer is None
    await harness.start()
    try:
        app, _ = official_app.build(harness.url, {})
        logged = HeaderLog(app)
        served = await harness.serve_app(logged, free_socket())
        await harness.sync(f"{served.url}/api/inngest")
        run = await harness.wait_run(await harness.send("test/three", {"name": "ada"}))
    finally:
        await harness.stop()
    assert logged.seen and None not in logged.seen  # every call (a POST) carried one
    parsed = [tracecontext.parse_traceparent(value) for value in logged.seen]
    assert all(item is not None and item.trace_id == run["trace_id"] and item.sampled for item in parsed)
