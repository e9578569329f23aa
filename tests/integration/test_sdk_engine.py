"""Stepstone's SDK against the engine, end to end over HTTP (checkpoint mode included)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from stepstone.protocol import durations
from tests.harness import Harness, eventually, free_socket
from tests.integration import sdk_app


@pytest.fixture
async def setup(tmp_path: Path, backend: dict):
    harness = Harness(tmp_path, backend)
    await harness.start()
    counts: dict[str, int] = {}
    app, client = sdk_app.build(harness.url, counts)
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield harness, counts, client
    await harness.stop()
    await client.aclose()


async def test_steps_are_checkpointed_and_each_runs_once(setup) -> None:
    harness, counts, _ = setup
    event_id = await harness.send("shop/checkout", {"order": "A-1"})
    run = await harness.wait_run(event_id)
    assert run["output"] == {
        "charged": "charged 9.5",
        "receipt": {"order": "A-1", "total": 9.5},
        "run_id": run["run_id"],
    }
    assert counts == {"price": 1, "charge": 1, "receipt": 1}
    assert [(s["id"], s["status"], s["output"]) for s in run["steps"]] == [
        ("price", "Completed", 9.5),
        ("charge", "Completed", "charged 9.5"),
        ("receipt", "Completed", {"order": "A-1", "total": 9.5}),
    ]


async def test_gather_and_group_parallel(setup) -> None:
    harness, counts, _ = setup
    run = await harness.wait_run(await harness.send("shop/gather"))
    assert run["output"] == [0, 1, 4, 9, 100, 121]
    assert all(counts[name] == 1 for name in ("g0", "g1", "g2", "g3", "g10", "g11"))


async def test_sleep_and_sleep_until_follow_the_engine_clock(setup) -> None:
    harness, _, _ = setup
    until = durations.format_time(durations.from_millis(harness.clock.now_ms() + 3 * 3600 * 1000))
    event_id = await harness.send("shop/naps", {"until": until})
    run = await harness.wait_run(event_id, status="Running")

    async def sleeping(step: str):
        steps = (await harness.run(run["run_id"]))["steps"]
        return any(s["id"] == step and s["status"] == "Sleeping" for s in steps)

    await eventually(lambda: sleeping("short"))
    await harness.advance(timedelta(minutes=29))
    await asyncio.sleep(0.1)
    assert (await harness.run(run["run_id"]))["steps"][0]["status"] == "Sleeping"
    await harness.advance(timedelta(minutes=2))
    await eventually(lambda: sleeping("until"))
    await harness.advance(timedelta(hours=3))
    assert (await harness.wait_run(event_id))["output"] == "awake"


async def test_a_sleep_of_a_day_is_a_duration_not_a_date(setup) -> None:
    harness, _, _ = setup
    event_id = await harness.send("shop/long-nap")
    run = await harness.wait_run(event_id, status="Running")

    async def sleeping() -> bool:
        steps = (await harness.run(run["run_id"]))["steps"]
        return any(s["id"] == "day" and s["status"] == "Sleeping" for s in steps)

    await eventually(sleeping)
    await harness.advance(timedelta(hours=23))
    assert await sleeping()
    await harness.advance(timedelta(hours=2))
    assert (await harness.wait_run(event_id))["output"] == "rested"


async def test_wait_for_event_and_its_timeout(setup) -> None:
    harness, _, _ = setup
    matched = await harness.send("shop/approval", {"order": "A-7"})
    timed_out = await harness.send("shop/approval", {"order": "A-8"})
    await harness.wait_run(matched, status="Running")
    await harness.wait_run(timed_out, status="Running")
    await asyncio.sleep(0.1)
    await harness.send("shop/approved", {"order": "A-7", "by": "sam"})
    assert (await harness.wait_run(matched))["output"] == {"order": "A-7", "by": "sam"}
    await harness.advance(timedelta(hours=2))
    ended = await harness.wait_run(timed_out)
    assert ended["output"] is None
    # What it waited for stays on the step after the timeout.
    condition = "async.data.order == event.data.order"
    assert ended["steps"][0]["waits_for"] == {"event": "shop/approved", "if": condition}


async def test_invoke_a_plain_def_function(setup) -> None:
    harness, _, _ = setup
    run = await harness.wait_run(await harness.send("shop/invoicing"), function_id="shop-invoicing")
    assert run["output"] == {"tax": 10.0}
    [step] = run["steps"]
    assert step["waits_for"] == {"function": "shop-tax"}


async def test_send_event_fans_out(setup) -> None:
    harness, _, _ = setup
    run = await harness.wait_run(await harness.send("shop/announce"), function_id="shop-announce")
    assert run["output"] == {"sent": 1}
    sent = (await harness.http.get("/v1/events", params={"name": "shop/tax"})).json()["data"]
    taxed = await harness.wait_run(sent[0]["internal_id"], function_id="shop-tax")
    assert taxed["output"] == {"tax": 2.0}


async def test_retry_after_is_honoured_then_backoff_applies(setup) -> None:
    harness, _, _ = setup
    event_id = await harness.send("shop/flaky")

    async def attempts(count: int):
        runs = await harness.runs_for(event_id)
        run = runs and await harness.run(runs[0]["run_id"])
        return run if run and len(run["attempts"]) >= count else None

    await eventually(lambda: attempts(1))
    await harness.advance(timedelta(minutes=6))
    await asyncio.sleep(0.2)
    assert len((await attempts(1))["attempts"]) == 1  # retry-after (7 min) not reached yet
    await harness.advance(timedelta(minutes=2))
    run = await eventually(lambda: attempts(2))
    assert run["attempts"][1]["error"]["name"] == "ConnectionError"
    await harness.advance(timedelta(minutes=1))  # the table: 15 s + up to 30 s jitter after attempt 1
    run = await harness.wait_run(event_id)
    assert run["output"] == "ok"


async def test_a_failed_step_raises_step_error_that_code_can_catch(setup) -> None:
    harness, _, _ = setup
    run = await harness.wait_run(await harness.send("shop/fragile"))
    assert run["output"] == {"caught": "ValueError", "message": "kaboom"}
    assert run["steps"][0]["status"] == "Failed" and run["steps"][0]["error"]["message"] == "kaboom"


async def test_non_retriable_error_fails_the_run_and_calls_on_failure(setup) -> None:
    harness, _, _ = setup
    event_id = await harness.send("shop/refund")
    run = await harness.wait_run(event_id, status="Failed")
    assert run["output"]["message"] == "refunds are closed" and len(run["attempts"]) == 1
    failed = (await harness.http.get("/v1/events", params={"name": "inngest/function.failed"})).json()["data"]
    handler = await harness.wait_run(failed[0]["internal_id"], function_id="shop-refund-failure")
    assert handler["output"] == {"notified": "shop-refund"}


async def test_client_send_reaches_the_engine(setup) -> None:
    harness, _, client = setup
    ids = await client.send(stepstone_event("shop/tax", {"amount": 100}))
    run = await harness.wait_run(ids[0], function_id="shop-tax")
    assert run["output"] == {"tax": 20.0}


async def test_a_stale_checkpoint_is_refused_with_409(setup) -> None:
    harness, _, _ = setup
    response = await harness.http.post(
        "/v1/checkpoint/01ARZ3NDEKTSV4RRFFQ69G5FAV/async",
        json={"run_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "qi_id": "nope", "steps": []},
    )
    assert response.status_code == 409


def stepstone_event(name: str, data: dict):
    import stepstone

    return stepstone.Event(name=name, data=data)
