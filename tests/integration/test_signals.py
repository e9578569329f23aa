"""Signals, end to end with Stepstone's SDK on both stores: `step.wait_for_signal` and `client.send_signal`
(`POST /v1/signals`). A signal reaches the one run that waits for it; a later wait for the same signal
fails its run, or takes the signal over with `on_conflict="replace"`; an unanswered wait ends with None
at its timeout, on the engine's clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import fastapi
import pytest

import stepstone
import stepstone.fastapi
from stepstone.server.core.settings import Limits
from tests.harness import Harness, eventually, free_socket


@dataclass
class Setup:
    harness: Harness
    client: stepstone.Stepstone


def build(engine_url: str) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    client = stepstone.Stepstone(app_id="signals", is_dev=True, base_url=engine_url)

    @client.create_function(fn_id="approval", trigger=stepstone.TriggerEvent(event="doc/review"))
    async def approval(ctx: stepstone.Context) -> Any:
        conflict = ctx.event.data.get("conflict", "fail")
        got = await ctx.step.wait_for_signal(
            "approved", signal=f"doc-{ctx.event.data['doc']}", timeout=timedelta(hours=1), on_conflict=conflict
        )
        return {"timed_out": True} if got is None else {"signal": got.signal, "data": got.data}

    @client.create_function(fn_id="approval-sync", trigger=stepstone.TriggerEvent(event="doc/review-sync"))
    def approval_sync(ctx: stepstone.ContextSync) -> Any:
        got = ctx.step.wait_for_signal("approved", signal=f"sync-{ctx.event.data['doc']}", timeout="30m")
        return None if got is None else got.data

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [approval, approval_sync])
    return app, client


@pytest.fixture
async def setup(tmp_path: Path, backend: dict[str, Any]) -> AsyncIterator[Setup]:
    harness = Harness(tmp_path, backend)
    await harness.start()
    app, client = build(harness.url)
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield Setup(harness, client)
    await harness.stop()
    await client.aclose()


async def waiting(harness: Harness, event_id: str) -> dict[str, Any]:
    """The run of `event_id` once its `approved` step waits."""

    async def check() -> dict[str, Any] | None:
        runs = await harness.runs_for(event_id)
        if not runs:
            return None
        run = await harness.run(runs[0]["run_id"])
        return run if [s["status"] for s in run["steps"] if s["id"] == "approved"] == ["Waiting"] else None

    return await eventually(check)


async def test_a_signal_resumes_the_waiting_run_with_its_data(setup: Setup) -> None:
    harness = setup.harness
    event_id = await harness.send("doc/review", {"doc": "d1"})
    run = await waiting(harness, event_id)
    [step] = run["steps"]
    assert (step["op"], step["deadline"] is not None) == ("WaitForSignal", True)
    assert step["waits_for"] == {"signal": "doc-d1"}

    assert await setup.client.send_signal("doc-d1", {"by": "ana"}) == run["run_id"]
    done = await harness.wait_run(event_id)
    assert done["output"] == {"signal": "doc-d1", "data": {"by": "ana"}}
    assert done["steps"][0]["output"] == {"signal": "doc-d1", "data": {"by": "ana"}}
    # Taken: the same signal again reaches no run, and is not kept for a later wait.
    assert await setup.client.send_signal("doc-d1", {"by": "bo"}) is None
    answer = await harness.http.post("/v1/signals", json={"signal": "doc-d1"})
    assert (answer.status_code, answer.json()["error"]) == (404, "No signal found: no run waits for signal 'doc-d1'")
    metrics = (await harness.http.get("/metrics")).text
    assert 'stepstone_signals_total{outcome="resumed"} 1.0' in metrics
    assert 'stepstone_signals_total{outcome="no_waiter"} 2.0' in metrics


async def test_the_blocking_api_and_a_plain_def_function(setup: Setup) -> None:
    harness = setup.harness
    event_id = await harness.send("doc/review-sync", {"doc": "s1"})
    run = await waiting(harness, event_id)
    # (in a thread: the engine serves on this test's event loop)
    assert await asyncio.to_thread(setup.client.send_signal_sync, "sync-s1", [1, 2]) == run["run_id"]
    assert (await harness.wait_run(event_id))["output"] == [1, 2]
    answer = await harness.http.post("/v1/signals", json={"signal": "sync-s1", "data": [1, 2]})
    assert answer.status_code == 404


async def test_an_unanswered_wait_ends_with_none_at_its_timeout(setup: Setup) -> None:
    harness = setup.harness
    event_id = await harness.send("doc/review", {"doc": "d2"})
    await waiting(harness, event_id)
    await harness.advance(timedelta(hours=1, seconds=1))
    assert (await harness.wait_run(event_id))["output"] == {"timed_out": True}
    assert await setup.client.send_signal("doc-d2") is None  # the wait is gone with its timeout


async def test_a_second_wait_for_the_same_signal_fails_its_run(setup: Setup) -> None:
    harness = setup.harness
    first = await waiting(harness, await harness.send("doc/review", {"doc": "d3"}))
    second = await harness.wait_run(await harness.send("doc/review", {"doc": "d3"}), status="Failed")
    assert second["output"]["name"] == "SignalConflictError"
    assert f"run {first['run_id']} already waits for signal 'doc-d3'" in second["output"]["message"]
    # The first run still has the signal.
    assert await setup.client.send_signal("doc-d3", "ok") == first["run_id"]


async def test_replace_takes_the_signal_over_and_the_earlier_wait_ends_at_its_timeout(setup: Setup) -> None:
    harness = setup.harness
    first_event = await harness.send("doc/review", {"doc": "d4"})
    first = await waiting(harness, first_event)
    second_event = await harness.send("doc/review", {"doc": "d4", "conflict": "replace"})
    second = await waiting(harness, second_event)

    assert await setup.client.send_signal("doc-d4", "yes") == second["run_id"]
    assert (await harness.wait_run(second_event))["output"] == {"signal": "doc-d4", "data": "yes"}
    assert await setup.client.send_signal("doc-d4", "again") is None  # the earlier wait is out of reach
    assert (await harness.run(first["run_id"]))["status"] == "Running"
    await harness.advance(timedelta(hours=1, seconds=1))
    assert (await harness.wait_run(first_event))["output"] == {"timed_out": True}


async def test_bad_signal_requests_are_refused_with_a_reason(setup: Setup) -> None:
    http = setup.harness.http
    cases: list[tuple[Any, str]] = [
        ({}, "body.signal: Field required"),
        ({"signal": ""}, "body.signal: String should have at least 1 character"),
        ({"signal": "a\x00b"}, "signal: contains a NUL character"),
        ([1], "body: Input should be a valid dictionary"),
    ]
    for body, reason in cases:
        answer = await http.post("/v1/signals", json=body)
        assert answer.status_code == 400, answer.text
        assert reason in answer.json()["error"]


async def test_a_signal_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    harness = Harness(tmp_path, limits=Limits(max_event_bytes=100))
    await harness.start()
    try:
        answer = await harness.http.post("/v1/signals", json={"signal": "s", "data": "x" * 200})
        assert answer.status_code == 413
        assert answer.json()["error"] == "the signal's data is over the size limit of 100 bytes"
    finally:
        await harness.stop()
