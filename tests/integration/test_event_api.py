"""The event API: answers, ids, dedupe, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepstone.protocol import events as wire_events
from stepstone.server.core.settings import Limits
from tests.harness import Harness, free_socket
from tests.integration import official_app


@pytest.fixture
async def harness(tmp_path: Path):
    harness = Harness(tmp_path, limits=Limits(max_event_bytes=2048, max_events_per_request=10))
    await harness.start()
    app, _ = official_app.build(harness.url, {})
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield harness
    await harness.stop()


async def test_one_event_answers_ids_and_status(harness: Harness) -> None:
    response = await harness.http.post("/e/key", json={"name": "test/three", "data": {"name": "x"}})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 200 and len(body["ids"]) == 1
    stored = (await harness.http.get(f"/v1/events/{body['ids'][0]}")).json()["data"]
    assert stored["name"] == "test/three" and stored["data"] == {"name": "x"}
    assert stored["internal_id"] == body["ids"][0]


async def test_a_list_keeps_events_before_the_invalid_one(harness: Harness) -> None:
    events = [{"name": "test/three"}, {"name": "test/three", "data": [1, 2]}, {"name": "test/three"}]
    response = await harness.http.post("/e/key", json=events)
    assert response.status_code == 400
    body = response.json()
    assert len(body["ids"]) == 1
    assert "event 1" in body["error"] and "`data` must be a JSON object" in body["error"]
    assert (await harness.http.get(f"/v1/events/{body['ids'][0]}")).status_code == 200
    listed = (await harness.http.get("/v1/events", params={"name": "test/three"})).json()["data"]
    assert len(listed) == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"data": {}}, "`name` must be a non-empty string"),
        ({"name": 5}, "`name` must be a non-empty string"),
        ({"name": ""}, "`name` must be a non-empty string"),
        ({"name": "a", "data": "x"}, "`data` must be a JSON object"),
        ({"name": "a", "ts": 1.5}, "`ts` must be an integer"),
        ({"name": "a", "ts": "1700000000000"}, "`ts` must be an integer"),
        ({"name": "a", "ts": 12}, "`ts` must be milliseconds since the epoch between 1980 and 2100"),
        ({"name": "a", "id": 12}, "`id` must be a string"),
        ({"name": "inngest/function.failed"}, "reserved"),
        ([], "no events"),
        ("just a string", "an event must be a JSON object"),
    ],
)
async def test_bad_events_get_a_clear_400(harness: Harness, payload: object, message: str) -> None:
    response = await harness.http.post("/e/key", json=payload)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert response.json()["status"] == 400


async def test_malformed_json_is_a_400_with_a_json_body(harness: Harness) -> None:
    response = await harness.http.post("/e/key", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("the body is not valid JSON")


async def test_size_and_count_limits(harness: Harness) -> None:
    big = await harness.http.post("/e/key", json={"name": "a", "data": {"blob": "x" * 4096}})
    assert big.status_code == 400 and "size limit" in big.json()["error"]
    many = await harness.http.post("/e/key", json=[{"name": "a"}] * 11)
    assert many.status_code == 400 and "at most 10 events" in many.json()["error"]
    assert (await harness.http.get("/v1/events")).json()["data"] == []


async def test_a_retried_seeded_send_gets_the_same_ids_and_starts_runs_once(harness: Harness) -> None:
    seed = wire_events.new_seed(1_767_225_600_000)
    events = [{"name": "test/child", "data": {"n": 1}}, {"name": "test/child", "data": {"n": 2}}]
    first = await harness.http.post("/e/key", json=events, headers={"x-inngest-event-id-seed": seed})
    again = await harness.http.post("/e/key", json=events, headers={"x-inngest-event-id-seed": seed})
    assert first.json()["ids"] == again.json()["ids"]
    assert len(set(first.json()["ids"])) == 2
    for event_id in first.json()["ids"]:
        await harness.wait_run(event_id)
        answer = (await harness.http.get(f"/v1/events/{event_id}/runs")).json()
        assert len(answer["data"]) == 1
        assert "idempotent duplicate" in answer["skipped"][0]["reason"]


async def test_the_same_user_id_twice_starts_one_run(harness: Harness) -> None:
    first = await harness.send("test/child", {"n": 1}, id="order-7")
    second = await harness.send("test/child", {"n": 1}, id="order-7")
    assert first != second
    await harness.wait_run(first)
    assert (await harness.runs_for(second)) == []
    skipped = (await harness.http.get(f"/v1/events/{second}/runs")).json()["skipped"]
    assert skipped[0]["function_id"] == "official-child"


async def test_an_engine_failure_while_storing_events_is_a_json_500_without_the_key(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> list[str]:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(harness.engine, "send_events", broken)
    response = await harness.http.post("/e/secret-key", json={"name": "test/three"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal error: the engine logged the details", "status": 500}
    assert "the disk is on fire" in caplog.text and "/e/<redacted>" in caplog.text
    assert "secret-key" not in caplog.text
    assert harness.engine.requests_in_flight == 0  # counted down on failures too (it decides quiet commits)
