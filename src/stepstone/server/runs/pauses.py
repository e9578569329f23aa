"""Pauses: runs waiting for an event (wait_for_event), for a child run (invoke), for a signal
(wait_for_signal), or to be cancelled.

A wait matches events stored after the call that reported it was dispatched (a store sequence
number, not a clock), so an event that arrives while the pause is being saved is found by the
look-back below; the earliest matching event wins, and a pause resumes exactly once because only
the caller that deletes it resumes it.

A signal reaches at most one run: the one whose pause holds `signal:<name>` as its correlation id.
A later wait for the same signal fails its run, or (`conflict: "replace"`) takes the signal over,
and the earlier wait stays until its timeout, out of every signal's reach (as Inngest does).
"""

from __future__ import annotations

from typing import Any

import orjson

from stepstone.protocol import events as wire_events
from stepstone.protocol import opcodes
from stepstone.server.core import expressions
from stepstone.server.core.observe import FactKind
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Work
from stepstone.server.runs import lifecycle
from stepstone.server.store.records import (
    EventRecord,
    ItemKind,
    PauseKind,
    PauseRecord,
    QueueItemRecord,
    RunRecord,
    RunStatus,
    StepStatus,
)

_LOOKBACK_LIMIT = 10_000


def timeout_key(pause_id: str) -> str:
    return f"{pause_id}:timeout"


def create(work: Work, run: RunRecord, pause: PauseRecord) -> None:
    """Save a wait or invoke pause, unless an event stored since `pause.min_seq` already matches it."""
    if pause.kind == PauseKind.WAIT:
        work.locks.lock_name(f"event:{pause.event_name}", exclusive=True)
        for event in work.events.events_after(pause.min_seq, pause.event_name, _LOOKBACK_LIMIT):
            if _matches(pause, event):
                resolve(work, pause, event, run=run)
                return
    work.pauses.insert_pause(pause)
    queueing.enqueue(
        work,
        QueueItemRecord(
            id=work.new_id(),
            kind=ItemKind.PAUSE_TIMEOUT,
            run_at=pause.expires_at,
            run_id=run.id,
            function_id=run.function_id,
            payload_json=orjson.dumps({"pause_id": pause.id}).decode(),
            job_key=timeout_key(pause.id),
            created_at=work.now,
        ),
    )


def signal_key(name: str) -> str:
    """The correlation id of the pause that a signal named `name` reaches."""
    return f"signal:{name}"


def create_signal_wait(work: Work, run: RunRecord, pause: PauseRecord, *, replace: bool) -> PauseRecord | None:
    """Save a wait for the signal `pause.correlation_id`; None when it is saved, else the pause of the
    other run that waits for it already (and nothing is saved): with `replace`, that pause stays until
    its timeout but no signal reaches it any more, and the new one is saved."""
    key = str(pause.correlation_id)
    work.locks.lock_name(key, exclusive=True)  # after the run's lock, as in `deliver_signal`
    existing = work.pauses.get_pause_by_correlation(key)
    if existing is not None:
        if (existing.run_id, existing.step_id) == (pause.run_id, pause.step_id):
            return None  # this very wait, reported again
        if not replace and existing.expires_at > work.now:
            return existing
        work.pauses.delete_pause(existing.id)  # re-saved under the same id: its timeout still finds it
        existing.correlation_id = None
        work.pauses.insert_pause(existing)
    create(work, run, pause)
    return None


def deliver_signal(work: Work, name: str, data: Any) -> str | None:
    """Resume the run waiting for the signal `name` with `{"signal", "data"}`; its id, or None when no run waits."""
    resumed = _deliver_signal(work, name, data)
    if resumed is None:
        work.observe(FactKind.SIGNAL_SENT, status="no_waiter")
    else:
        work.observe(FactKind.SIGNAL_SENT, resumed, status="resumed")
    return resumed.id if resumed is not None else None


