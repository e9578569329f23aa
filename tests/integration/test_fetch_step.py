"""`step.fetch` with Stepstone's SDK, on both stores: the engine makes the request, the answer (any status)
is stored as the step's output and replayed, no answer at all is a failed attempt retried as the function's
retries allow; the request's headers and query are not stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import fastapi
import pytest

import stepstone
import stepstone.fastapi
from tests.harness import Harness, Served, eventually, free_socket
from tests.integration.test_engine_requests import stored_text

TOKEN = "tok-7f3e-very-secret"


@dataclass
class Remote:
    """The other side: records each request; `/slow-thing` answers 503, `/thing` the thing."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> fastapi.FastAPI:
        app = fastapi.FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST"])
        async def anything(path: str, request: fastapi.Request) -> Any:
            self.requests.append(
                {"method": request.method, "path": path, "headers": dict(request.headers), "body": await request.body()}
            )
            if path == "slow-thing":
                return fastapi.responses.PlainTextResponse("try later", status_code=503)
            return {"thing": path, "method": request.method}

        return app


def build(engine_url: str, remote_url: str, counts: dict[str, int]) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    client = stepstone.Stepstone(app_id="fetcher", is_dev=True, base_url=engine_url, environ={})

    @client.create_function(fn_id="fetch", trigger=stepstone.TriggerEvent(event="fetch/go"), retries=1)
    async def fetch(ctx: stepstone.Context) -> Any:
        counts["calls"] = counts.get("calls", 0) + 1
        auth = {"authorization": f"Bearer {TOKEN}"}
        got = await ctx.step.fetch("get", f"{remote_url}/thing?key={TOKEN}", headers=auth)
        posted = await ctx.step.fetch("post", f"{remote_url}/made", method="post", json={"n": 1})
        busy = await ctx.step.fetch("busy", f"{remote_url}/slow-thing")
        try:
            await ctx.step.fetch("nowhere", ctx.event.data["nowhere"])
            unreachable = None
        except stepstone.StepError as err:
            unreachable = err.name
        return {
            "got": got.json(),
            "posted": (posted.status_code, posted.json()),
            "busy": (busy.ok, busy.status_code, busy.body),
            "unreachable": unreachable,
        }

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [fetch])
    return app, client


@pytest.fixture
async def remote() -> AsyncIterator[tuple[Remote, Served]]:
    made = Remote()
    served = Served(made.app(), free_socket())
    await served.start()
    yield made, served
    await served.stop()


async def test_the_engine_fetches_and_the_function_reads_the_answer(
    tmp_path: Path, backend: dict[str, Any], remote: tuple[Remote, Served]
) -> None:
    made, remote_served = remote
    harness = Harness(tmp_path, backend, retry_interval=timedelta(minutes=1))
    await harness.start()
    try:
        counts: dict[str, int] = {}
        app, client = build(harness.url, remote_served.url, counts)
        served = await harness.serve_app(app, free_socket())
        await harness.sync(f"{served.url}/api/inngest")
        closed = free_socket()
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/x"
        closed.close()
        event_id = await harness.send("fetch/go", {"nowhere": nowhere})

        async def retrying() -> bool:
            runs = await harness.runs_for(event_id)
            return bool(runs) and bool((await harness.run(runs[0]["run_id"]))["attempts"])

        await eventually(retrying)
        await harness.advance(timedelta(minutes=2))  # the retry of `nowhere`, then the step fails for good
        run = await harness.wait_run(event_id)
        assert run["warnings"] == []  # a fetch that failed for good is stored as a failed step: no STP102
        await client.aclose()
    finally:
        await harness.stop()

    assert run["output"] == {
        "got": {"thing": "thing", "method": "GET"},
        "posted": [200, {"thing": "made", "method": "POST"}],
        "busy": [False, 503, "try later"],
        "unreachable": "GatewayError",
    }
    assert [(r["method"], r["path"]) for r in made.requests] == [
        ("GET", "thing"),
        ("POST", "made"),
        ("GET", "slow-thing"),
    ]
    assert made.requests[0]["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert made.requests[1]["headers"]["content-type"] == "application/json"
    assert made.requests[1]["body"] == b'{"n": 1}'
    steps = {step["id"]: step for step in run["steps"]}
    assert steps["get"]["op"] == "Gateway" and steps["get"]["output"]["status_code"] == 200
    assert steps["nowhere"]["error"]["name"] == "GatewayError"
    assert TOKEN not in stored_text(backend)  # neither the header nor the query was kept
