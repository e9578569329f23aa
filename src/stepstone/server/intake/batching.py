"""Batching: events are collected per function and key, and one run receives up to `max_size` of them.

A batch starts its run when it is full (or over 10 MiB), or when `timeout` has passed since its first
event; an event whose `if` is not true runs at once, alone (reference §B4.12). The run's `events` are
the batch's, in order, and its `event` is the first.
"""

from __future__ import annotations

import orjson

from stepstone.server.core import expressions
from stepstone.server.core.observe import FactKind
from stepstone.server.functions.registry import Registered
from stepstone.server.intake import flow
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Work
from stepstone.server.store.records import BatchRecord, EventRecord, ItemKind, QueueItemRecord

MAX_BATCH_BYTES = 10 * 1024 * 1024
DEFAULT_TIMEOUT_MS = 60_000


def applies(fn: Registered, payload: dict[str, object]) -> bool:
    """Whether this event is batched (no `if`, or an `if` that is true for it)."""
    config = fn.config.batch_events
    if config is None:
        return False
    return not config.if_exp or expressions.compile_expression(config.if_exp).matches({"event": payload})


def add(work: Work, fn: Registered, event: EventRecord) -> None:
    """Put `event` in the function's open batch for its key (opening one); start the run when full."""
    config = fn.config.batch_events
    assert config is not None
    key = flow.key_of(config.key, event.payload) or ""
    work.locks.lock_name(f"batch:{fn.id}:{key}", exclusive=True)
    batch = work.flow.lock_open_batch(fn.id, key)
    if batch is None:
        batch = BatchRecord(work.new_id(), fn.id, key, work.now, 0, 0)
        timeout = flow.millis(config.timeout) if config.timeout else DEFAULT_TIMEOUT_MS
        queueing.enqueue(
            work,
            QueueItemRecord(
                id=work.new_id(),
                kind=ItemKind.BATCH,
                run_at=work.now + timeout,
                function_id=fn.id,
                payload_json=orjson.dumps({"batch_id": batch.id}).decode(),
                job_key=f"batch:{batch.id}",
                created_at=work.now,
            ),
        )
    work.flow.add_batch_event(batch.id, batch.size, event.seq)
    work.observe(FactKind.FLOW_HELD, fn=fn.slug, status="batch")
    batch.size += 1
    batch.bytes += len(event.payload_json)
    work.flow.put_batch(batch)
    if batch.size >= config.max_size or batch.bytes >= MAX_BATCH_BYTES:
        close(work, fn, batch)


def close(work: Work, fn: Registered, batch: BatchRecord) -> None:
    """Start the run with the batch's events and forget the batch."""
    events = work.events.get_events_by_seq(work.flow.batch_event_seqs(batch.id))
    work.flow.delete_batch(batch.id)
    work.queue.delete_queue_item_by_key(f"batch:{batch.id}")
    if not events:
        return
    if reason := flow.rate_limited(work, fn, events[0].payload):  # Inngest checks it when the run is scheduled
        for event in events:
            flow.skip(work, fn, event, reason)
        return
    flow.start(work, fn, events, batch_id=batch.id)


def fire(work: Work, item: QueueItemRecord) -> None:
    """A batch's timeout came: start the run with what it collected."""
    work.queue.delete_queue_item(item.id)
    batch_id = str(item.payload.get("batch_id", ""))
    fn = work.catalog().get(item.function_id or "")
    batch = work.flow.get_batch(batch_id)  # locked: `add` holds the same row while it appends
    if batch is None:
        return
    if fn is None:  # the function was removed: its batch goes with it
        work.flow.delete_batch(batch.id)
        return
    close(work, fn, batch)
