"""The audit log: every action through the REST API recorded with who, what, when and how it ended, newest first,
never with a request's data; on both stores, in dev mode and with an API key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stepstone.protocol import durations
from tests.harness import Harness, eventually, free_socket
from tests.integration import official_app

SIGNING_KEY = "signkey-test-" + "cd34" * 16


async def audit(harness: Harness, **params: Any) -> dict[str, Any]:
    answer = await harness.http.get("/v1/audit", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def recorded(harness: Harness, count: int) -> list[dict[str, Any]]:
    """The newest `count` records, once there are that many (a record is written once its answer is sent)."""

    async def check() -> list[dict[str, Any]] | None:
        data: list[dict[str, Any]] = (await audit(harness, limit=500))["data"]
        return data[:count] if len(data) >= count else None

    return await eventually(check)


@pytest.fixture
async def setup(tmp_path: Path, backend: dict[str, Any]):
    harness = Harness(tmp_path, backend)
    await harness.start()
    app, _ = official_app.build(harness.url, {})
    served = await harness.serve_app(app, free_socket())
    yield harness, f"{served.url}/api/inngest"
    await harness.stop()


async def test_every_action_is_recorded_with_who_what_when_and_the_outcome(setup) -> None:
    harness, app_url = setup
    http = harness.http
    synced = await http.post("/v1/apps", json={"url": app_url})
    assert synced.status_code == 200, synced.text
    sleeping = await harness.wait_run(await harness.send("test/sleep"), status="Running")
    three = await harness.wait_run(await harness.send("test/three", {"name": "x"}))
    assert (await http.delete(f"/v1/runs/{sleeping['run_id']}")).status_code == 200
    assert (await http.delete(f"/v1/runs/{sleeping['run_id']}")).status_code == 409
    rerun = (await http.post(f"/v1/runs/{three['run_id']}/rerun")).json()["data"]
    body = {"from_step": {"step_id": "second"}}
    from_step = (await http.post(f"/v1/runs/{three['run_id']}/rerun", json=body)).json()["data"]
    invoked = (await http.post("/v1/functions/official-child/invoke", json={"data": {"n": 1}})).json()["data"]
    sent = await http.post("/v1/events", json=[{"name": "test/nothing", "data": {"card": "4242-secret"}}])
    assert sent.status_code == 200 and sent.json()["status"] == 200
    before = durations.format_time(datetime.fromtimestamp(harness.clock.now_ms() / 1000 + 1, tz=UTC))
    bulk = {"app_id": "official", "function_id": "sleeper", "started_before": before}
    cancellation = (await http.post("/v1/cancellations", json=bulk)).json()["data"]
    replay = (await http.post("/v1/replays", json={**bulk, "statuses": ["Cancelled"]})).json()["data"]
    assert (await http.post("/v1/functions/official-sleeper/pause")).status_code == 200
    assert (await http.post("/v1/functions/official-sleeper/resume")).status_code == 200
    await harness.send("test/sleep")  # the event API (`/e/`) is not audited
    app_id = synced.json()["data"]["id"]
    assert (await http.delete(f"/v1/apps/{app_id}")).status_code == 200

    records = await recorded(harness, 12)
    got = [(item["action"], item["target"], item["status"], item["result"]) for item in reversed(records)]
    assert got == [
        ("app.sync", app_id, 200, "app official"),
        ("run.cancel", sleeping["run_id"], 200, "Cancelled"),
        ("run.cancel", sleeping["run_id"], 409, f"run {sleeping['run_id']} has already ended"),
        ("run.rerun", three["run_id"], 200, f"run {rerun['run_id']}"),
        ("run.rerun", f"{three['run_id']} from step second", 200, f"run {from_step['run_id']}"),
        ("function.invoke", "official-child", 200, f"run {invoked['run_id']}"),
        ("events.send", "test/nothing", 200, f"events {sent.json()['ids'][0]}"),
        ("bulk.cancel", "official-sleeper", 200, f"job {cancellation['id']}"),
        ("bulk.replay", "official-sleeper", 200, f"job {replay['id']}"),
        ("function.pause", "official-sleeper", 200, "paused"),
        ("function.resume", "official-sleeper", 200, "resumed"),
        ("app.remove", app_id, 200, "removed"),
    ]
    assert {item["actor"] for item in records} == {"dev"}
    times = [item["at"] for item in records]
    assert times == sorted(times, reverse=True) and all(time.endswith("Z") for time in times)
    assert "4242-secret" not in str(records)  # ids and names only, never the data


async def test_the_audit_log_pages_newest_first(setup) -> None:
    harness, _ = setup
    for _ in range(5):
        assert (await harness.http.post("/v1/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/rerun")).status_code == 404
    await recorded(harness, 5)
    first = await audit(harness, limit=2)
    second = await audit(harness, limit=2, cursor=first["cursor"])
    third = await audit(harness, limit=2, cursor=second["cursor"])
    ids = [item["id"] for page in (first, second, third) for item in page["data"]]
    assert len(ids) == 5 == len(set(ids)) and ids == sorted(ids, reverse=True) and third["cursor"] is None
    assert first["data"][0]["result"].startswith("run not found")
    assert (await harness.http.get("/v1/audit", params={"cursor": "nope"})).status_code == 400


async def test_a_caller_with_a_key_is_recorded_as_api(tmp_path: Path) -> None:
    harness = Harness(tmp_path, dev=False, signing_key=SIGNING_KEY)
    await harness.start()
    try:
        refused = await harness.http.post("/v1/events", json={"name": "test/x"})
        assert refused.status_code == 401
        harness.http.headers["authorization"] = f"Bearer {SIGNING_KEY}"
        sent = await harness.http.post("/v1/events", json={"name": "test/x", "data": {}})
        assert sent.status_code == 200, sent.text
        [record] = await recorded(harness, 1)
        assert len((await audit(harness))["data"]) == 1  # a refused caller took no action: not recorded
        assert record["actor"] == "api" and record["action"] == "events.send" and record["target"] == "test/x"
        assert SIGNING_KEY not in str(record)
    finally:
        await harness.stop()


async def test_events_sent_through_the_rest_api_start_runs_and_are_validated_alike(setup) -> None:
    harness, app_url = setup
    assert (await harness.http.post("/v1/apps", json={"url": app_url})).status_code == 200
    sent = await harness.http.post("/v1/events", json={"name": "test/three", "data": {"name": "rest"}})
    assert sent.status_code == 200 and sent.json()["status"] == 200
    run = await harness.wait_run(sent.json()["ids"][0])
    assert run["output"] == {"sum": 4, "name": "rest"}
    half = await harness.http.post("/v1/events", json=[{"name": "test/nothing"}, {"data": {}}])
    assert half.status_code == 400 and len(half.json()["ids"]) == 1 and "event 1" in half.json()["error"]
    assert (await harness.http.post("/v1/events", content=b"{")).status_code == 400
    assert (await harness.http.post("/v1/events", json=[])).json()["ids"] == []
