"""The REST endpoints behind the dashboard, over real HTTP on both stores: pausing and resuming a function,
removing an app, a function's detail (flow control in words, next cron tick, 24 h stats), runs search
(app, time range, CEL `if` with a scan limit), "filtered out by if" skips, `GET /v1/info`, and 503s for
a store that cannot serve."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import fastapi
import pytest

import stepstone
import stepstone.fastapi
from stepstone.server.store.errors import SchemaError, StoreUnavailable
from tests.harness import Harness, eventually, free_socket
from tests.integration import scripted_app


class Gates:
    """Step bodies labelled with a gate's name wait until the test opens it."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.began: list[str] = []

    def gate(self, name: str) -> asyncio.Event:
        return self.gates.setdefault(name, asyncio.Event())

    async def body(self, label: str) -> str:
        self.began.append(label)
        if label in self.gates:
            await self.gates[label].wait()
        return label


def build(engine_url: str, gates: Gates) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    client = stepstone.Stepstone(app_id="dash", is_dev=True, base_url=engine_url, environ={})

    @client.create_function(
        fn_id="worker",
        trigger=stepstone.TriggerEvent(event="dash/go"),
        concurrency=[stepstone.Concurrency(limit=1)],
    )
    async def worker(ctx: stepstone.Context) -> dict[str, Any]:
        label = str(ctx.event.data.get("label", "x"))
        await ctx.step.run("a", gates.body, f"{label}/a")
        if ctx.event.data.get("nap"):
            await ctx.step.sleep("nap", "1m")  # the call ends here: the wake enqueues the next one
        await ctx.step.run("b", gates.body, f"{label}/b")
        return {"label": label, "n": ctx.event.data.get("n")}

    @client.create_function(
        fn_id="picky", trigger=stepstone.TriggerEvent(event="dash/pick", expression="event.data.x == 1")
    )
    async def picky(ctx: stepstone.Context) -> str:
        return "picked"

    @client.create_function(
        fn_id="ticker",
        trigger=stepstone.TriggerCron(cron="0 * * * *"),
        concurrency=[stepstone.Concurrency(limit=5, key="event.data.account_id")],
        throttle=stepstone.Throttle(limit=10, period=timedelta(minutes=1)),
        retries=2,
    )
    async def ticker(ctx: stepstone.Context) -> str:
        return "tick"

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [worker, picky, ticker])
    return app, client


@pytest.fixture
async def setup(tmp_path: Path, backend: dict[str, Any]):
    harness = Harness(tmp_path, backend)
    await harness.start()
    gates = Gates()
    app, client = build(harness.url, gates)
    served = await harness.serve_app(app, free_socket())
    harness.app_url = f"{served.url}/api/inngest"  # type: ignore[attr-defined]
    await harness.sync(harness.app_url)  # type: ignore[attr-defined]
    yield harness, gates
    for gate in gates.gates.values():
        gate.set()
    await harness.stop()
    await client.aclose()


async def function(harness: Harness, function_id: str) -> dict[str, Any]:
    response = await harness.http.get(f"/v1/functions/{function_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["data"]
    return found


async def skips(harness: Harness, event_id: str) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]]:
        answer = (await harness.http.get(f"/v1/events/{event_id}/runs")).json()
        found: list[dict[str, Any]] = answer["skipped"]
        return found

    return await eventually(check)


async def test_a_paused_function_starts_no_runs_and_its_runs_wait_until_it_resumes(setup: Any) -> None:
    harness, gates = setup
    gate = gates.gate("first/a")
    first = await harness.send("dash/go", {"label": "first", "nap": True})
    await eventually(lambda: asyncio.sleep(0, "first/a" in gates.began))
    second = await harness.send("dash/go", {"label": "second", "nap": True})  # waits behind the concurrency limit of 1
    await harness.wait_run(second, status="Queued")

    paused = await harness.http.post("/v1/functions/dash-worker/pause")
    assert paused.status_code == 200, paused.text
    view = paused.json()["data"]
    assert view["paused"] is True and view["paused_at"] is not None and view["id"] == "dash-worker"
    assert (await harness.http.post("/v1/functions/dash-worker/pause")).json()["data"]["paused"] is True

    later = await harness.send("dash/go", {"label": "later"})
    assert [(s["function_id"], s["reason"]) for s in await skips(harness, later)] == [
        ("dash-worker", "function paused")
    ]
    assert await harness.runs_for(later) == []
    invoked = await harness.http.post("/v1/functions/dash-worker/invoke", json={"data": {"label": "inv"}})
    assert invoked.status_code == 202 and invoked.json()["skipped"][0]["reason"] == "function paused"

    gate.set()  # the first run's step a ends, then its nap; its step b waits for the resume
    await eventually(lambda: _with_step(harness, first, "nap", "Sleeping"))
    await harness.advance(timedelta(minutes=2))
    run = await eventually(lambda: _with_step(harness, first, "nap", "Completed"))
    assert run["status"] == "Running"
    waiting = (await harness.runs_for(second))[0]
    assert waiting["status"] == "Queued" and waiting["reason"] == "function paused"
    listed = (await harness.http.get("/v1/runs", params={"function_id": "dash-worker", "status": "Queued"})).json()
    assert [r["reason"] for r in listed["data"]] == ["function paused"]
    assert "first/b" not in gates.began

    resumed = await harness.http.post("/v1/functions/dash-worker/resume")
    assert resumed.status_code == 200 and resumed.json()["data"]["paused"] is False
    assert (await harness.wait_run(first))["output"] == {"label": "first", "n": None}
    await harness.wait_run(second, status="Running")  # asleep
    await harness.advance(timedelta(minutes=2))
    assert (await harness.wait_run(second))["output"] == {"label": "second", "n": None}

    for path in ("/v1/functions/nope/pause", "/v1/functions/nope/resume"):
        missing = await harness.http.post(path)
        assert missing.status_code == 404 and "nope" in missing.json()["error"]


