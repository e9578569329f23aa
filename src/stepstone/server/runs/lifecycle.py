"""Run lifecycle as transaction scripts: create, step outcomes and discovery, finalize.

A run waits on a set of *pending* steps (planned steps, sleeps, waits, invokes reported
together). When a step finishes it leaves the set; the next discovery call is enqueued when the
set empties (or at once for a step of a `race` group), so parallel branches fan in to one call.
"""

from __future__ import annotations

from typing import Any

import orjson

from stepstone.protocol import durations
from stepstone.protocol import events as wire_events
from stepstone.protocol.opcodes import Opcode
from stepstone.server.core.observe import FactKind
from stepstone.server.functions.registry import Registered
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Work, error_text
from stepstone.server.store.records import (
    EventRecord,
    ItemKind,
    PauseKind,
    PauseRecord,
    QueueItemRecord,
    RunConstraints,
    RunRecord,
    RunStatus,
    StepRecord,
)

CANCELLED_ERROR = {"error": "function cancelled", "name": "Error", "message": "function cancelled"}


def create_run(
    work: Work,
    fn: Registered,
    events: list[EventRecord],
    *,
    parent: str | None = None,
    cron: str | None = None,
    original_run_id: str | None = None,
    delay_ms: int = 0,
    constraints: RunConstraints | None = None,
    batch_id: str | None = None,
    first_target: str = "",
) -> RunRecord:
    """Create a queued run of `fn` for `events` (already stored) and enqueue its first call.

    The first call is due now, or `delay_ms` from now: an event sent with a `ts` in the future
    starts its runs then, as Inngest schedules them (docs: "Delayed Functions"). It discovers, or runs
    the step `first_target` (a rerun from a step with a new input: the TypeScript SDK runs a step whose
    state holds an input only when the call targets it).
    """
    catalog = work.catalog()
    run = RunRecord(
        id=work.new_id(),
        function_id=fn.id,
        function_slug=fn.slug,
        function_version=fn.record.version,
        app_version=catalog.app_versions.get(fn.record.app_id),
        event_id=events[0].internal_id,
        status=RunStatus.QUEUED,
        created_at=work.now,
        parent=parent,
        cron=cron,
        original_run_id=original_run_id,
        constraints_json=(constraints or RunConstraints()).dump(),
        batch_id=batch_id,
    )
    start = work.now + max(delay_ms, 0)
    work.runs.insert_run(run, [event.seq for event in events])
    work.observe(FactKind.RUN_SCHEDULED, run)
    enqueue_call(work, run, first_target, at=start, first=True)
    _write_cancel_pauses(work, fn, run, events)
    timeouts = fn.config.timeouts
    if timeouts is not None and timeouts.start:
        _enqueue_timer(work, run, ItemKind.START_TIMEOUT, start + _millis(timeouts.start))
    return run


def _millis(duration: str) -> int:
    return int(durations.parse_duration(duration).total_seconds() * 1000)


def _write_cancel_pauses(work: Work, fn: Registered, run: RunRecord, events: list[EventRecord]) -> None:
    default = int(work.settings.limits.default_cancel_timeout.total_seconds() * 1000)
    for cancel in fn.config.cancel or []:
        timeout = _millis(cancel.timeout) if cancel.timeout else default
        work.pauses.insert_pause(
            PauseRecord(
                id=work.new_id(),
                run_id=run.id,
                kind=PauseKind.CANCEL,
                event_name=cancel.event,
                trigger_event_json=events[0].payload_json,
                min_seq=events[-1].seq,
                expires_at=work.now + timeout,
                created_at=work.now,
                expression=cancel.if_exp,
            )
        )


def _enqueue_timer(work: Work, run: RunRecord, kind: ItemKind, at: int) -> None:
    queueing.enqueue(
        work,
        QueueItemRecord(
            id=work.new_id(),
            kind=kind,
            run_at=at,
            run_id=run.id,
            function_id=run.function_id,
            job_key=f"{run.id}:{kind}",
            created_at=work.now,
        ),
    )


def enqueue_call(work: Work, run: RunRecord, target: str = "", *, at: int | None = None, first: bool = False) -> None:
    """Enqueue a call, due now or `at`: discovery (no target; at most one per run per script) or one
    planned step. The call carries the run's concurrency keys and priority; the first call also its
    throttle."""
    if not target:
        if run.id in work.discovered:
            return
        work.discovered.add(run.id)
    limits = run.constraints
    run_at = work.now if at is None else at
    item = QueueItemRecord(
        id=work.new_id(),
        kind=ItemKind.CALL,
        run_at=run_at,
        run_id=run.id,
        function_id=run.function_id,
        target=target,
        job_key=f"{run.id}:plan:{target}" if target else None,
        created_at=work.now,
        partition=limits.partition,
        score=run_at - limits.priority_ms,
        ckey1=limits.ckey1,
        climit1=limits.climit1,
        ckey2=limits.ckey2,
        climit2=limits.climit2,
        priority=limits.priority_ms // 1000,
    )
    item.set_throttle(limits.throttle if first else None)
    queueing.enqueue(work, item)


def create_skipped(
    work: Work, fn: Registered, events: list[EventRecord], *, reason: str, original_run_id: str | None = None
) -> RunRecord:
    """Record a run that will not execute (a singleton key was held): status Skipped, with why."""
    run = RunRecord(
        id=work.new_id(),
        function_id=fn.id,
        function_slug=fn.slug,
        function_version=fn.record.version,
        app_version=work.catalog().app_versions.get(fn.record.app_id),
        event_id=events[0].internal_id,
        status=RunStatus.SKIPPED,
        created_at=work.now,
        ended_at=work.now,
        reason=reason,
        original_run_id=original_run_id,
    )
    work.runs.insert_run(run, [event.seq for event in events])
    work.note_run(run, "run.skipped", "skipped: %s", reason)
    work.observe(FactKind.FLOW_HELD, run, status="singleton")
    return run


