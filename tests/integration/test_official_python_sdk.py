"""The engine against functions written with the official Inngest Python SDK, in process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.harness import Harness, free_socket
from tests.integration import official_app


@pytest.fixture
async def setup(tmp_path: Path, backend: dict):
    harness = Harness(tmp_path, backend, retry_interval=timedelta(seconds=1))
    await harness.start()
    counts: dict[str, int] = {}
    sock = free_socket()
    app, _ = official_app.build(harness.url, counts)
    served = await harness.serve_app(app, sock)
    await harness.sync(f"{served.url}/api/inngest")
    yield harness, counts
    await harness.stop()


async def test_three_steps_complete_and_each_runs_once(setup) -> None:
    harness, counts = setup
    event_id = await harness.send("test/three", {"name": "ada"})
    run = await harness.wait_run(event_id)
    assert run["output"] == {"sum": 4, "name": "ada"}
    assert counts == {"first": 2, "second": 1}
    assert [step["id"] for step in run["steps"]] == ["first", "second", "first"]
    assert all(step["status"] == "Completed" for step in run["steps"])


async def test_sleep_waits_for_the_clock(setup) -> None:
    harness, _ = setup
    event_id = await harness.send("test/sleep")
    run = await harness.wait_run(event_id, status="Running")
    await harness.advance(timedelta(minutes=59))
    assert (await harness.run(run["run_id"]))["status"] == "Running"
    await harness.advance(timedelta(hours=2))
    run = await harness.wait_run(event_id)
    assert run["output"] == "rested"


async def test_wait_for_event_matches_by_expression(setup) -> None:
    harness, _ = setup
    event_id = await harness.send("test/wait", {"id": "order-1"})
    await harness.wait_run(event_id, status="Running")
    await harness.send("test/approve", {"id": "order-2", "who": "mallory"})
    await harness.send("test/approve", {"id": "order-1", "who": "alice"})
    run = await harness.wait_run(event_id)
    assert run["output"] == {"id": "order-1", "who": "alice"}


async def test_wait_for_event_times_out_with_none(setup) -> None:
    harness, _ = setup
    event_id = await harness.send("test/wait", {"id": "order-9"})
    run = await harness.wait_run(event_id, status="Running")

    async def waiting():
        steps = (await harness.run(run["run_id"]))["steps"]
        return steps and steps[0]["status"] == "Waiting"

    from tests.harness import eventually

    await eventually(waiting)
    await harness.advance(timedelta(hours=3))
    run = await harness.wait_run(event_id)
    assert run["output"] is None


async def test_a_failing_step_is_retried_until_it_succeeds(setup) -> None:
    harness, counts = setup
    event_id = await harness.send("test/flaky")
    from tests.harness import eventually

    async def attempts():
        runs = await harness.runs_for(event_id)
        if not runs:
            return None
        run = await harness.run(runs[0]["run_id"])
        if run["status"] == "Completed":
            return run
        if run["attempts"]:
            await harness.advance(timedelta(seconds=2))
        return None

    run = await eventually(attempts)
    assert run["output"] == "ok"
    assert counts["flaky"] == 3
    assert [a["attempt"] for a in run["attempts"]] == [0, 1]


async def test_parallel_steps_fan_in(setup) -> None:
    harness, counts = setup
    event_id = await harness.send("test/parallel")
    run = await harness.wait_run(event_id)
    assert run["output"] == [0, 10, 20]
    assert counts == {"p0": 1, "p1": 1, "p2": 1}


async def test_invoke_returns_the_child_output(setup) -> None:
    harness, _ = setup
    event_id = await harness.send("test/parent")
    run = await harness.wait_run(event_id, function_id="official-parent")
    assert run["output"] == {"doubled": 42}


async def test_a_failed_run_emits_function_failed_and_runs_the_failure_handler(setup) -> None:
    harness, _counts = setup
    event_id = await harness.send("test/doomed")
    run = await harness.wait_run(event_id, status="Failed")
    assert run["output"]["name"] == "NonRetriableError"
    assert run["output"]["message"] == "no way"
    failed = (await harness.http.get("/v1/events", params={"name": "inngest/function.failed"})).json()["data"]
    assert failed[0]["id"] == run["run_id"]
    assert failed[0]["data"]["function_id"] == "official-doomed"
    handler = await harness.wait_run(failed[0]["internal_id"], function_id="official-doomed-failure")
    assert handler["output"] == {"failed_run": run["run_id"], "error": "no way"}
    assert handler["events"][0]["name"] == "inngest/function.failed"
    finished = (await harness.http.get("/v1/events", params={"name": "inngest/function.finished"})).json()["data"]
    statuses = {e["data"]["run_id"]: e["data"]["_inngest"]["status"] for e in finished}
    assert statuses[run["run_id"]] == "Failed" and statuses[handler["run_id"]] == "Completed"


async def test_a_cancel_event_matching_the_expression_cancels_the_run(setup) -> None:
    harness, _ = setup
    keep = await harness.send("test/cancellable", {"id": "keep"})
    stop = await harness.send("test/cancellable", {"id": "stop"})
    await harness.wait_run(stop, status="Running")
    await harness.send("test/cancel", {"id": "stop"})
    cancelled = await harness.wait_run(stop, status="Cancelled")
    assert "test/cancel" in cancelled["reason"]
    assert (await harness.runs_for(keep))[0]["status"] == "Running"
    events = (await harness.http.get("/v1/events", params={"name": "inngest/function.cancelled"})).json()["data"]
    assert [e["id"] for e in events] == [cancelled["run_id"]]


async def test_timeouts_finish_cancels_a_run_that_runs_too_long(setup) -> None:
    harness, _ = setup
    event_id = await harness.send("test/bounded")
    await harness.wait_run(event_id, status="Running")
    await harness.advance(timedelta(minutes=11))
    run = await harness.wait_run(event_id, status="Cancelled")
    assert "timeouts.finish" in run["reason"]


async def test_cron_fires_once_per_tick(setup) -> None:
    harness, _counts = setup
    await harness.advance(timedelta(minutes=5))

    async def ran() -> int | None:
        runs = (await harness.http.get("/v1/runs", params={"function_id": "official-ticker"})).json()["data"]
        return len([r for r in runs if r["status"] == "Completed"]) or None

    from tests.harness import eventually

    assert await eventually(ran) == 1
    await harness.advance(timedelta(minutes=5))
    assert await eventually(lambda: _at_least(ran, 2)) == 2
    runs = (await harness.http.get("/v1/runs", params={"function_id": "official-ticker"})).json()["data"]
    assert {r["output"] for r in runs} == {"inngest/scheduled.timer"}
    assert all(r["cron"] == "*/5 * * * *" for r in runs)


async def _at_least(check, count: int):
    value = await check()
    return value if value and value >= count else None


async def test_invoke_failure_and_timeout_raise_step_errors(setup) -> None:
    harness, _ = setup
    event_id = await harness.send("test/invoke-errors")
    from tests.harness import eventually

    async def waiting_on_slow() -> bool:
        runs = (await harness.http.get("/v1/runs", params={"function_id": "official-slow-child"})).json()["data"]
        return bool(runs)

    await eventually(waiting_on_slow)
    await harness.advance(timedelta(minutes=31))
    run = await harness.wait_run(event_id, function_id="official-invoke-errors")
    assert run["output"][0]["name"] == "ValueError" and run["output"][0]["message"] == "child broke"
    assert run["output"][1]["name"] == "InngestInvokeTimeoutError"
    # the child keeps running after the parent stopped waiting
    slow = (await harness.http.get("/v1/runs", params={"function_id": "official-slow-child"})).json()["data"]
    assert slow[0]["status"] == "Running"
