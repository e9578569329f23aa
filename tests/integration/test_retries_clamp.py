"""`retries=50` from the official Python SDK (which sends any count >= 0): synced, clamped to 20, and said so."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import fastapi
import httpx
import inngest
import inngest.fast_api
import pytest

from tests.harness import Harness, eventually, free_socket

MESSAGE = "function 'official-clamped-flaky-fn': retries: 50 is over the maximum of 20; each step gets 20 retries"


def build(engine_url: str) -> fastapi.FastAPI:
    client = inngest.Inngest(
        app_id="official-clamped", is_production=False, api_base_url=engine_url, event_api_base_url=engine_url
    )

    @client.create_function(fn_id="flaky-fn", trigger=inngest.TriggerEvent(event="test/clamped"), retries=50)
    async def flaky(ctx: inngest.Context) -> str:
        async def fail() -> str:
            raise ValueError("not today")

        return await ctx.step.run("fail", fail)

    app = fastapi.FastAPI()
    inngest.fast_api.serve(app, client, [flaky])
    return app


async def test_the_sync_reports_the_clamp_and_steps_get_twenty_retries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stepstone")
    harness = Harness(tmp_path, retry_interval=timedelta(seconds=1))
    await harness.start()
    try:
        served = await harness.serve_app(build(harness.url), free_socket())
        async with httpx.AsyncClient() as client:  # the sync as `stepstone dev -u` or a deploy hook makes it
            answer = await client.put(f"{served.url}/api/inngest")
        assert answer.status_code == 200 and answer.json()["warnings"] == [MESSAGE]  # the SDK relays the engine's
        adjusted = [r for r in caplog.records if r.__dict__.get("action") == "sync.adjusted"]
        assert [r.getMessage() for r in adjusted] == [f"app 'official-clamped': {MESSAGE}"]
        assert adjusted[0].levelno == logging.WARNING
        await harness.send("test/clamped")

        async def retrying() -> logging.LogRecord | None:
            found = [r for r in caplog.records if r.__dict__.get("action") == "step.retrying"]
            return found[0] if found else None

        first = await eventually(retrying)
        assert 'step "fail" failed (attempt 1 of 21): ValueError: not today; retrying in 1s at ' in first.getMessage()
    finally:
        await harness.stop()
