"""Scheduled cleanup: every night at 03:00 UTC, delete expired sessions in bounded batches."""

from __future__ import annotations

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="maintenance")

BATCH = 1000  # rows per step: each step is short, and a crash loses at most one batch of work
MAX_BATCHES = 50  # a bound on the steps of one run (the limit is 1,000); the next night goes on


@client.create_function(
    fn_id="delete-expired-sessions",
    trigger=stepstone.TriggerCron(cron="TZ=UTC 0 3 * * *"),
    singleton=stepstone.Singleton(mode="skip"),  # a slow night never overlaps the next one
)
async def delete_expired_sessions(ctx: stepstone.Context) -> int:
    deleted = 0
    for batch in range(MAX_BATCHES):
        count = await ctx.step.run(f"delete-batch-{batch}", services.warehouse.delete_expired_sessions, BATCH)
        deleted += count
        if count < BATCH:
            break
    return deleted


functions = [delete_expired_sessions]
