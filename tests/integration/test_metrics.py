"""Prometheus metrics at /metrics after a known workload: the counts are exactly what happened, on both stores,
and with two engines sharing PostgreSQL the sums across engines are right."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import fastapi
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import stepstone
import stepstone.fastapi
from stepstone.server.api.app import create_app
from stepstone.server.core.clock import FakeClock, wall_ms
from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine
from stepstone.server.store.postgres.store import PostgresStore
from tests.harness import Harness, Served, eventually, free_socket

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample as `{(name, sorted labels): value}`."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, metric: str, **labels: str) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


class Gate:
    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.entered = 0


def build_app(engine_url: str, gate: Gate) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    client = stepstone.Stepstone(app_id="metered", is_dev=True, base_url=engine_url, environ={})

    @client.create_function(fn_id="ok", trigger=stepstone.TriggerEvent(event="metered/ok"))
    async def ok(ctx: stepstone.Context) -> str:
        return await ctx.step.run("work", lambda: "done")

    @client.create_function(fn_id="boom", trigger=stepstone.TriggerEvent(event="metered/boom"), retries=0)
    async def boom(ctx: stepstone.Context) -> str:
        raise stepstone.NonRetriableError("no")

    async def held() -> str:
        gate.entered += 1
        await gate.open.wait()
        return "held"

    @client.create_function(
        fn_id="limited",
        trigger=stepstone.TriggerEvent(event="metered/limited"),
        concurrency=[stepstone.Concurrency(limit=1)],
    )
    async def limited(ctx: stepstone.Context) -> str:
        return await ctx.step.run("slot", held)

    @client.create_function(fn_id="slow", trigger=stepstone.TriggerEvent(event="metered/slow"))
    async def slow(ctx: stepstone.Context) -> str:
        await ctx.step.run("quick", lambda: "at once")
        return await ctx.step.run("slow", held)

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [ok, boom, limited, slow])
    return app, client


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return parse(response.text)


async def ended(scrapes: list[Samples], fn: str, status: str) -> float:
    return sum(value(s, "inngest_function_run_ended_total", fn=fn, status=status) for s in scrapes)


@pytest.fixture
async def metered(tmp_path: Path, backend: dict[str, Any]) -> AsyncIterator[tuple[Harness, Gate]]:
    harness = Harness(tmp_path, backend)
    await harness.start()
    gate = Gate()
    app, client = build_app(harness.url, gate)
    await harness.serve_app(app, free_socket())
    await harness.sync(f"{harness.apps[0].url}/api/inngest")
    yield harness, gate
    gate.open.set()
    await harness.stop()
    await client.aclose()


async def test_counts_after_a_known_workload_are_exact(metered: tuple[Harness, Gate]) -> None:
    harness, gate = metered
    n, m, k = 3, 2, 2
    for _ in range(n):
        await harness.send("metered/ok")
    for _ in range(m):
        await harness.send("metered/boom")
    for _ in range(k + 1):  # one takes the slot and holds it; k wait for it
        await harness.send("metered/limited")

    async def settled() -> Samples | None:
        samples = await scrape(harness.http)
        done = value(samples, "inngest_function_run_ended_total", fn="metered-ok", status="Completed") == n
        failed = value(samples, "inngest_function_run_ended_total", fn="metered-boom", status="Failed") == m
        held = value(samples, "stepstone_flow_held_total", fn="metered-limited", reason="concurrency") == k
        return samples if done and failed and held and gate.entered == 1 else None

    samples = await eventually(settled)
    assert value(samples, "inngest_function_run_scheduled_total", fn="metered-ok") == n
    assert value(samples, "inngest_function_run_scheduled_total", fn="metered-boom") == m
    assert value(samples, "inngest_function_run_scheduled_total", fn="metered-limited") == k + 1
    assert value(samples, "inngest_function_run_started_total", fn="metered-limited") == 1
    assert value(samples, "inngest_function_run_ended_total", fn="metered-ok", status="Failed") == 0
    assert value(samples, "stepstone_run_duration_seconds_count", fn="metered-ok", status="Completed") == n
    received = [count for (metric, _), count in samples.items() if metric == "stepstone_events_received_total"]
    assert sum(received) == n + m + k + 1  # each event once (names get labels of their own once busy)
    # The held calls wait in the queue, due and unclaimed; the one in flight is claimed.
    assert value(samples, "inngest_steps_scheduled", fn="metered-limited") == k
    assert value(samples, "inngest_steps_running", fn="metered-limited") == 1
    assert value(samples, "inngest_queue_depth") == k
    assert value(samples, "stepstone_calls_in_flight") == 1
    # Every call that went out ended, by outcome; a step's call reports steps, the last one completes the run.
    for fn in ("metered-ok", "metered-boom"):
        outcomes = {
            status: value(samples, "inngest_sdk_req_ended_total", fn=fn, status=status)
            for status in ("completed", "steps", "error", "unreachable")
        }
        assert sum(outcomes.values()) == value(samples, "inngest_sdk_req_started_total", fn=fn)
    assert value(samples, "inngest_sdk_req_ended_total", fn="metered-boom", status="error") == m
    assert value(samples, "stepstone_store_transaction_seconds_count", kind="write") > 0

    gate.open.set()

    async def drained() -> Samples | None:
        samples = await scrape(harness.http)
        done = value(samples, "inngest_function_run_ended_total", fn="metered-limited", status="Completed") == k + 1
        return samples if done else None

    samples = await eventually(drained)
    assert value(samples, "inngest_function_run_started_total", fn="metered-limited") == k + 1
    assert value(samples, "stepstone_flow_held_total", fn="metered-limited", reason="concurrency") == k  # once each
    assert value(samples, "stepstone_queue_latency_seconds_count", fn="metered-limited") >= k + 1
    assert value(samples, "inngest_steps_scheduled", fn="metered-limited") == 0  # the series stays, at 0
    assert ("inngest_steps_scheduled", (("fn", "metered-limited"),)) in samples


async def test_durations_are_measured_on_the_engine_clock(metered: tuple[Harness, Gate]) -> None:
    harness, gate = metered
    event_id = await harness.send("metered/slow")
    await eventually(lambda: _true(gate.entered == 1))
    await harness.advance(timedelta(seconds=30))  # the step "slow" takes 30 s, "quick" none
    gate.open.set()
    await harness.wait_run(event_id)
    samples = await scrape(harness.http)
    assert value(samples, "stepstone_step_duration_seconds_count", fn="metered-slow") == 2
    assert value(samples, "stepstone_step_duration_seconds_sum", fn="metered-slow") == 30
    assert value(samples, "stepstone_run_duration_seconds_sum", fn="metered-slow", status="Completed") == 30


async def _true(condition: bool) -> bool | None:
    return True if condition else None


async def test_openmetrics_when_asked_and_liveness(metered: tuple[Harness, Gate]) -> None:
    harness, _ = metered
    response = await harness.http.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
    assert (await harness.http.get("/live")).json() == {"status": 200, "message": "OK"}
    assert (await harness.http.get("/health")).json() == {"status": 200, "message": "OK"}


async def test_health_is_not_ready_while_draining_and_live_stays(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    await harness.start()
    try:
        harness.engine.ready, harness.engine.draining = False, True  # what `stop()` sets before it stops claiming
        answer = await harness.http.get("/health")
        assert answer.status_code == 503 and "draining" in answer.text
        assert (await harness.http.get("/live")).status_code == 200
        harness.engine.ready, harness.engine.draining = True, False
    finally:
        await harness.stop()


SIGNING_KEY = "signkey-test-" + "ab12" * 16


async def test_production_metrics_need_the_key_unless_public(tmp_path: Path) -> None:
    harness = Harness(tmp_path, dev=False, signing_key=SIGNING_KEY, event_keys=("event-key-1",))
    await harness.start()
    try:
        refused = await harness.http.get("/metrics")
        assert refused.status_code == 401
        assert SIGNING_KEY not in refused.text
        samples = await scrape(harness.http, authorization=f"Bearer {SIGNING_KEY}")
        assert ("inngest_queue_depth", ()) in samples
    finally:
        await harness.stop()
    public = Harness(tmp_path / "public", dev=False, signing_key=SIGNING_KEY, metrics_public=True)
    await public.start()
    try:
        assert (await public.http.get("/metrics")).status_code == 200
    finally:
        await public.stop()


async def test_no_metrics_is_a_404(tmp_path: Path) -> None:
    harness = Harness(tmp_path, metrics=False)
    await harness.start()
    try:
        answer = await harness.http.get("/metrics")
        assert answer.status_code == 404 and "--no-metrics" in answer.text
    finally:
        await harness.stop()


@pytest.mark.postgres
async def test_two_engines_on_postgres_add_up(postgres_dsn: str) -> None:
    clock = FakeClock(start_ms=wall_ms())
    settings = EngineSettings(poll_interval=timedelta(milliseconds=50), lease=timedelta(seconds=5))
    stores = [PostgresStore(postgres_dsn, pool_size=4) for _ in range(2)]
    engines = [Engine(store, settings, engine_clock=clock) for store in stores]
    served = [Served(create_app(engine)) for engine in engines]
    http = [httpx.AsyncClient(base_url=each.url, timeout=10) for each in served]
    gate = Gate()
    gate.open.set()
    app, client = build_app(served[0].url, gate)
    app_served = Served(app, free_socket())
    try:
        for each, engine in zip(served, engines, strict=True):
            await each.start()
            await engine.start()
        await app_served.start()
        assert await engines[0].syncer.ping(f"{app_served.url}/api/inngest") is None
        for number in range(6):  # events reach both engines: each records and starts the runs of its own
            target = http[number % 2]
            for name in ("metered/ok", "metered/boom"):
                answer = await target.post("/e/key", json={"name": name, "data": {}})
                assert answer.status_code == 200

        async def settled() -> list[Samples] | None:
            scrapes = [await scrape(each) for each in http]
            done = await ended(scrapes, "metered-ok", "Completed") == 6
            return scrapes if done and await ended(scrapes, "metered-boom", "Failed") == 6 else None

        scrapes = await eventually(settled)
        scheduled = [value(s, "inngest_function_run_scheduled_total", fn="metered-ok") for s in scrapes]
        assert sum(scheduled) == 6 and all(count == 3 for count in scheduled)  # each engine counts its own
        received = [value(s, "stepstone_events_received_total", name="other") for s in scrapes]
        assert received == [6, 6]  # 3 of each name per engine: not busy enough for labels of their own
        depths = [value(s, "inngest_queue_depth") for s in scrapes]
        assert depths == [0, 0]  # the shared queue's gauge: the same on every engine
    finally:
        for engine in engines:
            await engine.stop()
        await app_served.stop()
        for each in served:
            await each.stop()
        for each_http in http:
            await each_http.aclose()
        for store in stores:
            await store.close()
        await client.aclose()
