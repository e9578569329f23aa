"""The REST API: run records, listing with cursors, cancel, rerun, apps, functions, OpenAPI."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from tests.harness import Harness, eventually, free_socket
from tests.integration import official_app, scripted_app

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
async def harness(tmp_path: Path):
    harness = Harness(tmp_path)
    await harness.start()
    app, _ = official_app.build(harness.url, {})
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield harness
    await harness.stop()


async def test_a_run_record_has_every_field(harness: Harness) -> None:
    event_id = await harness.send("test/three", {"name": "x"})
    run = await harness.wait_run(event_id)
    assert run["function_id"] == "official-three-steps"
    assert run["event_id"] == event_id
    assert run["events"][0]["name"] == "test/three" and run["events"][0]["data"] == {"name": "x"}
    assert ISO.match(run["started_at"]) and ISO.match(run["ended_at"])
    assert run["function_version"] == 1
    first = run["steps"][0]
    assert first["op"] == "StepRun" and first["status"] == "Completed" and first["output"] == 1
    assert first["error"] is None and ISO.match(first["started_at"]) and ISO.match(first["ended_at"])
    assert run["steps"][2]["id"] == "first" and run["steps"][2]["index"] == 1


async def test_listing_runs_pages_with_a_cursor_and_filters(harness: Harness) -> None:
    ids = [await harness.send("test/child", {"n": n}) for n in range(5)]
    for event_id in ids:
        await harness.wait_run(event_id)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"function_id": "official-child", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await harness.http.get("/v1/runs", params=params)).json()
        seen += [run["run_id"] for run in page["data"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    completed = (await harness.http.get("/v1/runs", params={"status": "Completed"})).json()["data"]
    assert len(completed) == 5
    assert (await harness.http.get("/v1/runs", params={"status": "Failed"})).json()["data"] == []
    bad = await harness.http.get("/v1/runs", params={"status": "Sleeping"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]


async def test_cancel_and_rerun(harness: Harness) -> None:
    event_id = await harness.send("test/sleep")
    run = await harness.wait_run(event_id, status="Running")
    cancelled = await harness.http.delete(f"/v1/runs/{run['run_id']}")
    assert cancelled.status_code == 200 and cancelled.json()["data"]["status"] == "Cancelled"
    assert (await harness.http.delete(f"/v1/runs/{run['run_id']}")).status_code == 409
    assert (await harness.http.delete("/v1/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV")).status_code == 404
    rerun = (await harness.http.post(f"/v1/runs/{run['run_id']}/rerun")).json()["data"]
    assert rerun["original_run_id"] == run["run_id"] and rerun["run_id"] != run["run_id"]
    await harness.advance(timedelta(hours=2))

    async def rerun_done():
        record = await harness.run(rerun["run_id"])
        return record if record["status"] == "Completed" else None

    assert (await eventually(rerun_done))["output"] == "rested"


async def test_unknown_ids_are_404_with_a_json_body(harness: Harness) -> None:
    for path in ("/v1/runs/nope", "/v1/events/nope", "/v1/events/nope/runs"):
        response = await harness.http.get(path)
        assert response.status_code == 404 and "not found" in response.json()["error"]


async def test_apps_and_functions(harness: Harness) -> None:
    apps = (await harness.http.get("/v1/apps")).json()["data"]
    assert [app["name"] for app in apps] == ["official"]
    assert "official-three-steps" in apps[0]["functions"] and apps[0]["error"] is None
    functions = (await harness.http.get("/v1/functions")).json()["data"]
    three = next(fn for fn in functions if fn["id"] == "official-three-steps")
    assert three["triggers"] == [{"event": "test/three"}] and three["app"] == "official"


async def test_a_resync_without_a_function_stops_it_triggering(harness: Harness) -> None:
    url = "http://127.0.0.1:9/api/inngest"
    body = scripted_app.registration(url, fn_id="a", event="scripted/a")
    assert (await harness.http.post("/fn/register", json=body)).json()["modified"] is True
    assert (await harness.http.post("/fn/register", json=body)).json()["modified"] is False
    body["functions"] = []
    assert (await harness.http.post("/fn/register", json=body)).status_code == 200
    event_id = await harness.send("scripted/a")
    assert (await harness.runs_for(event_id)) == []
    functions = (await harness.http.get("/v1/functions", params={"include_archived": True})).json()["data"]
    assert next(fn for fn in functions if fn["id"] == "scripted-a")["archived"] is True


async def test_an_invalid_sync_changes_nothing_and_says_why(harness: Harness) -> None:
    body = scripted_app.registration("http://127.0.0.1:9/api/inngest", fn_id="b", event="scripted/b")
    body["functions"][0]["triggers"][0]["expression"] = "event.data.x ==="
    body["functions"].append({**body["functions"][0], "id": "scripted-c", "triggers": [{"cron": "@daily"}]})
    response = await harness.http.post("/fn/register", json=body)
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert any("function 'scripted-b': triggers[0].expression" in p for p in problems)
    assert any("function 'scripted-c': triggers[0].cron" in p for p in problems)
    functions = (await harness.http.get("/v1/functions")).json()["data"]
    assert not any(fn["id"].startswith("scripted-") for fn in functions)
    apps = (await harness.http.get("/v1/apps")).json()["data"]
    assert next(app for app in apps if app["name"] == "scripted")["error"]


async def test_concurrent_syncs_of_different_apps_do_not_clobber_each_other(harness: Harness) -> None:
    import asyncio

    bodies = []
    for name in ("one", "two", "three"):
        body = scripted_app.registration(f"http://127.0.0.1:9/{name}", fn_id=name, event=f"scripted/{name}")
        body["appName"] = name
        body["functions"][0]["id"] = f"{name}-fn"
        bodies.append(body)
    answers = await asyncio.gather(*(harness.http.post("/fn/register", json=b) for b in bodies * 3))
    assert all(answer.status_code == 200 for answer in answers)
    functions = {fn["id"] for fn in (await harness.http.get("/v1/functions")).json()["data"]}
    assert {"one-fn", "two-fn", "three-fn"} <= functions


async def test_openapi_covers_every_route(harness: Harness) -> None:
    schema = (await harness.http.get("/openapi.json")).json()
    paths = set(schema["paths"])
    for path in (
        "/e/{event_key}",
        "/fn/register",
        "/health",
        "/v0/runs/{run_id}/batch",
        "/v0/runs/{run_id}/actions",
        "/v1/checkpoint/{run_id}/async",
        "/v1/events",
        "/v1/events/{event_id}",
        "/v1/events/{event_id}/runs",
        "/v1/runs",
        "/v1/runs/{run_id}",
        "/v1/runs/{run_id}/rerun",
        "/v1/apps",
        "/v1/functions",
        "/dev/clock/advance",
    ):
        assert path in paths, path
    assert "EventIn" in schema["components"]["schemas"]


async def test_health(harness: Harness) -> None:
    response = await harness.http.get("/health")
    assert response.json() == {"status": 200, "message": "OK"}
    assert response.headers["x-inngest-server-kind"] == "dev"


async def test_an_empty_cursor_means_the_first_page(harness: Harness) -> None:
    event_id = await harness.send("test/child", {"n": 1})
    await harness.wait_run(event_id)
    assert len((await harness.http.get("/v1/runs", params={"cursor": ""})).json()["data"]) == 1
    assert len((await harness.http.get("/v1/events", params={"cursor": ""})).json()["data"]) >= 1
    assert (await harness.http.get("/v1/events", params={"cursor": "x"})).status_code == 400
