"""Polling an external job: start it, then check every five minutes, sleeping in between, until it is done."""

from __future__ import annotations

from typing import Any

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="media")

MAX_CHECKS = 48  # four hours of checks: a bound, so a job that never ends cannot run up the step limit


@client.create_function(fn_id="transcode-video", trigger=stepstone.TriggerEvent(event="media/video.uploaded"))
async def transcode_video(ctx: stepstone.Context) -> dict[str, Any]:
    job_id = await ctx.step.run("start-job", services.jobs.start, ctx.event.data["video_id"])
    for check in range(MAX_CHECKS):
        status = await ctx.step.run(f"check-{check}", services.jobs.status, job_id)
        if status["state"] == "done":
            return {"job_id": job_id, "url": status["url"], "checks": check + 1}
        await ctx.step.sleep(f"wait-{check}", "5m")  # the run sleeps in the engine; nothing is held
    raise stepstone.NonRetriableError(f"job {job_id} still running after {MAX_CHECKS} checks")


functions = [transcode_video]
