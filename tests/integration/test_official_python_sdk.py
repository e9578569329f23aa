"""The engine against functions written with the official Inngest Python SDK, in process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.harness import Harness, free_socket
from tests.integration import official_app


@pytest.fixture
async def setup(tmp_path: Path):
    harness = Harness(tmp_path, retry_interval=timedelta(seconds=1))
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
