"""Apps that misbehave (garbage, silence, gone) and the wait_for_event race, with a scripted app."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from stepstone.protocol.stepids import hash_step_id
from tests.harness import Harness, free_socket
from tests.integration import scripted_app
from tests.integration.scripted_app import done, ops


@pytest.fixture
async def harness(tmp_path: Path):
    harness = Harness(tmp_path, retry_interval=timedelta(seconds=1), app_request_timeout=timedelta(seconds=1))
    await harness.start()
    yield harness
    await harness.stop()


async def serve(harness: Harness, script: scripted_app.Script, *, retries: int = 0) -> str:
    served = await harness.serve_app(scripted_app.build(script), free_socket())
    url = f"{served.url}/api/inngest"
    response = await harness.http.post("/fn/register", json=scripted_app.registration(url, retries=retries))
    assert response.status_code == 200, response.text
    return url


async def test_an_answer_without_the_sdk_header_is_a_failed_attempt(harness: Harness) -> None:
    async def script(body: dict[str, Any], request: Request) -> Response:
        return Response(b"<html>hello from a proxy</html>", status_code=200)

    await serve(harness, script)
    run = await harness.wait_run(await harness.send("scripted/go"), status="Failed")
    assert run["output"] == {"name": "NotAnSdkError", "message": "The response did not come from an Inngest SDK"}


async def test_garbage_ops_are_a_readable_failure(harness: Harness) -> None:
    async def script(body: dict[str, Any], request: Request) -> Response:
        return Response(b'[{"op": "Teleport", "id": "x"}]', status_code=206, headers=scripted_app.SDK_HEADERS)

    await serve(harness, script)
    run = await harness.wait_run(await harness.send("scripted/go"), status="Failed")
    assert run["output"]["name"] == "InvalidOpsError"
    assert "unknown opcode 'Teleport'" in run["output"]["message"]


async def test_an_app_that_does_not_answer_in_time(harness: Harness) -> None:
    async def script(body: dict[str, Any], request: Request) -> Response:
        await asyncio.sleep(5)
        return done(1)

    await serve(harness, script)
    run = await harness.wait_run(await harness.send("scripted/go"), status="Failed")
    assert run["output"]["name"] == "AppRequestError"
    assert "did not answer within 1 s" in run["output"]["message"]


async def test_an_app_that_is_down_is_retried_without_using_retries(harness: Harness) -> None:
    calls = 0

    async def script(body: dict[str, Any], request: Request) -> Response:
        nonlocal calls
        calls += 1
        return done("back")

    sock = free_socket()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/inngest"
    sock.close()  # nothing listens: connections are refused
    response = await harness.http.post("/fn/register", json=scripted_app.registration(url))
    assert response.status_code == 200
    event_id = await harness.send("scripted/go")
    run = await harness.wait_run(event_id, status="Running")
    for _ in range(3):
        await asyncio.sleep(0.1)
        await harness.advance(timedelta(seconds=2))
    run = await harness.run(run["run_id"])
    assert run["status"] == "Running" and len(run["attempts"]) >= 2
    assert run["attempts"][0]["error"]["name"] == "AppUnreachableError"
    await harness.serve_app(scripted_app.build(script), _bind(port))
    await harness.advance(timedelta(minutes=10))
    run = await harness.wait_run(event_id)
    assert run["output"] == "back" and calls == 1


def _bind(port: int):
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(16)
    return sock


async def test_an_event_sent_while_the_wait_is_being_saved_resumes_it(harness: Harness) -> None:
    wait_id = hash_step_id("approval")

    async def script(body: dict[str, Any], request: Request) -> Response:
        if wait_id in body["steps"]:
            return done(body["steps"][wait_id])
        # The matching event reaches the engine after the call went out, before the op is saved.
        async with httpx.AsyncClient() as client:
            await client.post(f"{harness.url}/e/k", json={"name": "scripted/approved", "data": {"id": 7}})
        return ops(
            {
                "op": "WaitForEvent",
                "id": wait_id,
                "name": "scripted/approved",
                "opts": {"event": "scripted/approved", "timeout": "1h", "if": "async.data.id == event.data.id"},
            }
        )

    await serve(harness, script)
    run = await harness.wait_run(await harness.send("scripted/go", {"id": 7}))
    assert run["output"]["name"] == "scripted/approved" and run["output"]["data"] == {"id": 7}


async def test_the_trigger_event_never_satisfies_its_own_wait(harness: Harness) -> None:
    wait_id = hash_step_id("same")

    async def script(body: dict[str, Any], request: Request) -> Response:
        if wait_id in body["steps"]:
            return done(body["steps"][wait_id])
        return ops({"op": "WaitForEvent", "id": wait_id, "name": "scripted/go", "opts": {"timeout": "1h"}})

    await serve(harness, script)
    event_id = await harness.send("scripted/go")
    await harness.wait_run(event_id, status="Running")
    await asyncio.sleep(0.2)
    await harness.advance(timedelta(hours=2))
    run = await harness.wait_run(event_id)
    assert run["output"] is None


async def test_a_step_error_is_retried_then_stored_as_the_step_error(harness: Harness) -> None:
    step_id = hash_step_id("boom")
    seen: list[int] = []

    async def script(body: dict[str, Any], request: Request) -> Response:
        if step_id in body["steps"]:
            return done(body["steps"][step_id])
        seen.append(body["ctx"]["attempt"])
        error = {"name": "ValueError", "message": "boom", "stack": "trace"}
        return ops({"op": "StepError", "id": step_id, "name": "boom", "error": error})

    await serve(harness, script, retries=1)
    event_id = await harness.send("scripted/go")
    run = await harness.wait_run(event_id, status="Running")
    await asyncio.sleep(0.2)
    await harness.advance(timedelta(seconds=2))
    run = await harness.wait_run(event_id)
    assert seen == [0, 1]
    assert run["output"] == {"error": {"name": "ValueError", "message": "boom", "stack": "trace"}}
    assert run["steps"][0]["status"] == "Failed" and run["steps"][0]["error"]["message"] == "boom"
    assert [a["attempt"] for a in run["attempts"]] == [0, 1]


async def test_an_oversized_step_output_fails_the_step_not_the_engine(tmp_path: Path) -> None:
    from stepstone.server.core.settings import Limits

    harness = Harness(tmp_path / "limits", limits=Limits(max_step_output_bytes=100, max_run_state_bytes=1000))
    await harness.start()
    try:
        big, small = hash_step_id("big"), hash_step_id("small")

        async def script(body: dict[str, Any], request: Request) -> Response:
            steps = body["steps"]
            if big not in steps:
                return ops({"op": "StepRun", "id": big, "name": "big", "data": "x" * 500})
            if small not in steps:
                return ops({"op": "StepRun", "id": small, "name": "small", "data": "y" * 50})
            return done({"big": steps[big], "small": steps[small]})

        await serve(harness, script)
        run = await harness.wait_run(await harness.send("scripted/go"))
        assert run["output"]["big"]["error"]["name"] == "OutputTooLargeError"
        assert run["output"]["small"] == {"data": "y" * 50}
        assert run["steps"][0]["status"] == "Failed"
    finally:
        await harness.stop()


async def test_a_run_whose_state_outgrows_the_limit_fails(tmp_path: Path) -> None:
    from stepstone.server.core.settings import Limits

    harness = Harness(tmp_path / "state", limits=Limits(max_run_state_bytes=1000))
    await harness.start()
    try:

        async def script(body: dict[str, Any], request: Request) -> Response:
            n = len(body["steps"])
            return ops({"op": "StepRun", "id": hash_step_id(f"s{n}"), "name": f"s{n}", "data": "z" * 90})

        await serve(harness, script)
        run = await harness.wait_run(await harness.send("scripted/go"), status="Failed")
        assert run["output"]["name"] == "StateTooLargeError"
        assert 9 <= len(run["steps"]) <= 12
    finally:
        await harness.stop()
