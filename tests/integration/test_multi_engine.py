"""Three engines in one process, sharing one PostgreSQL database: what must happen once, happens once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import fastapi
import httpx
import pytest

import stepstone
import stepstone.fastapi
from stepstone.server.api.app import create_app
from stepstone.server.core.clock import FakeClock, wall_ms
from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine
from stepstone.server.store.postgres.store import PostgresStore
from tests.harness import Served, eventually, free_socket
from tests.integration.flow_app import Probe


class Cluster:
    def __init__(self, dsn: str) -> None:
        self.clock = FakeClock(start_ms=wall_ms())
        settings = EngineSettings(poll_interval=timedelta(milliseconds=50), lease=timedelta(seconds=5))
        self.stores = [PostgresStore(dsn, pool_size=4) for _ in range(3)]
        self.engines = [Engine(store, settings, engine_clock=self.clock) for store in self.stores]
        self.served = [Served(create_app(engine)) for engine in self.engines]
        self.http = [httpx.AsyncClient(base_url=served.url, timeout=10) for served in self.served]
        self.app: Served | None = None

    async def start(self, app: fastapi.FastAPI) -> None:
        for served, engine in zip(self.served, self.engines, strict=True):
            await served.start()
            await engine.start()
        self.app = Served(app, free_socket())
        await self.app.start()
        assert await self.engines[0].syncer.ping(f"{self.app.url}/api/inngest") is None

    async def runs(self, function_id: str) -> list[dict[str, Any]]:
        answer = await self.http[0].get("/v1/runs", params={"function_id": function_id, "limit": 500})
        runs: list[dict[str, Any]] = answer.json()["data"]
        return runs

    async def stop(self) -> None:
        for engine in self.engines:
            await engine.stop()
        if self.app is not None:
            await self.app.stop()
        for served in self.served:
            await served.stop()
        for client in self.http:
            await client.aclose()
        for store in self.stores:
            await store.close()


PROBE = Probe()


def build_app(engine_url: str) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    client = stepstone.Stepstone(app_id="multi", is_dev=True, base_url=engine_url, environ={})

    @client.create_function(fn_id="tick", trigger=stepstone.TriggerCron(cron="*/5 * * * *"))
    async def tick(ctx: stepstone.Context) -> str:
        return ctx.event.name

    @client.create_function(fn_id="once", trigger=stepstone.TriggerEvent(event="multi/once"))
    async def once(ctx: stepstone.Context) -> Any:
        return await ctx.step.run("work", lambda: ctx.event.data)

    @client.create_function(
        fn_id="limited",
        trigger=stepstone.TriggerEvent(event="multi/limited"),
        concurrency=[stepstone.Concurrency(limit=3, key="event.data.tenant")],
    )
    async def limited(ctx: stepstone.Context) -> Any:
        tenant = str(ctx.event.data["tenant"])
        first = await ctx.step.run("one", PROBE.body, tenant, f"{ctx.event.id}/one")
        await ctx.step.run("two", PROBE.body, tenant, f"{ctx.event.id}/two")
        return first

    @client.create_function(
        fn_id="rated",
        trigger=stepstone.TriggerEvent(event="multi/rated"),
        rate_limit=stepstone.RateLimit(limit=1, period="1h", key="event.data.key"),
    )
    async def rated(ctx: stepstone.Context) -> Any:
        return ctx.event.data

    @client.create_function(
        fn_id="single",
        trigger=stepstone.TriggerEvent(event="multi/single"),
        singleton=stepstone.Singleton(mode="skip", key="event.data.key"),
    )
    async def single(ctx: stepstone.Context) -> Any:
        await ctx.step.sleep("hold", "1h")
        return ctx.event.data

    @client.create_function(
        fn_id="debounced",
        trigger=stepstone.TriggerEvent(event="multi/debounced"),
        debounce=stepstone.Debounce(period="1m", key="event.data.key"),
    )
    async def debounced(ctx: stepstone.Context) -> Any:
        return ctx.event.data

    @client.create_function(fn_id="wait", trigger=stepstone.TriggerEvent(event="multi/wait"))
    async def wait(ctx: stepstone.Context) -> Any:
        got = await ctx.step.wait_for_event(
            "ok", event="multi/ok", timeout="1h", if_exp="async.data.key == event.data.key"
        )
        return None if got is None else got.data

    @client.create_function(fn_id="signalled", trigger=stepstone.TriggerEvent(event="multi/signalled"))
    async def signalled(ctx: stepstone.Context) -> Any:
        got = await ctx.step.wait_for_signal("go", signal=f"go-{ctx.event.data['key']}", timeout="1h")
        return None if got is None else got.data

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [tick, once, limited, rated, single, debounced, wait, signalled])
    return app, client


@pytest.fixture
async def cluster(postgres_dsn: str) -> AsyncIterator[Cluster]:
    cluster = Cluster(postgres_dsn)
    app, client = build_app(cluster.served[0].url)
    await cluster.start(app)
    yield cluster
    await cluster.stop()
    await client.aclose()


async def test_a_cron_tick_starts_one_run_across_engines(cluster: Cluster) -> None:
    cluster.clock.advance(timedelta(minutes=5))
    runs = await eventually(lambda: cluster.runs("multi-tick"))
    await asyncio.sleep(0.5)  # every engine has had time to claim the tick
    runs = await cluster.runs("multi-tick")
    assert len(runs) == 1


async def test_one_event_id_sent_to_two_engines_at_once_starts_one_run(cluster: Cluster) -> None:
    event = {"name": "multi/once", "id": "order-42", "data": {"n": 1}}
    answers = await asyncio.gather(*(client.post("/e/k", json=event) for client in cluster.http))
    assert all(answer.status_code == 200 for answer in answers)

    async def completed() -> list[dict[str, Any]] | None:
        runs = await cluster.runs("multi-once")
        return runs if runs and all(run["status"] == "Completed" for run in runs) else None

    await eventually(completed)
    await asyncio.sleep(0.3)
    assert len(await cluster.runs("multi-once")) == 1


async def test_a_wait_resumes_once_when_matching_events_reach_two_engines_at_once(cluster: Cluster) -> None:
    start = await cluster.http[0].post("/e/k", json={"name": "multi/wait", "data": {"key": "k1"}})
    event_id = start.json()["ids"][0]

    async def waiting() -> bool:
        runs = (await cluster.http[0].get(f"/v1/events/{event_id}/runs")).json()["data"]
        if not runs:
            return False
        steps = (await cluster.http[0].get(f"/v1/runs/{runs[0]['run_id']}")).json()["data"]["steps"]
        return bool(steps) and steps[0]["status"] == "Waiting"

    await eventually(waiting)
    await asyncio.gather(
        cluster.http[1].post("/e/k", json={"name": "multi/ok", "data": {"key": "k1", "from": "engine 1"}}),
        cluster.http[2].post("/e/k", json={"name": "multi/ok", "data": {"key": "k1", "from": "engine 2"}}),
    )

    async def done() -> dict[str, Any] | None:
        runs = (await cluster.http[0].get(f"/v1/events/{event_id}/runs")).json()["data"]
        return runs[0] if runs and runs[0]["status"] == "Completed" else None

    run = await eventually(done)
    assert run["output"]["from"] in ("engine 1", "engine 2")
    detail = (await cluster.http[0].get(f"/v1/runs/{run['run_id']}")).json()["data"]
    assert [step["id"] for step in detail["steps"]] == ["ok"] and detail["attempts"] == []
    finished = (await cluster.http[0].get("/v1/events", params={"name": "inngest/function.finished"})).json()
    assert [e["data"]["run_id"] for e in finished["data"]].count(run["run_id"]) == 1


async def test_a_signal_sent_to_two_engines_at_once_resumes_its_run_once(cluster: Cluster) -> None:
    start = await cluster.http[0].post("/e/k", json={"name": "multi/signalled", "data": {"key": "s1"}})
    [run] = await eventually(lambda: _waiting_runs(cluster, "multi-signalled"))
    answers = await asyncio.gather(
        cluster.http[1].post("/v1/signals", json={"signal": "go-s1", "data": "engine 1"}),
        cluster.http[2].post("/v1/signals", json={"signal": "go-s1", "data": "engine 2"}),
    )
    assert sorted(answer.status_code for answer in answers) == [200, 404]
    [took] = [answer.json()["data"]["run_id"] for answer in answers if answer.status_code == 200]
    assert took == run["run_id"]

    async def done() -> dict[str, Any] | None:
        runs = (await cluster.http[0].get(f"/v1/events/{start.json()['ids'][0]}/runs")).json()["data"]
        return runs[0] if runs and runs[0]["status"] == "Completed" else None

    finished = await eventually(done)
    assert finished["output"] in ("engine 1", "engine 2")


async def test_two_waits_for_one_signal_started_on_two_engines_at_once_one_fails(cluster: Cluster) -> None:
    await asyncio.gather(
        cluster.http[1].post("/e/k", json={"name": "multi/signalled", "data": {"key": "s2", "n": 1}}),
        cluster.http[2].post("/e/k", json={"name": "multi/signalled", "data": {"key": "s2", "n": 2}}),
    )

    async def settled() -> list[dict[str, Any]] | None:
        runs = await cluster.runs("multi-signalled")
        failed = [run for run in runs if run["status"] == "Failed"]
        waiting = await _waiting_runs(cluster, "multi-signalled")
        return runs if len(failed) == 1 and len(waiting) == 1 else None

    runs = await eventually(settled)
    [failed] = [run for run in runs if run["status"] == "Failed"]
    assert failed["output"]["name"] == "SignalConflictError"
    [waiting] = await _waiting_runs(cluster, "multi-signalled")
    answer = await cluster.http[0].post("/v1/signals", json={"signal": "go-s2"})
    assert answer.json() == {"data": {"run_id": waiting["run_id"]}}


async def _waiting_runs(cluster: Cluster, function_id: str) -> list[dict[str, Any]]:
    """The runs of the function whose one step waits."""
    found = []
    for run in await cluster.runs(function_id):
        steps = (await cluster.http[0].get(f"/v1/runs/{run['run_id']}")).json()["data"]["steps"]
        if steps and steps[0]["status"] == "Waiting":
            found.append(run)
    return found


async def test_first_syncs_of_one_app_at_three_engines_at_once_all_succeed(cluster: Cluster) -> None:
    from tests.integration import scripted_app

    body = scripted_app.registration("http://127.0.0.1:9/api/inngest", fn_id="raced", event="multi/raced")
    answers = await asyncio.gather(*(client.post("/fn/register", json=body) for client in cluster.http * 3))
    assert [answer.status_code for answer in answers] == [200] * 9, [a.text for a in answers]
    assert sum(answer.json()["modified"] for answer in answers) == 1


async def test_a_concurrency_limit_holds_across_three_engines(cluster: Cluster) -> None:
    PROBE.most.clear()
    events = [{"name": "multi/limited", "data": {"tenant": f"t{n % 2}"}} for n in range(60)]
    answers = await asyncio.gather(*(cluster.http[n % 3].post("/e/k", json=events[n::3]) for n in range(3)))
    assert all(answer.status_code == 200 for answer in answers)

    async def completed() -> bool:
        runs = await cluster.runs("multi-limited")
        return len(runs) == 60 and all(run["status"] == "Completed" for run in runs)

    await eventually(completed, timeout=60)
    assert PROBE.most["t0"] <= 3 and PROBE.most["t1"] <= 3  # the app saw no more than the limit at once


async def send_everywhere(cluster: Cluster, name: str, count: int) -> None:
    """`count` events of one key, sent to the three engines at once."""
    events = [{"name": name, "data": {"key": "k", "n": n}} for n in range(count)]
    answers = await asyncio.gather(*(cluster.http[n % 3].post("/e/k", json=[event]) for n, event in enumerate(events)))
    assert all(answer.status_code == 200 for answer in answers)


async def test_a_rate_limit_admits_one_event_across_three_engines(cluster: Cluster) -> None:
    await send_everywhere(cluster, "multi/rated", 30)
    await eventually(lambda: cluster.runs("multi-rated"))
    await asyncio.sleep(0.3)
    assert len(await cluster.runs("multi-rated")) == 1


async def test_a_singleton_key_admits_one_run_across_three_engines(cluster: Cluster) -> None:
    await send_everywhere(cluster, "multi/single", 30)

    async def all_created() -> list[dict[str, Any]] | None:
        runs = await cluster.runs("multi-single")
        return runs if len(runs) == 30 else None

    runs = await eventually(all_created)
    assert sorted(run["status"] for run in runs).count("Skipped") == 29


async def test_a_debounce_window_starts_one_run_across_three_engines(cluster: Cluster) -> None:
    await send_everywhere(cluster, "multi/debounced", 30)
    cluster.clock.advance(timedelta(minutes=2))
    runs = await eventually(lambda: cluster.runs("multi-debounced"))
    await asyncio.sleep(0.3)
    assert len(await cluster.runs("multi-debounced")) == 1 and len(runs) == 1
