"""What an app's answer, or a timer, does to a run: transaction scripts run by the executor.

Every script first checks that the worker still holds the queue item at the generation it
claimed; an answer from a worker whose lease expired (and whose item was claimed again) is
dropped, so a step's outcome is stored once even when two workers called the app.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson

from stepstone.protocol import durations, opcodes
from stepstone.protocol import events as wire_events
from stepstone.server.core import backoff, expressions
from stepstone.server.core.observe import FactKind
from stepstone.server.functions.registry import Registered
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Work
from stepstone.server.runs import lifecycle, nondeterminism, pauses
from stepstone.server.runs.outcomes import Completed, Failed, Ops, Outcome
from stepstone.server.store.records import (
    AttemptRecord,
    ItemKind,
    PauseKind,
    PauseRecord,
    QueueItemRecord,
    RunRecord,
    RunStatus,
    StepHistoryRecord,
    StepRecord,
    StepStatus,
)

_UNREACHABLE_GIVE_UP_MS = 24 * 3600 * 1000
_UNREACHABLE_MAX_DELAY_MS = 5 * 60 * 1000
_WAITING = {
    opcodes.Opcode.STEP_PLANNED,
    opcodes.Opcode.SLEEP,
    opcodes.Opcode.WAIT_FOR_EVENT,
    opcodes.Opcode.INVOKE_FUNCTION,
}


@dataclass(frozen=True)
class CallPlan:
    """Everything a call needs, read in the transaction that checked the lease."""

    run: RunRecord
    function: Registered
    events_json: list[str]
    memos: list[tuple[str, str]]
    dispatch_seq: int  # events stored after this may satisfy a wait the call reports
    # Inputs a rerun from a step gave steps not finished yet (hashed id -> JSON array), sent as `{"input": ...}`.
    inputs: dict[str, str] = field(default_factory=dict)
    # The run's steps in the order first stored, finished or not (`runs.nondeterminism` compares answers with it).
    history: list[StepHistoryRecord] = field(default_factory=list)


def prepare_call(work: Work, item: QueueItemRecord) -> CallPlan | None:
    """Check the lease and the run, mark the run started, and read what the call sends."""
    if not work.queue.holds_lease(item.id, item.generation):
        return None
    run = work.runs.lock_run(item.run_id or "")
    if run is None or run.status.ended:
        work.queue.delete_queue_item(item.id)
        return None
    fn = work.catalog().get(run.function_id)
    if fn is None:
        work.queue.delete_queue_item(item.id)
        fail_run(work, run, "FunctionNotFoundError", f"function {run.function_slug!r} is no longer registered")
        return None
    if run.status == RunStatus.QUEUED:
        lifecycle.mark_started(work, run, fn)
    events = work.events.get_events_by_seq(work.runs.run_event_seqs(run.id))
    history = work.runs.step_history(run.id)  # the memos, and what non-determinism is checked against: one read
    finished = sorted((step for step in history if step.memo_json is not None), key=_finish_order)
    memos = [(step.hashed_id, step.memo_json or "") for step in finished]
    inputs = work.runs.step_inputs(run.id) if run.original_run_id else {}  # only a rerun from a step has any
    for hashed, _ in memos:
        inputs.pop(hashed, None)
    events_json = [event.payload_json for event in events]
    return CallPlan(run, fn, events_json, memos, work.events.last_event_seq(), inputs, history)


def _finish_order(step: StepHistoryRecord) -> int:
    return step.finished_seq or 0


def fail_run(work: Work, run: RunRecord, name: str, message: str) -> None:
    """End a run as Failed for a reason the engine found (not an error from the app)."""
    body = {"name": name, "message": message}
    lifecycle.finalize(
        work, run, RunStatus.FAILED, output_json=orjson.dumps(body).decode(), error={"error": message, **body}
    )


def apply_outcome(work: Work, item: QueueItemRecord, plan: CallPlan, outcome: Outcome) -> None:
    """Advance the run by the app's answer to the call of `item`."""
    if not work.queue.holds_lease(item.id, item.generation):
        return
    run = work.runs.lock_run(plan.run.id)
    if run is None or run.status.ended:
        work.queue.delete_queue_item(item.id)
        return
    if outcome.request_version is not None and run.request_version < 0:
        run.request_version = outcome.request_version
    if _nondeterministic(work, run, item, plan, outcome):
        return
    if isinstance(outcome, Completed):
        work.queue.delete_queue_item(item.id)
        lifecycle.finalize(work, run, RunStatus.COMPLETED, output_json=outcome.output_json)
    elif isinstance(outcome, Failed):
        _failed_attempt(work, run, item, plan, outcome)
    else:
        _apply_ops(work, run, item, plan, outcome)


