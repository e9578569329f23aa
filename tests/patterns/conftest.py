"""A real engine on a fake clock, and the pattern module under test served next to it."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import fastapi
import pytest
from examples.patterns import services

import stepstone.fastapi
from stepstone.sdk import settings
from tests.harness import Harness, eventually, free_socket

Serve = Callable[[ModuleType], Awaitable[Harness]]


@pytest.fixture
async def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Serve]:
    """`await engine(module)`: start an engine, serve the module's functions to it, return the harness."""
    harness = Harness(tmp_path)
    await harness.start()
    services.reset()
    clients: list[stepstone.Stepstone] = []

    async def serve(module: ModuleType) -> Harness:
        client: stepstone.Stepstone = module.client
        # The module's client read the process environment; point it at this engine, in dev mode.
        local = dataclasses.replace(
            client.settings, mode=settings.Mode.DEV, api_origin=harness.url, event_api_origin=harness.url
        )
        monkeypatch.setattr(client, "settings", local)
        app = fastapi.FastAPI()
        stepstone.fastapi.serve(app, client, module.functions)
        served = await harness.serve_app(app, free_socket())
        await harness.sync(f"{served.url}/api/inngest")
        clients.append(client)
        return harness

    yield serve
    await harness.stop()
    for client in clients:
        await client.aclose()


async def runs_of(harness: Harness, function_id: str) -> list[dict[str, Any]]:
    """Every run of a function (`app-fn`), newest first."""
    answer = await harness.http.get("/v1/runs", params={"function_id": function_id})
    assert answer.status_code == 200, answer.text
    runs: list[dict[str, Any]] = answer.json()["data"]
    return runs


async def settled(harness: Harness, function_id: str, count: int = 1, *, step: timedelta | None = None) -> list[Any]:
    """Wait until `count` runs of the function have ended, moving the fake clock by `step` while waiting.

    Moving the clock lets sleeps end and retries come due without any real wait.
    """

    async def ended() -> list[dict[str, Any]] | None:
        runs = await runs_of(harness, function_id)
        done = [run for run in runs if run["status"] in ("Completed", "Failed", "Cancelled")]
        if len(done) >= count:
            return done
        if step is not None:
            await harness.advance(step)
            await asyncio.sleep(0.02)
        return None

    return await eventually(ended, timeout=30)


async def run_of(harness: Harness, event_id: str, function_id: str, *, step: timedelta | None = None) -> Any:
    """The run `event_id` started of `function_id` once it ended (moving the clock by `step` meanwhile)."""

    async def ended() -> dict[str, Any] | None:
        for summary in await harness.runs_for(event_id):
            if summary["function_id"] == function_id and summary["status"] in ("Completed", "Failed", "Cancelled"):
                return await harness.run(summary["run_id"])
        if step is not None:
            await harness.advance(step)
            await asyncio.sleep(0.02)
        return None

    return await eventually(ended, timeout=30)


async def step_reached(harness: Harness, event_id: str, step_id: str, status: str) -> None:
    """Wait until the run `event_id` started has the step `step_id` in `status` ("Waiting", "Sleeping", ...)."""

    async def reached() -> bool:
        for summary in await harness.runs_for(event_id):
            steps = (await harness.run(summary["run_id"]))["steps"]
            if any(step["id"] == step_id and step["status"] == status for step in steps):
                return True
        return False

    await eventually(reached)
