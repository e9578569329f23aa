"""Scheduled cleanup (docs/patterns/cleanup.md): the cron fires on the fake clock and deletes in batches."""

from __future__ import annotations

from datetime import timedelta

from examples.patterns import cleanup, services

from tests.patterns.conftest import Serve, runs_of, settled


async def test_the_nightly_run_deletes_every_expired_session_in_batches(engine: Serve) -> None:
    harness = await engine(cleanup)
    services.warehouse.expired_sessions = 2500
    assert await runs_of(harness, "maintenance-delete-expired-sessions") == []  # nothing before 03:00
    [run] = await settled(harness, "maintenance-delete-expired-sessions", step=timedelta(hours=1))
    assert (run["status"], run["output"]) == ("Completed", 2500)
    steps = [step["id"] for step in (await harness.run(run["run_id"]))["steps"]]
    assert steps == ["delete-batch-0", "delete-batch-1", "delete-batch-2"]
    assert services.warehouse.expired_sessions == 0