def _nondeterministic(work: Work, run: RunRecord, item: QueueItemRecord, plan: CallPlan, outcome: Outcome) -> bool:
    """Record what the answer shows of code departing from the run's history; True when that failed the run."""
    findings = nondeterminism.check(
        plan.history,
        used=nondeterminism.parse_used(outcome.steps_used),
        ops=outcome.ops if isinstance(outcome, Ops) else [],
        completed=isinstance(outcome, Completed),
        error_body=orjson.loads(outcome.output_json) if isinstance(outcome, Failed) and item.target else None,
        target=item.target,
        fn=run.function_slug,
        run_id=run.id,
        versions=lambda: nondeterminism.Versions(
            run.function_version,
            plan.function.record.version,
            run.app_version,
            work.catalog().app_versions.get(plan.function.record.app_id),
        ),
    )
    if not findings:
        return False
    for finding in findings:
        if work.runs.insert_run_warning(nondeterminism.warning_record(run, finding, work.now)):
            work.note_run(run, "run.nondeterminism", "%s", finding.message, level=logging.WARNING, code=finding.code)
    mode = plan.function.config.nondeterminism or work.settings.nondeterminism
    if mode != nondeterminism.FAIL:
        return False
    work.queue.delete_queue_item(item.id)
    fail_run(work, run, "NonDeterminismError", nondeterminism.failure_message(findings))
    return True


def _retry_delay(work: Work, failed_attempt: int) -> int:
    return backoff.retry_delay_ms(failed_attempt, fixed=work.settings.retry_interval, rng=work.rng)


def _failed_attempt(work: Work, run: RunRecord, item: QueueItemRecord, plan: CallPlan, outcome: Failed) -> None:
    attempt = item.attempt if item.attempt_step == "" else 0
    work.runs.insert_attempt(AttemptRecord(run.id, "", attempt, orjson.dumps(outcome.error).decode(), work.now))
    if outcome.unreachable:
        payload = item.payload
        since = int(payload.get("unreachable_since", work.now))
        count = int(payload.get("unreachable", 0))
        if work.now - since < _UNREACHABLE_GIVE_UP_MS:
            payload.update(unreachable_since=since, unreachable=count + 1)
            item.payload_json = orjson.dumps(payload).decode()
            item.run_at = work.now + min(_retry_delay(work, count), _UNREACHABLE_MAX_DELAY_MS)
            work.runs.update_run(run)
            queueing.reschedule(work, item)
            work.note_unreachable(run, outcome.error, item.run_at, first=count == 0)
            return
    elif outcome.retryable and attempt + 1 < plan.function.max_attempts:
        item.attempt, item.attempt_step = attempt + 1, ""
        item.run_at = outcome.retry_at or work.now + _retry_delay(work, attempt)
        item.payload_json = "{}"
        work.runs.update_run(run)
        queueing.reschedule(work, item)
        work.note_attempt(run, None, attempt, plan.function.max_attempts, outcome.error, retry_at=item.run_at)
        return
    work.queue.delete_queue_item(item.id)
    lifecycle.finalize(work, run, RunStatus.FAILED, output_json=outcome.output_json, error=outcome.error)


def _priority(op: opcodes.Op) -> int:
    return 0 if op.op == opcodes.Opcode.WAIT_FOR_EVENT else 1


