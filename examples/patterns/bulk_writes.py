"""Batched bulk writes: page views arrive one by one; the warehouse gets one insert per hundred."""

from __future__ import annotations

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="analytics")


@client.create_function(
    fn_id="store-page-views",
    trigger=stepstone.TriggerEvent(event="web/page.viewed"),
    batch_events=stepstone.Batch(max_size=100, timeout="10s"),  # 100 events, or whatever came in 10 s
)
async def store_page_views(ctx: stepstone.Context) -> int:
    rows = [{"event_id": event.id, "path": event.data["path"]} for event in ctx.events]
    # One step for the whole batch: one insert, and the event ids let the table ignore a replayed row.
    return await ctx.step.run("insert-rows", services.warehouse.insert_many, rows)


functions = [store_page_views]