def mark_started(work: Work, run: RunRecord, fn: Registered) -> None:
    """The first call of a run is going out: it is Running from now, and `timeouts.finish` starts."""
    run.status = RunStatus.RUNNING
    run.started_at = work.now
    work.runs.update_run(run)
    work.note_run(run, "run.started", "started")
    work.observe(FactKind.RUN_STARTED, run, started_ms=run.created_at)
    timeouts = fn.config.timeouts
    if timeouts is not None and timeouts.finish:
        _enqueue_timer(work, run, ItemKind.FINISH_TIMEOUT, work.now + _millis(timeouts.finish))


def add_pending(run: RunRecord, hashed_id: str, mode: str) -> None:
    pending = run.pending
    pending[hashed_id] = mode
    run.set_pending(pending)


def finish_step(work: Work, run: RunRecord, step: StepRecord, *, discover: bool = True) -> bool:
    """Store a step's outcome (the first one wins) and enqueue discovery when the run may go on.

    Discovery follows when the step was not pending (it ran inside a discovery call), when it
    was the last pending step, or when it belongs to a `race` group. The run row is written only
    when its pending set changed. Returns whether the outcome was written by this call.
    """
    written = work.runs.save_step(step)
    if written:
        _observe_step(work, run, step)
    pending = run.pending
    mode = pending.pop(step.hashed_id, None)
    if mode is not None:
        run.set_pending(pending)
        if not pending and run.request_version >= 2:
            run.force_plan = False
        work.runs.update_run(run)
    if discover and (mode is None or not pending or mode == "race"):
        enqueue_call(work, run)
    return written


_RAN_IN_A_CALL = frozenset({str(Opcode.STEP_RUN), str(Opcode.STEP_ERROR), str(Opcode.STEP_FAILED)})


def _observe_step(work: Work, run: RunRecord, step: StepRecord) -> None:
    """A step's outcome was stored: it ran from its call's start (a step the app ran), else from its start."""
    started = step.started_at
    if step.op in _RAN_IN_A_CALL and work.call_started is not None:
        started = work.call_started
    work.observe(
        FactKind.STEP_ENDED,
        run,
        status=str(step.status),
        started_ms=started,
        step_id=step.user_id,
        hashed_id=step.hashed_id,
        op=step.op,
        attempt=max(step.attempts - 1, 0),
        deadline_ms=step.deadline,
    )


def finalize(
    work: Work,
    run: RunRecord,
    status: RunStatus,
    *,
    output_json: str | None,
    error: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """End a run: store its status and output, drop its queue items and pauses, emit system events."""
    if run.status.ended:
        return
    run.status = status
    run.ended_at = work.now
    run.output_json = output_json
    run.reason = reason
    if run.started_at is None and status != RunStatus.SKIPPED:
        run.started_at = work.now
    work.runs.update_run(run)
    work.queue.delete_run_items(run.id)
    work.pauses.delete_run_pauses(run.id)
    work.flow.delete_run_singletons(run.id)
    work.emit(*_system_events(work, run, status, error))
    _note_end(work, run, error)
    failure = error_text(error) if status == RunStatus.FAILED else None
    work.observe(FactKind.RUN_ENDED, run, status=str(status), started_ms=run.created_at, error=failure)


def _note_end(work: Work, run: RunRecord, error: dict[str, Any] | None) -> None:
    if run.status == RunStatus.COMPLETED:
        work.note_run(run, "run.completed", "completed")
    elif run.status == RunStatus.FAILED:
        text = error_text(error)
        work.note_run(run, "run.failed", "failed: %s", text, error=text)
    elif run.status == RunStatus.CANCELLED:
        work.note_run(run, "run.cancelled", "cancelled: %s", run.reason or "cancelled")
    else:
        work.note_run(run, "run.skipped", "skipped: %s", run.reason or "skipped")


def _system_events(work: Work, run: RunRecord, status: RunStatus, error: dict[str, Any] | None) -> list[dict[str, Any]]:
    trigger_events = [event.payload for event in work.events.get_events_by_seq(work.runs.run_event_seqs(run.id))]
    data: dict[str, Any] = {
        "function_id": run.function_slug,
        "run_id": run.id,
        "event": trigger_events[0] if trigger_events else {},
        "events": trigger_events,
        "_inngest": {"status": str(status)},
    }
    if run.parent:
        data["correlation_id"] = run.parent
    if status == RunStatus.COMPLETED:
        data["result"] = orjson.loads(run.output_json) if run.output_json else None
    elif status == RunStatus.CANCELLED:
        data["error"] = error or CANCELLED_ERROR
    elif error is not None:
        data["error"] = error
    emitted = [{"name": wire_events.FUNCTION_FINISHED, "data": data, "id": work.new_id(), "ts": work.now}]
    if status == RunStatus.FAILED:
        emitted.append({"name": wire_events.FUNCTION_FAILED, "data": data, "id": run.id, "ts": work.now})
    elif status == RunStatus.CANCELLED:
        emitted.append({"name": wire_events.FUNCTION_CANCELLED, "data": data, "id": run.id, "ts": work.now})
    return emitted