def _apply_ops(work: Work, run: RunRecord, item: QueueItemRecord, plan: CallPlan, outcome: Ops) -> None:
    limits = work.settings.limits
    ops = sorted(outcome.ops, key=_priority)
    steps, _ = work.runs.run_step_stats(run.id)
    if steps + sum(op.op not in opcodes.NOT_STEPS for op in ops) > limits.max_steps_per_run:
        work.queue.delete_queue_item(item.id)
        fail_run(work, run, "StepLimitError", f"the run exceeded {limits.max_steps_per_run} steps")
        return
    retry = next((op for op in ops if op.op == opcodes.Opcode.STEP_ERROR and _retryable(item, plan, op, outcome)), None)
    waiting = any(op.op in _WAITING for op in ops)
    ending = any(op.op == opcodes.Opcode.RUN_COMPLETE for op in ops)  # no discovery call after the end
    if sum(op.op == opcodes.Opcode.STEP_PLANNED for op in ops) > 1 or (waiting and len(ops) > 1):
        run.force_plan = True
    for op in ops:
        if op.op in (opcodes.Opcode.STEP_RUN, opcodes.Opcode.STEP) or op.id in outcome.carried_out:
            memo = op.data if op.op == opcodes.Opcode.STEP else {"data": op.data}
            discover = retry is None and not waiting and not ending
            _finish(work, run, op, memo, StepStatus.COMPLETED, discover=discover, attempt=_attempt(item, op))
        elif op.op in (opcodes.Opcode.STEP_FAILED, opcodes.Opcode.STEP_ERROR) and op is not retry:
            failed = opcodes.memo_error(_record_step_attempt(work, run, item, op, plan.function.max_attempts))
            _finish(work, run, op, failed, StepStatus.FAILED, discover=not waiting, attempt=_attempt(item, op))
    if retry is not None:
        _retry_step(work, run, item, retry, outcome, plan.function.max_attempts)
        return
    work.queue.delete_queue_item(item.id)
    for op in ops:
        if run.status.ended:
            return
        if op.op == opcodes.Opcode.RUN_COMPLETE:
            lifecycle.finalize(work, run, RunStatus.COMPLETED, output_json=orjson.dumps(op.data).decode())
            return
        if op.id not in outcome.carried_out:
            _start_waiting_op(work, run, plan, op)
    if all(op.op in (opcodes.Opcode.NONE, opcodes.Opcode.DISCOVERY_REQUEST) for op in ops):
        lifecycle.enqueue_call(work, run)
    work.runs.update_run(run)
    check_state_size(work, run)


def check_state_size(work: Work, run: RunRecord) -> None:
    """Fail the run when its stored step outputs outgrew the run-state limit."""
    limit = work.settings.limits.max_run_state_bytes
    if not run.status.ended and work.runs.run_step_stats(run.id)[1] > limit:
        fail_run(work, run, "StateTooLargeError", f"the run's state is over {limit} bytes")


def _retryable(item: QueueItemRecord, plan: CallPlan, op: opcodes.Op, outcome: Ops) -> bool:
    attempt = item.attempt if item.attempt_step == op.id else 0
    return not outcome.no_retry and attempt + 1 < plan.function.max_attempts


def _record_step_attempt(
    work: Work, run: RunRecord, item: QueueItemRecord, op: opcodes.Op, max_attempts: int, retry_at: int | None = None
) -> dict[str, Any]:
    """Store a step's failed attempt and note it for the log; return the error."""
    error = op.error.model_dump(exclude_none=True) if op.error else {"name": "Error", "message": ""}
    attempt = item.attempt if item.attempt_step == op.id else 0
    work.runs.insert_attempt(AttemptRecord(run.id, op.id, attempt, orjson.dumps(error).decode(), work.now, op.user_id))
    work.note_attempt(run, op.user_id, attempt, max_attempts, error, retry_at=retry_at, hashed_id=op.id)
    return error


def _retry_step(
    work: Work, run: RunRecord, item: QueueItemRecord, op: opcodes.Op, outcome: Ops, max_attempts: int
) -> None:
    attempt = item.attempt if item.attempt_step == op.id else 0
    retry_at = outcome.retry_at or work.now + _retry_delay(work, attempt)
    _record_step_attempt(work, run, item, op, max_attempts, retry_at)
    item.attempt, item.attempt_step, item.run_at = attempt + 1, op.id, retry_at
    work.runs.update_run(run)
    queueing.reschedule(work, item)


