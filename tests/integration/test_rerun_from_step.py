"""Rerun from a step over REST (v1 and v2, snake and camel case), on both stores, with the official Python SDK
and a scripted TypeScript-like app for a step's new input; cron runs rerun too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from stepstone.protocol.stepids import hash_step_id
from tests.harness import Harness, eventually, free_socket
from tests.integration import official_app, scripted_app


@pytest.fixture
async def setup(tmp_path: Path, backend: dict[str, Any]):
    harness = Harness(tmp_path, backend)
    await harness.start()
    counts: dict[str, int] = {}
    app, _ = official_app.build(harness.url, counts)
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield harness, counts
    await harness.stop()


async def finished(harness: Harness, run_id: str, status: str = "Completed") -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        run = await harness.run(run_id)
        return run if run["status"] == status else None

    return await eventually(check)


async def test_a_rerun_from_a_step_reuses_the_steps_before_it(setup) -> None:
    harness, counts = setup
    original = await harness.wait_run(await harness.send("test/three", {"name": "ada"}))
    assert [step["display_id"] for step in original["steps"]] == ["first", "second", "first:1"]
    assert counts == {"first": 2, "second": 1}

    answer = await harness.http.post(f"/v1/runs/{original['run_id']}/rerun", json={"from_step": {"step_id": "second"}})
    assert answer.status_code == 200, answer.text
    rerun = answer.json()["data"]
    assert rerun["original_run_id"] == original["run_id"] and rerun["run_id"] != original["run_id"]
    done = await finished(harness, rerun["run_id"])
    assert done["output"] == {"sum": 4, "name": "ada"}
    assert counts == {"first": 3, "second": 2}  # `first` came from the original run; `second` and `first:1` ran
    assert [step["display_id"] for step in done["steps"]] == ["first", "second", "first:1"]
    assert done["steps"][0]["output"] == 1 and done["reruns"] == [] and done["replay_id"] is None

    # From the repeated id's second use, with Inngest's v2 path and camelCase body: only that step runs.
    answer = await harness.http.post(f"/v2/runs/{original['run_id']}/rerun", json={"fromStep": {"stepId": "first:1"}})
    assert answer.status_code == 200, answer.text
    second = await finished(harness, answer.json()["data"]["run_id"])
    assert second["output"] == {"sum": 4, "name": "ada"} and counts == {"first": 4, "second": 2}

    # A plain rerun runs everything again; the original lists its reruns.
    plain = (await harness.http.post(f"/v1/runs/{original['run_id']}/rerun")).json()["data"]
    await finished(harness, plain["run_id"])
    assert counts == {"first": 6, "second": 3}
    listed = (await harness.run(original["run_id"]))["reruns"]
    assert listed == [rerun["run_id"], second["run_id"], plain["run_id"]]


async def test_rerun_errors(setup) -> None:
    harness, _ = setup
    original = await harness.wait_run(await harness.send("test/three", {"name": "x"}))
    url = f"/v1/runs/{original['run_id']}/rerun"
    unknown = await harness.http.post(url, json={"from_step": {"step_id": "third"}})
    assert unknown.status_code == 400
    assert "no step 'third'" in unknown.json()["error"] and "'first:1'" in unknown.json()["error"]
    missing = await harness.http.post("/v1/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/rerun", json={"from_step": {"step_id": "a"}})
    assert missing.status_code == 404
    typo = await harness.http.post(url, json={"from_stepp": {"step_id": "second"}})
    assert typo.status_code == 400 and "from_stepp" in typo.json()["error"]
    # The Python SDK would read `{"input": ...}` as the step's output: refused, saying why.
    refused = await harness.http.post(url, json={"from_step": {"step_id": "second", "input": [5]}})
    assert refused.status_code == 400 and "TypeScript" in refused.json()["error"]
    not_a_list = await harness.http.post(url, json={"from_step": {"step_id": "second", "input": {"a": 1}}})
    assert not_a_list.status_code == 400


async def test_a_cron_run_can_be_rerun(setup) -> None:
    harness, _ = setup
    await harness.advance(timedelta(minutes=5))

    async def ticked() -> dict[str, Any] | None:
        runs = (await harness.http.get("/v1/runs", params={"function_id": "official-ticker"})).json()["data"]
        done = [run for run in runs if run["status"] == "Completed"]
        return done[0] if done else None

    original = await eventually(ticked)
    assert original["cron"] == "*/5 * * * *"
    rerun = (await harness.http.post(f"/v1/runs/{original['run_id']}/rerun")).json()["data"]
    done = await finished(harness, rerun["run_id"])
    assert done["output"] == "inngest/scheduled.timer" and done["cron"] == "*/5 * * * *"
    assert done["original_run_id"] == original["run_id"]


async def test_a_new_input_reaches_a_typescript_app_as_the_step_state(tmp_path: Path, backend: dict[str, Any]) -> None:
    harness = Harness(tmp_path, backend)
    await harness.start()
    seen: list[dict[str, Any]] = []
    first, second = hash_step_id("load"), hash_step_id("double")

    async def script(body: dict[str, Any], _: Request) -> Response:
        steps = body["steps"]
        seen.append(steps)
        if first not in steps:
            return scripted_app.ops({"op": "StepRun", "id": first, "displayName": "load", "data": 3})
        state = steps.get(second)
        if state is None or "input" in state:  # run the step, with the new input when given (as the JS SDK does)
            value = (state or {}).get("input", [steps[first]["data"]])[0]
            return scripted_app.ops({"op": "StepRun", "id": second, "displayName": "double", "data": value * 2})
        return scripted_app.done({"result": state["data"]})

    try:
        served = await harness.serve_app(scripted_app.build(script), free_socket())
        registration = scripted_app.registration(f"{served.url}/api/inngest")
        registration["sdk"] = "js:v3.40.0"
        assert (await harness.http.post("/fn/register", json=registration)).status_code == 200
        original = await harness.wait_run(await harness.send("scripted/go"))
        assert original["output"] == {"result": 6}
        body = {"from_step": {"step_id": "double", "input": [10]}}
        rerun = (await harness.http.post(f"/v1/runs/{original['run_id']}/rerun", json=body)).json()["data"]
        done = await finished(harness, rerun["run_id"])
        assert done["output"] == {"result": 20}
        assert {"input": [10]} in [steps.get(second) for steps in seen]
        assert done["steps"][0]["output"] == 3  # copied, not run again
    finally:
        await harness.stop()