async def _with_step(harness: Harness, event_id: str, step_id: str, status: str) -> dict[str, Any] | None:
    runs = await harness.runs_for(event_id)
    if not runs:
        return None
    run = await harness.run(runs[0]["run_id"])
    done = [s for s in run["steps"] if s["id"] == step_id and s["status"] == status]
    return run if done else None


async def test_a_pause_survives_a_sync_that_changes_the_function(setup: Any) -> None:
    harness, _ = setup
    body = scripted_app.registration("http://127.0.0.1:9/api/inngest", fn_id="p", event="scripted/p1")
    assert (await harness.http.post("/fn/register", json=body)).status_code == 200
    assert (await harness.http.post("/v1/functions/scripted-p/pause")).status_code == 200
    body["functions"][0]["triggers"] = [{"event": "scripted/p2"}]
    assert (await harness.http.post("/fn/register", json=body)).json()["modified"] is True
    view = await function(harness, "scripted-p")
    assert view["paused"] is True and view["triggers"] == [{"event": "scripted/p2"}] and view["version"] == 2
    event_id = await harness.send("scripted/p2")
    assert [s["reason"] for s in await skips(harness, event_id)] == ["function paused"]


async def test_a_paused_cron_function_records_its_ticks_as_skipped(setup: Any) -> None:
    harness, _ = setup
    assert (await harness.http.post("/v1/functions/dash-ticker/pause")).status_code == 200
    await harness.advance(timedelta(hours=1))

    async def tick_skipped() -> list[dict[str, Any]] | None:
        events = (await harness.http.get("/v1/events", params={"name": "inngest/scheduled.timer"})).json()["data"]
        if not events:
            return None
        found: list[dict[str, Any]] = (await harness.http.get(f"/v1/events/{events[0]['internal_id']}/runs")).json()[
            "skipped"
        ]
        return found

    assert [s["reason"] for s in await eventually(tick_skipped)] == ["function paused"]
    runs = (await harness.http.get("/v1/runs", params={"function_id": "dash-ticker"})).json()["data"]
    assert runs == []


async def test_removing_an_app_archives_its_functions_until_it_syncs_again(setup: Any) -> None:
    harness, _ = setup
    removed = await harness.http.delete("/v1/apps/dash")
    assert removed.status_code == 200, removed.text
    assert removed.json()["data"]["name"] == "dash"
    assert (await harness.http.get("/v1/apps")).json()["data"] == []
    assert (await harness.http.get("/v1/functions")).json()["data"] == []
    assert (await function(harness, "dash-worker"))["archived"] is True
    assert await harness.runs_for(await harness.send("dash/go")) == []
    assert (await harness.http.delete("/v1/apps/dash")).status_code == 404
    assert (await harness.http.post("/v1/apps", json={"url": harness.app_url})).status_code == 200
    apps = (await harness.http.get("/v1/apps")).json()["data"]
    assert [app["name"] for app in apps] == ["dash"] and "dash-worker" in apps[0]["functions"]
    assert (await function(harness, "dash-worker"))["archived"] is False
    await harness.wait_run(await harness.send("dash/go"))


