"""Events in: store each receipt, start the runs it triggers, and resume the pauses it matches.

Runs are created in the same transaction that stores the event, so an accepted event never loses
its runs. A function runs at most once per event id within the idempotency period (24 h): the
key is the caller's `id`, else the internal id (which a retried seeded request repeats).
"""

from __future__ import annotations

from typing import Any

import orjson

from stepstone.protocol import events as wire_events
from stepstone.server.core import expressions
from stepstone.server.core.observe import FactKind
from stepstone.server.functions.registry import Registered
from stepstone.server.intake import batching, debouncing, flow
from stepstone.server.queue.work import Work
from stepstone.server.runs import pauses
from stepstone.server.store.records import EventRecord, PauseKind

DUPLICATE = "idempotent duplicate: this event id already started a run of the function within 24 h"


def build_record(work: Work, payload: dict[str, Any], internal_id: str, *, source: str) -> EventRecord:
    """The stored form of a validated event: functions receive `id` = the caller's id or the internal id."""
    user_id = str(payload.get("id") or "")
    wire: dict[str, Any] = {
        "name": payload["name"],
        "data": payload.get("data") or {},
        "id": user_id or internal_id,
        "ts": payload.get("ts") or work.now,
        "user": payload.get("user") or {},
    }
    if payload.get("v") is not None:
        wire["v"] = payload["v"]
    return EventRecord(
        seq=0,
        internal_id=internal_id,
        name=str(payload["name"]),
        user_id=user_id,
        payload_json=orjson.dumps(wire).decode(),
        ts=int(wire["ts"]),
        received_at=work.now,
        source=source,
    )


def record_events(
    work: Work,
    payloads: list[dict[str, Any]],
    *,
    source: str,
    internal_ids: list[str] | None = None,
    delays: list[int] | None = None,
) -> list[EventRecord]:
    """Store events (validated already), start the runs they trigger, resume matching pauses.

    `delays` (milliseconds, one per event) postpone the runs of events sent with a future `ts`.
    """
    stored = []
    for position, payload in enumerate(payloads):
        internal_id = internal_ids[position] if internal_ids else work.new_id()
        record = build_record(work, payload, internal_id, source=source)
        work.events.insert_event(record)
        if source != "engine":
            work.observe(FactKind.EVENT_RECEIVED, status=record.name)
        stored.append(record)
        route(work, record, delay_ms=delays[position] if delays else 0)
        work.locks.lock_name(f"event:{record.name}", exclusive=False)
        match_pauses(work, record)
    return stored


def drain(work: Work) -> None:
    """Record the events the script emitted (`Work.emit`), and those their runs and pauses emit in turn,
    until the outbox is empty: all in the script's transaction."""
    while work.outbox:
        emitted, work.outbox = work.outbox, []
        record_events(work, emitted, source="engine")


def route(work: Work, event: EventRecord, *, delay_ms: int = 0) -> None:
    """Start a run of every function the event triggers (once per function per event id)."""
    payload = event.payload
    matched, filtered = work.catalog().match_filtered(payload)
    if event.name == wire_events.FUNCTION_INVOKED and not matched:
        _invoke_target_missing(work, payload)
        return
    for fn, expression in filtered:
        flow.skip(work, fn, event, f"{flow.FILTERED}: {expression}")
    key = event.user_id or event.internal_id
    expires = work.now + int(work.settings.limits.idempotency_period.total_seconds() * 1000)
    for fn in matched:
        parent = None
        if event.name == wire_events.FUNCTION_INVOKED:
            parent = (payload.get("data") or {}).get("_inngest", {}).get("correlation_id")
        if fn.paused:
            flow.skip(work, fn, event, flow.PAUSED)
            if parent:
                pauses.invoke_failed(work, payload, "invoked function is paused")
            continue
        if batching.applies(fn, payload):
            batching.add(work, fn, event)
            continue
        if held_back(work, fn, event, parent=parent):
            continue
        if not work.events.claim_idempotency_key(f"run:{fn.id}", key, now=work.now, expires_at=expires):
            flow.skip(work, fn, event, DUPLICATE)
            continue
        flow.start(work, fn, [event], parent=parent, delay_ms=delay_ms)


def held_back(work: Work, fn: Registered, event: EventRecord, *, parent: str | None = None) -> bool:
    """True when no run starts now: the rate limit dropped the event (recorded as a skip; an invoke fails
    at once) or debounce holds it."""
    if reason := flow.rate_limited(work, fn, event.payload):
        flow.skip(work, fn, event, reason)
        if parent:
            pauses.invoke_failed(work, event.payload, "invoked function is rate limited")
        return True
    if fn.config.debounce is not None:
        debouncing.push(work, fn, event)
        return True
    return False


def _invoke_target_missing(work: Work, payload: dict[str, Any]) -> None:
    meta = (payload.get("data") or {}).get("_inngest", {})
    pauses.invoke_failed(work, payload, f"could not find function with ID: {meta.get('fn_id')}")


def match_pauses(work: Work, event: EventRecord) -> None:
    """Resume every pause the event matches; each pause resumes once (the earliest event wins)."""
    payload = event.payload
    if event.name == wire_events.FUNCTION_FINISHED:
        correlation = (payload.get("data") or {}).get("correlation_id")
        if correlation:
            pause = work.pauses.get_pause_by_correlation(str(correlation))
            if pause is not None and work.pauses.delete_pause(pause.id):
                pauses.resolve(work, pause, event)
    for pause in work.pauses.candidate_pauses(event.name, before_seq=event.seq, now=work.now):
        if pause.kind == PauseKind.INVOKE:
            continue
        if pause.expression:
            variables = {"event": orjson.loads(pause.trigger_event_json), "async": payload}
            if not expressions.compile_expression(pause.expression).matches(variables):
                continue
        if work.pauses.delete_pause(pause.id):
            pauses.resolve(work, pause, event)