def _deliver_signal(work: Work, name: str, data: Any) -> RunRecord | None:
    key = signal_key(name)
    for _ in range(3):  # the run's lock before the signal's (the order a new wait takes them in)
        found = work.pauses.get_pause_by_correlation(key)
        if found is None or found.expires_at <= work.now:
            return None  # (an expired wait resumes with null through its timeout)
        run = work.runs.lock_run(found.run_id)
        work.locks.lock_name(key, exclusive=True)
        pause = work.pauses.get_pause_by_correlation(key)
        if pause is None or pause.id != found.id:
            continue  # replaced or resumed meanwhile: look again
        if not work.pauses.delete_pause(pause.id):
            return None
        work.queue.delete_queue_item_by_key(timeout_key(pause.id))
        if run is None or run.status.ended:
            return None
        _resume(work, run, pause, opcodes.memo_data({"signal": name, "data": data}), failed=False)
        return run
    return None


def _matches(pause: PauseRecord, event: EventRecord) -> bool:
    if not pause.expression:
        return True
    variables = {"event": orjson.loads(pause.trigger_event_json), "async": event.payload}
    return expressions.compile_expression(pause.expression).matches(variables)


def resolve(work: Work, pause: PauseRecord, event: EventRecord | None, *, run: RunRecord | None = None) -> None:
    """Resume a consumed pause with `event` (None: it timed out)."""
    run = run or work.runs.lock_run(pause.run_id)
    work.queue.delete_queue_item_by_key(timeout_key(pause.id))
    if run is None or run.status.ended:
        return
    if pause.kind == PauseKind.CANCEL:
        if event is not None:
            lifecycle.finalize(
                work, run, RunStatus.CANCELLED, output_json=None, reason=f"cancelled by event {event.name}"
            )
        return
    memo, failed = _memo(pause, event)
    _resume(work, run, pause, memo, failed=failed)


def _resume(work: Work, run: RunRecord, pause: PauseRecord, memo: Any, *, failed: bool) -> None:
    step = work.runs.get_step(run.id, pause.step_id)
    if step is None:
        return
    step.memo_json = orjson.dumps(memo).decode()
    step.status = StepStatus.FAILED if failed else StepStatus.COMPLETED
    step.ended_at = work.now
    lifecycle.finish_step(work, run, step)


def _memo(pause: PauseRecord, event: EventRecord | None) -> tuple[Any, bool]:
    if pause.kind == PauseKind.SIGNAL:
        return None, False  # timed out (a signal resumes through `deliver_signal`)
    if pause.kind == PauseKind.WAIT:
        return (event.payload if event is not None else None), False
    if event is None:
        return opcodes.memo_error(opcodes.INVOKE_TIMEOUT_ERROR), True
    data = event.payload.get("data") or {}
    if data.get("error") is not None:
        return opcodes.memo_error(data["error"]), True
    return opcodes.memo_data(data.get("result")), False


def expire(work: Work, item: QueueItemRecord) -> None:
    """A pause's timeout came due: resume it with nothing, if it is still waiting."""
    pause = work.pauses.get_pause(str(item.payload.get("pause_id", "")))
    if pause is not None and work.pauses.delete_pause(pause.id):
        resolve(work, pause, None)


def invoke_failed(work: Work, payload: dict[str, Any], message: str) -> None:
    """Answer an invoke (the `function.invoked` event `payload`) at once with an error: its target is missing,
    rate limited or skipped. The parent's pause resumes when the emitted `function.finished` is recorded."""
    meta = (payload.get("data") or {}).get("_inngest", {})
    work.emit(
        {
            "name": wire_events.FUNCTION_FINISHED,
            "data": {
                "function_id": meta.get("fn_id"),
                "correlation_id": meta.get("correlation_id"),
                "error": {"error": message, "name": "Error", "message": message},
                "_inngest": {"status": "Failed"},
            },
            "ts": work.now,
        }
    )


def invoked_event(work: Work, run: RunRecord, op: opcodes.Op, correlation_id: str, expires_at: int) -> dict[str, Any]:
    """The `inngest/function.invoked` event that starts the child run of an invoke."""
    opts = op.opts or {}
    payload = opts.get("payload") or {}
    data = dict(payload.get("data") or {})
    data["_inngest"] = {
        "fn_id": str(opts.get("function_id", "")),
        "correlation_id": correlation_id,
        "expire": expires_at,
        "source_fn_id": run.function_slug,
        "source_run_id": run.id,
        "name": op.user_id,
    }
    event: dict[str, Any] = {"name": wire_events.FUNCTION_INVOKED, "data": data, "ts": work.now}
    if payload.get("v") is not None:
        event["v"] = payload["v"]
    return event
