"""Cron schedules: one queue item per function and schedule holds the next tick.

A tick's item carries a job key made of the function, the expression and the tick time, so it is
enqueued once however many times it is scheduled. Processing a tick starts one run (with an
`inngest/scheduled.timer` event) and enqueues the next tick after *now*: ticks missed while no
engine ran fire once, not once per tick.
"""

from __future__ import annotations

import orjson

from stepstone.protocol import durations
from stepstone.protocol import events as wire_events
from stepstone.server.core import clock, cron
from stepstone.server.functions.registry import CronTrigger, Registered
from stepstone.server.intake import flow, ingest
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Work
from stepstone.server.store.records import ItemKind, QueueItemRecord, SkipRecord


def schedule_function(work: Work, fn: Registered) -> None:
    """(Re)enqueue the next tick of each of the function's cron triggers."""
    work.queue.delete_function_items(fn.id, str(ItemKind.CRON))
    for trigger in fn.crons:
        _enqueue_next(work, fn, trigger, after=work.now)


def _enqueue_next(work: Work, fn: Registered, trigger: CronTrigger, *, after: int) -> None:
    tick = durations.to_millis(trigger.schedule.next_after(clock.to_datetime(after)))
    jitter = cron.jitter_offset(f"{fn.id}:{trigger.expression}:{tick}", trigger.jitter) if trigger.jitter else None
    run_at = tick + (int(jitter.total_seconds() * 1000) if jitter else 0)
    queueing.enqueue(
        work,
        QueueItemRecord(
            id=work.new_id(),
            kind=ItemKind.CRON,
            run_at=run_at,
            function_id=fn.id,
            payload_json=orjson.dumps({"cron": trigger.expression, "tick": tick}).decode(),
            job_key=f"cron:{fn.id}:{trigger.expression}:{tick}",
            created_at=work.now,
        ),
    )


def tick(work: Work, item: QueueItemRecord) -> None:
    """A tick came due: start the run (once per tick) and schedule the next tick."""
    work.queue.delete_queue_item(item.id)
    fn = work.catalog().get(item.function_id or "")
    expression = str(item.payload.get("cron", ""))
    trigger = next((c for c in fn.crons if c.expression == expression), None) if fn else None
    if fn is None or trigger is None:
        return  # the function or this schedule was removed by a later sync
    scheduled = int(item.payload.get("tick", item.run_at))
    scheduled_at = durations.format_time(clock.to_datetime(scheduled))
    payload = {
        "name": wire_events.SCHEDULED_TIMER,
        "data": {
            "cron": expression,
            "scheduledAt": scheduled_at,
            "fireAt": durations.format_time(clock.to_datetime(work.now)),
        },
        "id": scheduled_at,
        "ts": work.now,
    }
    event = ingest.build_record(work, payload, work.new_id(), source="cron")
    work.events.insert_event(event)
    expires = work.now + int(work.settings.limits.idempotency_period.total_seconds() * 1000)
    if fn.paused:
        flow.skip(work, fn, event, flow.PAUSED)
    elif work.events.claim_idempotency_key(
        f"cron:{fn.id}", f"{expression}@{scheduled}", now=work.now, expires_at=expires
    ):
        if not ingest.held_back(work, fn, event):
            flow.start(work, fn, [event], cron=expression)
    else:
        work.events.insert_skip(SkipRecord(event.internal_id, fn.id, fn.slug, ingest.DUPLICATE, work.now))
    _enqueue_next(work, fn, trigger, after=max(scheduled, work.now))