def _step(
    run: RunRecord,
    op: opcodes.Op,
    status: StepStatus,
    now: int,
    deadline: int | None = None,
    wait: dict[str, Any] | None = None,
) -> StepRecord:
    return StepRecord(
        run_id=run.id,
        hashed_id=op.id,
        user_id=op.user_id,
        index=op.user_index,
        op=str(op.op),
        status=status,
        started_at=now,
        deadline=deadline,
        input_json=_input_json(op),
        wait_json=orjson.dumps(wait).decode() if wait is not None else None,
    )


def _observe_waiting(work: Work, run: RunRecord, op: opcodes.Op, deadline: int) -> None:
    """A sleep, wait or invoke began (its span ends with the step: `lifecycle.finish_step`)."""
    work.observe(FactKind.STEP_WAITING, run, step_id=op.user_id, hashed_id=op.id, op=str(op.op), deadline_ms=deadline)


def _input_json(op: opcodes.Op) -> str | None:
    """The step's arguments as the TypeScript SDK sends them (`opts.input`, a JSON array), else None."""
    given = (op.opts or {}).get("input")
    return orjson.dumps(given).decode() if isinstance(given, list) else None


def _attempt(item: QueueItemRecord, op: opcodes.Op) -> int:
    """The 0-based attempt of `op` that ran in the call `item` (a retry's item names the step it retries)."""
    return item.attempt if item.attempt_step == op.id else 0


def _finish(
    work: Work, run: RunRecord, op: opcodes.Op, memo: Any, status: StepStatus, *, discover: bool, attempt: int = 0
) -> None:
    step = _step(run, op, status, work.now)  # a planned step keeps its id, index and start (see `save_step`)
    step.attempts = attempt + 1  # the step span's attempt (`lifecycle._observe_step`), as the SDK counts it
    step.op = str(opcodes.Opcode.STEP_RUN if op.op == opcodes.Opcode.STEP else op.op)
    if op.op == opcodes.Opcode.STEP_ERROR:
        step.op = str(opcodes.Opcode.STEP_FAILED)
    step.memo_json = orjson.dumps(memo).decode()
    limits = work.settings.limits
    if len(step.memo_json) > limits.max_step_output_bytes:
        message = f"the step's output is {len(step.memo_json)} bytes, over the limit of {limits.max_step_output_bytes}"
        step.memo_json = orjson.dumps(opcodes.memo_error({"name": "OutputTooLargeError", "message": message})).decode()
        step.status, step.op = StepStatus.FAILED, str(opcodes.Opcode.STEP_FAILED)
    step.ended_at = work.now
    lifecycle.finish_step(work, run, step, discover=discover)


def _start_waiting_op(work: Work, run: RunRecord, plan: CallPlan, op: opcodes.Op) -> None:
    mode = "race" if (op.opts or {}).get("parallelMode") == "race" else "wait"
    if op.op == opcodes.Opcode.STEP_PLANNED:
        if work.runs.get_step(run.id, op.id) is None:
            work.runs.save_step(_step(run, op, StepStatus.PLANNED, work.now))
        lifecycle.add_pending(run, op.id, mode)
        lifecycle.enqueue_call(work, run, target=op.id)
    elif op.op == opcodes.Opcode.SLEEP:
        _sleep(work, run, op, mode)
    elif op.op == opcodes.Opcode.WAIT_FOR_EVENT:
        _wait(work, run, plan, op, mode)
    elif op.op == opcodes.Opcode.INVOKE_FUNCTION:
        _invoke(work, run, plan, op, mode)
    elif op.op == opcodes.Opcode.WAIT_FOR_SIGNAL:
        _wait_for_signal(work, run, plan, op, mode)
    elif op.op in opcodes.ENGINE_REQUESTS:  # (engine requests not carried out)
        error = {"name": "UnsupportedStepError", "message": f"Stepstone does not support {op.op} steps yet"}
        _finish(work, run, op, opcodes.memo_error(error), StepStatus.FAILED, discover=True)


