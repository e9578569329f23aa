"""Polling an external job (docs/patterns/polling.md): checks spaced by sleeps until the job is done."""

from __future__ import annotations

from datetime import timedelta

from examples.patterns import polling, services

from tests.patterns.conftest import Serve, run_of, step_reached


async def test_the_run_sleeps_between_checks_until_the_job_is_done(engine: Serve) -> None:
    harness = await engine(polling)
    services.jobs.checks_needed = 3
    event_id = await harness.send("media/video.uploaded", {"video_id": "v9"})
    await step_reached(harness, event_id, "wait-0", "Sleeping")
    assert services.jobs.checks == 1
    await harness.advance(timedelta(minutes=4))
    await step_reached(harness, event_id, "wait-0", "Sleeping")  # not yet five minutes
    run = await run_of(harness, event_id, "media-transcode-video", step=timedelta(minutes=5))
    assert run["output"] == {"job_id": "job-v9", "url": "https://files.example.com/job-v9.mp4", "checks": 3}
    assert services.jobs.checks == 3
    assert [step["id"] for step in run["steps"]] == ["start-job", "check-0", "wait-0", "check-1", "wait-1", "check-2"]
