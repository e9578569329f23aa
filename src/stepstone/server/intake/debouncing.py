"""Debounce: a burst of events starts one run, with the last event, once the burst has been quiet.

Each event restarts the `period` timer and replaces the held event; with a `timeout`, the run starts
no later than that after the window's first event (reference §B4.11). The window is a row (one per
function and key) and a queue item due when the window closes.
"""

from __future__ import annotations

import orjson

from stepstone.server.core.observe import FactKind
from stepstone.server.functions.registry import Registered
from stepstone.server.intake import flow
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Work
from stepstone.server.store.records import DebounceRecord, EventRecord, ItemKind, QueueItemRecord


def _job_key(function_id: str, key: str) -> str:
    return f"debounce:{function_id}:{key}"


def push(work: Work, fn: Registered, event: EventRecord) -> None:
    """Hold `event` as the latest of its window (opening one), and move the window's end."""
    config = fn.config.debounce
    assert config is not None
    key = flow.key_of(config.key, event.payload) or ""
    work.locks.lock_name(_job_key(fn.id, key), exclusive=True)
    window = work.flow.lock_debounce(fn.id, key)
    first_at = window.first_at if window else work.now
    due = work.now + flow.millis(config.period)
    if config.timeout:
        due = min(due, first_at + flow.millis(config.timeout))
    work.flow.put_debounce(DebounceRecord(fn.id, key, event.seq, first_at, due))
    work.observe(FactKind.FLOW_HELD, fn=fn.slug, status="debounce")
    if window is not None:
        for replaced in work.events.get_events_by_seq([window.event_seq]):
            flow.skip(work, fn, replaced, flow.DEBOUNCED)
    if window is None:
        queueing.enqueue(
            work,
            QueueItemRecord(
                id=work.new_id(),
                kind=ItemKind.DEBOUNCE,
                run_at=due,
                function_id=fn.id,
                payload_json=orjson.dumps({"key": key}).decode(),
                job_key=_job_key(fn.id, key),
                created_at=work.now,
            ),
        )
    else:
        work.flow.reschedule_by_key(_job_key(fn.id, key), due)


def fire(work: Work, item: QueueItemRecord) -> None:
    """A window's item came due: start the run with the latest event, unless the window moved on."""
    key = str(item.payload.get("key", ""))
    function_id = item.function_id or ""
    work.locks.lock_name(_job_key(function_id, key), exclusive=True)
    window = work.flow.lock_debounce(function_id, key)
    fn = work.catalog().get(function_id)
    if window is not None and window.due_at > work.now and fn is not None:
        item.run_at = window.due_at
        work.queue.reschedule(item)
        return
    work.queue.delete_queue_item(item.id)
    if window is None:
        return
    work.flow.delete_debounce(function_id, key)
    if fn is not None:
        flow.start(work, fn, work.events.get_events_by_seq([window.event_seq]))