def _deadline(work: Work, run: RunRecord, text: str | None, *, default_ms: int, what: str) -> int | None:
    """`now + text` (a duration) or the time `text` names; None (and the run failed) when invalid."""
    try:
        if not text:
            at = work.now + default_ms
        elif len(text) >= 10 and text[:4].isdigit() and text[4] == "-":  # a time: 2026-12-05T..., not 86400000ms
            at = durations.to_millis(durations.parse_time(text))
        else:
            at = work.now + int(durations.parse_duration(text).total_seconds() * 1000)
    except ValueError as err:
        fail_run(work, run, "InvalidStepError", f"{what}: {err}")
        return None
    limit = int(work.settings.limits.max_sleep.total_seconds() * 1000)
    if at - work.now > limit:
        fail_run(work, run, "TimeoutTooLongError", f"{what}: longer than {work.settings.limits.max_sleep.days} days")
        return None
    return max(at, work.now)


def _sleep(work: Work, run: RunRecord, op: opcodes.Op, mode: str) -> None:
    text = str((op.opts or {}).get("duration") or op.name or "")
    wake = _deadline(work, run, text or "0s", default_ms=0, what=f"sleep {op.user_id!r}")
    if wake is None:
        return
    work.runs.save_step(_step(run, op, StepStatus.SLEEPING, work.now, deadline=wake))
    _observe_waiting(work, run, op, wake)
    lifecycle.add_pending(run, op.id, mode)
    queueing.enqueue(
        work,
        QueueItemRecord(
            id=work.new_id(),
            kind=ItemKind.WAKE,
            run_at=wake,
            run_id=run.id,
            function_id=run.function_id,
            target=op.id,
            job_key=f"{run.id}:wake:{op.id}",
            created_at=work.now,
        ),
    )


def _wait(work: Work, run: RunRecord, plan: CallPlan, op: opcodes.Op, mode: str) -> None:
    opts = op.opts or {}
    name = str(opts.get("event") or op.name or "")
    condition = opts.get("if") or None
    expires = _deadline(work, run, str(opts.get("timeout") or "0s"), default_ms=0, what=f"wait {op.user_id!r}")
    if expires is None:
        return
    if condition and (problem := expressions.problem(str(condition))):
        fail_run(work, run, "InvalidExpressionError", f"wait {op.user_id!r}: if: {problem}")
        return
    wait = {"event": name, "if": str(condition) if condition else None}
    work.runs.save_step(_step(run, op, StepStatus.WAITING, work.now, deadline=expires, wait=wait))
    _observe_waiting(work, run, op, expires)
    lifecycle.add_pending(run, op.id, mode)
    pause = PauseRecord(
        id=work.new_id(),
        run_id=run.id,
        kind=PauseKind.WAIT,
        event_name=name,
        trigger_event_json=plan.events_json[0],
        min_seq=plan.dispatch_seq,
        expires_at=expires,
        created_at=work.now,
        step_id=op.id,
        expression=str(condition) if condition else None,
    )
    pauses.create(work, run, pause)


def _wait_for_signal(work: Work, run: RunRecord, plan: CallPlan, op: opcodes.Op, mode: str) -> None:
    """`step.waitForSignal`: opts `signal`, `timeout` (none: as long as a sleep may last), `conflict`."""
    opts = op.opts or {}
    name = str(opts.get("signal") or op.name or "")
    what = f"wait_for_signal {op.user_id!r}"
    if not name:
        fail_run(work, run, "InvalidStepError", f"{what}: no signal name")
        return
    longest = int(work.settings.limits.max_sleep.total_seconds() * 1000)
    expires = _deadline(work, run, str(opts.get("timeout") or ""), default_ms=longest, what=what)
    if expires is None:
        return
    pause = PauseRecord(
        id=work.new_id(),
        run_id=run.id,
        kind=PauseKind.SIGNAL,
        event_name="",  # no event has an empty name: events never match it
        trigger_event_json=plan.events_json[0],
        min_seq=plan.dispatch_seq,
        expires_at=expires,
        created_at=work.now,
        step_id=op.id,
        correlation_id=pauses.signal_key(name),
    )
    other = pauses.create_signal_wait(work, run, pause, replace=opts.get("conflict") == "replace")
    if other is not None:
        message = (
            f"{what}: run {other.run_id} already waits for signal {name!r}; a wait with "
            '`onConflict: "replace"` takes the signal over (the earlier wait then ends at its timeout)'
        )
        fail_run(work, run, "SignalConflictError", message)
        return
    work.runs.save_step(_step(run, op, StepStatus.WAITING, work.now, deadline=expires, wait={"signal": name}))
    _observe_waiting(work, run, op, expires)
    lifecycle.add_pending(run, op.id, mode)