async def test_a_function_says_its_flow_control_next_tick_and_recent_runs(setup: Any) -> None:
    harness, _ = setup
    for n in range(3):
        await harness.wait_run(await harness.send("dash/go", {"n": n}))
    view = await function(harness, "dash-worker")
    assert view["flow"] == ["at most 1 step at once", "4 retries per step"]
    assert view["stats"]["window"] == "24h" and view["stats"]["counts"]["Completed"] == 3
    assert view["stats"]["counts"]["Failed"] == 0 and view["stats"]["failure_rate"] == 0.0
    assert view["next_cron"] is None and view["app"] == "dash"
    ticker = await function(harness, "dash-ticker")
    assert "at most 5 steps at once per account_id" in ticker["flow"]
    assert any(words.startswith("at most 10 runs per 1m") and "(throttle)" in words for words in ticker["flow"])
    assert "2 retries per step" in ticker["flow"]
    assert ticker["next_cron"].endswith(":00:00.000Z") and ticker["stats"]["failure_rate"] is None
    listed = {fn["id"]: fn for fn in (await harness.http.get("/v1/functions")).json()["data"]}
    assert listed["dash-worker"]["stats"] == view["stats"] and listed["dash-ticker"]["flow"] == ticker["flow"]
    assert listed["dash-picky"]["triggers"] == [{"event": "dash/pick", "expression": "event.data.x == 1"}]
    missing = await harness.http.get("/v1/functions/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]


async def test_an_event_filtered_out_by_if_lists_the_function_as_skipped(setup: Any) -> None:
    harness, _ = setup
    event_id = await harness.send("dash/pick", {"x": 2})
    assert [(s["function_id"], s["reason"]) for s in await skips(harness, event_id)] == [
        ("dash-picky", "filtered out by if: event.data.x == 1")
    ]
    assert (await harness.wait_run(await harness.send("dash/pick", {"x": 1})))["output"] == "picked"


async def test_runs_search_by_app_time_and_expression(setup: Any) -> None:
    harness, _ = setup
    start = (await harness.http.get("/dev")).json()["now"]
    ids = []
    for n in range(6):
        ids.append(await harness.send("dash/go", {"n": n, "account_id": f"a-{n % 2}"}))
        await harness.advance(timedelta(seconds=10))
    middle = (await harness.http.get("/dev")).json()["now"]
    for event_id in ids:
        await harness.wait_run(event_id)
    await harness.wait_run(await harness.send("dash/pick", {"x": 1}))

    async def page(**params: Any) -> dict[str, Any]:
        response = await harness.http.get("/v1/runs", params=params)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    assert len((await page(app_id="dash"))["data"]) == 7
    assert (await page(app_id="nope"))["data"] == []
    assert len((await page(started_after=start, function_id="dash-worker"))["data"]) == 6
    assert (await page(started_before=start))["data"] == []
    early = await page(started_after=start, started_before=middle, function_id="dash-worker")
    assert len(early["data"]) == 6
    found = await page(**{"if": 'event.data.account_id == "a-1"'})
    assert [run["output"]["n"] for run in found["data"]] == [5, 3, 1]
    assert found["search"] == {"scanned": 7, "limit": 5_000, "stopped": False} and found["cursor"] is None
    assert [r["output"]["n"] for r in (await page(**{"if": "output.n == 4"}))["data"]] == [4]

    first = await page(**{"if": "event.data.n == 0", "search_limit": 3})
    assert first["data"] == [] and first["search"] == {"scanned": 3, "limit": 3, "stopped": True}
    second = await page(**{"if": "event.data.n == 0", "search_limit": 3, "cursor": first["cursor"]})
    assert second["data"] == [] and second["search"]["stopped"] is True
    third = await page(**{"if": "event.data.n == 0", "search_limit": 3, "cursor": second["cursor"]})
    assert [run["output"]["n"] for run in third["data"]] == [0] and third["search"]["stopped"] is False

    paged = await page(**{"if": "event.data.n >= 2", "limit": 2})
    assert [r["output"]["n"] for r in paged["data"]] == [5, 4] and paged["cursor"] == paged["data"][-1]["run_id"]
    rest = await page(**{"if": "event.data.n >= 2", "limit": 2, "cursor": paged["cursor"]})
    assert [r["output"]["n"] for r in rest["data"]] == [3, 2]

    bad = await harness.http.get("/v1/runs", params={"if": "event.data.n ==="})
    assert bad.status_code == 400 and "invalid `if` expression" in bad.json()["error"]
    bad_time = await harness.http.get("/v1/runs", params={"started_after": "yesterday"})
    assert bad_time.status_code == 400 and "started_after" in bad_time.json()["error"]
    feed = await harness.http.get("/v1/runs", params={"updated_after": "0", "if": "true"})
    assert feed.status_code == 400


async def test_info_says_what_the_engine_is(setup: Any) -> None:
    harness, _ = setup
    info = (await harness.http.get("/v1/info")).json()["data"]
    assert info["mode"] == "dev" and info["retention"] == "30 days" and info["retention_seconds"] == 30 * 86400
    assert info["search_limit"] == 5_000 and info["store"] == harness.backend["kind"]
    assert isinstance(info["version"], str) and info["version"]


@pytest.mark.parametrize("failure", [StoreUnavailable("the store is closed"), SchemaError("needs an upgrade")])
async def test_a_store_that_cannot_serve_is_a_503_with_a_message(
    tmp_path: Path, failure: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness(tmp_path)
    await harness.start()
    try:

        async def broken(script: Any) -> Any:
            raise failure

        harness.engine.store.read = broken  # type: ignore[method-assign]
        response = await harness.http.get("/v1/runs")
        assert response.status_code == 503
        assert str(failure) in response.json()["error"]
        api_logs = [record for record in caplog.records if record.name == "stepstone.api"]
        assert [record.levelname for record in api_logs] == ["WARNING"] and api_logs[0].exc_info is None
    finally:
        await harness.stop()
