"""Retention: runs that ended long ago go, with their events; live runs and their events stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from stepstone.server.execution import retention
from tests.harness import Harness, free_socket
from tests.integration import sdk_app


@pytest.fixture
async def harness(tmp_path: Path, backend: dict):
    harness = Harness(tmp_path, backend, retention=timedelta(days=1))
    await harness.start()
    app, client = sdk_app.build(harness.url, {})
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield harness
    await harness.stop()
    await client.aclose()


async def test_old_finished_runs_and_their_events_are_deleted(harness: Harness) -> None:
    done_event = await harness.send("shop/tax", {"amount": 10})
    done = await harness.wait_run(done_event)
    waiting_event = await harness.send("shop/approval", {"order": "keep"})
    waiting = await harness.wait_run(waiting_event, status="Running")
    assert (await retention.sweep(harness.engine.executor)).runs == 0  # nothing old yet
    harness.clock.advance(timedelta(hours=25))
    swept = await retention.sweep(harness.engine.executor)
    assert swept.runs >= 1 and swept.events >= 1
    assert (await harness.http.get(f"/v1/runs/{done['run_id']}")).status_code == 404
    assert (await harness.http.get(f"/v1/events/{done_event}")).status_code == 404
    kept = await harness.http.get(f"/v1/runs/{waiting['run_id']}")  # it ended (timed out) less than a day ago
    assert kept.status_code == 200
    assert (await harness.http.get(f"/v1/events/{waiting_event}")).status_code == 200