def _invoke(work: Work, run: RunRecord, plan: CallPlan, op: opcodes.Op, mode: str) -> None:
    opts = op.opts or {}
    default = int(work.settings.limits.default_invoke_timeout.total_seconds() * 1000)
    timeout = opts.get("timeout")
    expires = _deadline(work, run, str(timeout) if timeout else None, default_ms=default, what=f"invoke {op.user_id!r}")
    if expires is None:
        return
    target = {"function": str(opts.get("function_id", ""))}
    work.runs.save_step(_step(run, op, StepStatus.INVOKING, work.now, deadline=expires, wait=target))
    _observe_waiting(work, run, op, expires)
    lifecycle.add_pending(run, op.id, mode)
    correlation = f"{run.id}.{op.id}"
    pause = PauseRecord(
        id=work.new_id(),
        run_id=run.id,
        kind=PauseKind.INVOKE,
        event_name=wire_events.FUNCTION_FINISHED,
        trigger_event_json=plan.events_json[0],
        min_seq=plan.dispatch_seq,
        expires_at=expires,
        created_at=work.now,
        step_id=op.id,
        correlation_id=correlation,
    )
    pauses.create(work, run, pause)
    work.runs.update_run(run)
    work.emit(pauses.invoked_event(work, run, op, correlation, expires))


def wake(work: Work, item: QueueItemRecord) -> None:
    """A sleep ended: the step completes with `null` and the run goes on."""
    work.queue.delete_queue_item(item.id)
    run = work.runs.lock_run(item.run_id or "")
    step = work.runs.get_step(item.run_id or "", item.target)
    if run is None or run.status.ended or step is None or step.memo_json is not None:
        return
    step.memo_json, step.status, step.ended_at = "null", StepStatus.COMPLETED, work.now
    lifecycle.finish_step(work, run, step)


def run_timeout(work: Work, item: QueueItemRecord) -> None:
    """`timeouts.start` / `timeouts.finish` came due: cancel the run if it still has not started / ended."""
    work.queue.delete_queue_item(item.id)
    run = work.runs.lock_run(item.run_id or "")
    if run is None or run.status.ended:
        return
    if item.kind == ItemKind.START_TIMEOUT and run.status == RunStatus.QUEUED:
        lifecycle.finalize(
            work, run, RunStatus.CANCELLED, output_json=None, reason="timeouts.start passed before it started"
        )
    elif item.kind == ItemKind.FINISH_TIMEOUT:
        lifecycle.finalize(
            work, run, RunStatus.CANCELLED, output_json=None, reason="timeouts.finish passed before it ended"
        )


def apply_checkpoint(work: Work, run_id: str, item_id: str, generation: int | None, ops: list[opcodes.Op]) -> bool:
    """Store steps an SDK ran inside a call still in flight; False when that call is stale (409)."""
    item = work.queue.get_queue_item(item_id)
    if item is None or item.run_id != run_id or item.lease_owner is None:
        return False
    if generation is not None and item.generation != generation:
        return False
    run = work.runs.lock_run(run_id)
    if run is None or run.status.ended:
        return False
    for op in ops:
        if op.op in (opcodes.Opcode.STEP_RUN, opcodes.Opcode.STEP):
            memo = {"data": op.data} if op.op == opcodes.Opcode.STEP_RUN else op.data
            _finish(work, run, op, memo, StepStatus.COMPLETED, discover=False, attempt=_attempt(item, op))
        elif op.op == opcodes.Opcode.STEP_FAILED:
            error = op.error.model_dump(exclude_none=True) if op.error else {"name": "Error", "message": ""}
            failed = opcodes.memo_error(error)
            _finish(work, run, op, failed, StepStatus.FAILED, discover=False, attempt=_attempt(item, op))
    # Step and state limits are checked when the call answers (`_apply_ops`), not per checkpoint, so a
    # checkpoint costs the same whatever the run's length.
    return True
