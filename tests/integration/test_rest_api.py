"""The REST API: run records, listing with cursors, cancel, rerun, apps, functions, OpenAPI."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

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


# The routes the CLI's management commands use: the change feed, cursors, invoke, sync by URL.


async def feed(harness: Harness, cursor: str) -> tuple[list[dict[str, Any]], str]:
    response = await harness.http.get("/v1/runs", params={"updated_after": cursor})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert isinstance(answer["cursor"], str)  # always present
    return answer["data"], answer["cursor"]


async def test_the_change_feed_follows_runs_oldest_change_first_on_both_stores(
    tmp_path: Path, backend: dict[str, Any]
) -> None:
    harness = Harness(tmp_path, backend)
    await harness.start()
    try:
        app, _ = official_app.build(harness.url, {})
        served = await harness.serve_app(app, free_socket())
        await harness.sync(f"{served.url}/api/inngest")
        assert await feed(harness, "") == ([], "0") and await feed(harness, "0") == ([], "0")
        first = await harness.send("test/three", {"n": 1})
        seen: list[tuple[str, str]] = []
        cursor = "0"

        async def follow(event_id: str) -> bool:
            nonlocal cursor
            changed, cursor = await feed(harness, cursor)
            seen.extend((run["run_id"], run["status"]) for run in changed)
            runs = await harness.runs_for(event_id)
            return bool(runs) and (runs[0]["run_id"], "Completed") in seen

        await eventually(lambda: follow(first))
        assert await feed(harness, cursor) == ([], cursor)  # nothing changed since
        second = await harness.send("test/three", {"n": 2})
        await eventually(lambda: follow(second))
        [first_run], [second_run] = await harness.runs_for(first), await harness.runs_for(second)
        assert seen.index((first_run["run_id"], "Completed")) < seen.index((second_run["run_id"], "Completed"))
        since_first = [run_id for run_id, _ in seen[seen.index((first_run["run_id"], "Completed")) + 1 :]]
        assert first_run["run_id"] not in since_first  # the first run did not change again
    finally:
        await harness.stop()


async def test_cursors_the_api_did_not_hand_out_are_400_on_every_list(harness: Harness) -> None:
    event_id = await harness.send("test/child", {"n": 1})
    await harness.wait_run(event_id)
    run_id = (await harness.runs_for(event_id))[0]["run_id"]
    bad = [
        ("/v1/runs", {"cursor": "garbage"}),
        ("/v1/runs", {"cursor": run_id.lower()}),
        ("/v1/events", {"cursor": "garbage"}),
        ("/v1/events", {"cursor": "9" * 30}),
        ("/v1/events", {"cursor": "²"}),
        ("/v1/runs", {"updated_after": "garbage"}),
        ("/v1/runs", {"updated_after": f"{'9' * 30}:{run_id}"}),
        ("/v1/runs", {"updated_after": "1:not-a-run"}),
        ("/v1/runs", {"updated_after": "0", "cursor": run_id}),
        ("/v1/runs", {"function_id": "a\x00b"}),
        ("/v1/runs/a%00b", {}),
    ]
    for path, params in bad:
        response = await harness.http.get(path, params=params)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["status"] == 400
    assert (await harness.http.get("/v1/runs", params={"cursor": run_id})).status_code == 200
    data, cursor = await feed(harness, "0")
    assert data and (await harness.http.get("/v1/runs", params={"updated_after": cursor})).json()["data"] == []
    schema = (await harness.http.get("/openapi.json")).json()
    params = {p["name"]: p for p in schema["paths"]["/v1/runs"]["get"]["parameters"]}
    assert "change feed" in params["updated_after"]["description"]


async def test_invoke_starts_a_run_of_a_function_and_answers_it(harness: Harness) -> None:
    response = await harness.http.post("/v1/functions/official-three-steps/invoke", json={"data": {"name": "x"}})
    assert response.status_code == 200, response.text
    started = response.json()["data"]
    assert started["function_id"] == "official-three-steps" and started["status"] in ("Queued", "Running")

    async def completed() -> dict[str, Any] | None:
        run = await harness.run(started["run_id"])
        return run if run["status"] == "Completed" else None

    run = await eventually(completed)
    assert run["events"][0]["name"] == "inngest/function.invoked"
    assert run["events"][0]["data"]["name"] == "x"
    # curl -d sends a form content type: the body is read as JSON all the same
    form = {"content-type": "application/x-www-form-urlencoded"}
    plain = await harness.http.post("/v1/functions/official-child/invoke", content=b"{}", headers=form)
    assert plain.status_code == 200, plain.text


async def test_invoke_refuses_unknown_and_archived_functions_and_bad_bodies(harness: Harness) -> None:
    assert (await harness.http.post("/v1/functions/nope/invoke", json={})).status_code == 404
    body = scripted_app.registration("http://127.0.0.1:9/api/inngest", fn_id="gone", event="scripted/gone")
    assert (await harness.http.post("/fn/register", json=body)).status_code == 200
    body["functions"] = []
    assert (await harness.http.post("/fn/register", json=body)).status_code == 200
    archived = await harness.http.post("/v1/functions/scripted-gone/invoke", json={"data": {}})
    assert archived.status_code == 404 and "not found" in archived.json()["error"]
    for bad in ({"data": [1]}, {"data": "x"}, [1], "x"):
        response = await harness.http.post("/v1/functions/official-child/invoke", json=bad)
        assert response.status_code == 400, (bad, response.text)


async def test_invoke_answers_202_saying_why_flow_control_started_no_run(tmp_path: Path) -> None:
    from tests.integration import flow_app

    harness = Harness(tmp_path)
    await harness.start()
    probe = flow_app.Probe()
    app, client = flow_app.build(harness.url, probe)
    try:
        served = await harness.serve_app(app, free_socket())
        await harness.sync(f"{served.url}/api/inngest")

        async def invoke(function_id: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            response = await harness.http.post(f"/v1/functions/{function_id}/invoke", json={"data": data})
            return response.status_code, response.json()

        assert (await invoke("flow-rate-limited", {"user": "u"}))[0] == 200
        status, answer = await invoke("flow-rate-limited", {"user": "u"})
        assert status == 202 and answer["data"] is None and answer["event_id"]
        assert [(s["function_id"], s["reason"]) for s in answer["skipped"]] == [("flow-rate-limited", "rate limited")]
        status, answer = await invoke("flow-debounced", {"user": "u"})
        assert status == 202 and [w["reason"] for w in answer["waiting"]] == ["debounced"] and answer["skipped"] == []
        status, holder = await invoke("flow-single-skip", {"user": "u"})
        assert status == 200
        status, answer = await invoke("flow-single-skip", {"user": "u"})
        [skip] = answer["skipped"]
        assert status == 202 and skip["run_id"] != holder["data"]["run_id"] and "singleton" in skip["reason"]
        assert (await harness.run(skip["run_id"]))["status"] == "Skipped"
    finally:
        await harness.stop()
        await client.aclose()


async def test_an_app_is_synced_by_url_through_the_api(harness: Harness) -> None:
    url = f"{harness.apps[0].url}/api/inngest"
    response = await harness.http.post("/v1/apps", json={"url": url})
    assert response.status_code == 200, response.text
    app = response.json()["data"]
    assert app["name"] == "official" and "official-three-steps" in app["functions"] and app["error"] is None
    listed = (await harness.http.get("/v1/apps")).json()["data"]
    assert app in listed
    loopback = url.replace("127.0.0.1", "localhost")
    assert (await harness.http.post("/v1/apps", json={"url": loopback})).json()["data"]["name"] == "official"


async def test_syncing_a_bad_url_is_a_4xx_that_says_why(harness: Harness) -> None:
    for url in ("ftp://host/api", "http://", "http://127.0.0.1:99999/api", "http://a b/api", "http://h\u00e9/api"):
        response = await harness.http.post("/v1/apps", json={"url": url})
        assert response.status_code == 400, (url, response.text)
        assert "invalid app URL" in response.json()["error"]
    for body in ({}, {"url": 5}, {"url": ""}, []):
        assert (await harness.http.post("/v1/apps", json=body)).status_code == 400
    with free_socket() as sock:  # closed again: nothing listens there
        nobody = f"http://127.0.0.1:{sock.getsockname()[1]}/api/inngest"
    down = await harness.http.post("/v1/apps", json={"url": nobody})
    assert down.status_code == 422 and "did not sync" in down.json()["error"]
    not_an_app = await harness.http.post("/v1/apps", json={"url": f"{harness.url}/health"})
    assert not_an_app.status_code == 422 and "answered the sync with" in not_an_app.json()["error"]


async def test_the_management_routes_are_in_the_openapi_document_with_request_schemas(harness: Harness) -> None:
    schema = (await harness.http.get("/openapi.json")).json()
    for path, model in (("/v1/functions/{function_id}/invoke", "InvokeRequest"), ("/v1/apps", "AppSyncRequest")):
        body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body["$ref"] == f"#/components/schemas/{model}"
    assert schema["components"]["schemas"]["AppSyncRequest"]["required"] == ["url"]
    assert schema["components"]["schemas"]["InvokeRequest"]["properties"]["data"]["type"] == "object"
