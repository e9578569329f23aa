"""Database rows (tuples, in the column order of the named queries) to records, and records to parameters."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from stepstone.server.store.records import (
    AppRecord,
    AttemptRecord,
    BulkJobRecord,
    BulkKind,
    EventRecord,
    FunctionRecord,
    ItemKind,
    PauseKind,
    PauseRecord,
    QueueItemRecord,
    RunRecord,
    RunStatus,
    SkipRecord,
    StepRecord,
    StepStatus,
)

Row = tuple[Any, ...]


def app(row: Row) -> AppRecord:
    return AppRecord(*row)


def function(row: Row) -> FunctionRecord:
    return FunctionRecord(*row)


def function_params(record: FunctionRecord) -> dict[str, Any]:
    params = asdict(record)
    params["config"] = params.pop("config_json")
    return params


def event(row: Row) -> EventRecord:
    return EventRecord(*row)


def run(row: Row) -> RunRecord:
    values = list(row)
    values[6] = RunStatus(values[6])
    values[16] = bool(values[16])
    return RunRecord(
        id=values[0],
        function_id=values[1],
        function_slug=values[2],
        function_version=values[3],
        app_version=values[4],
        event_id=values[5],
        status=values[6],
        reason=values[7],
        output_json=values[8],
        created_at=values[9],
        started_at=values[10],
        ended_at=values[11],
        parent=values[12],
        cron=values[13],
        batch_id=values[14],
        original_run_id=values[15],
        force_plan=values[16],
        request_version=values[17],
        pending_json=values[18],
        constraints_json=values[19],
        change_seq=int(values[20]),
    )


def run_params(record: RunRecord) -> dict[str, Any]:
    # Built by hand: `dataclasses.asdict` deep-copies and was a third of the writer thread's time.
    return {
        "id": record.id,
        "function_id": record.function_id,
        "function_slug": record.function_slug,
        "function_version": record.function_version,
        "app_version": record.app_version,
        "event_id": record.event_id,
        "status": str(record.status),
        "reason": record.reason,
        "output": record.output_json,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "parent": record.parent,
        "cron": record.cron,
        "batch_id": record.batch_id,
        "original_run_id": record.original_run_id,
        "force_plan": bool(record.force_plan),
        "request_version": record.request_version,
        "pending": record.pending_json,
        "constraints": record.constraints_json,
    }


def step(row: Row) -> StepRecord:
    return StepRecord(
        run_id=row[0],
        hashed_id=row[1],
        user_id=row[2],
        index=row[3],
        op=row[4],
        status=StepStatus(row[5]),
        memo_json=row[6],
        started_at=row[7],
        ended_at=row[8],
        attempts=row[9],
        seq=row[10],
        finished_seq=row[11],
        deadline=row[12],
        input_json=row[13],
        wait_json=row[14],
    )


def step_params(record: StepRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "hashed_id": record.hashed_id,
        "user_id": record.user_id,
        "idx": record.index,
        "op": record.op,
        "status": str(record.status),
        "memo": record.memo_json,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "attempts": record.attempts,
        "deadline": record.deadline,
        "input": record.input_json,
        "wait": record.wait_json,
    }


def queue_item(row: Row) -> QueueItemRecord:
    values = list(row)
    values[1] = ItemKind(values[1])
    return QueueItemRecord(
        id=values[0],
        kind=values[1],
        run_at=values[2],
        run_id=values[3],
        function_id=values[4],
        target=values[5],
        payload_json=values[6],
        priority=values[7],
        constraints_json=values[8],
        attempt=values[9],
        attempt_step=values[10],
        generation=values[11],
        lease_owner=values[12],
        lease_expires_at=values[13],
        job_key=values[14],
        created_at=values[15],
        partition=values[16],
        score=values[17],
        ckey1=values[18],
        climit1=values[19],
        ckey2=values[20],
        climit2=values[21],
    )


def queue_item_params(record: QueueItemRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": str(record.kind),
        "run_at": record.run_at,
        "run_id": record.run_id,
        "function_id": record.function_id,
        "target": record.target,
        "payload": record.payload_json,
        "priority": record.priority,
        "constraints": record.constraints_json,
        "attempt": record.attempt,
        "attempt_step": record.attempt_step,
        "generation": record.generation,
        "lease_owner": record.lease_owner,
        "lease_expires_at": record.lease_expires_at,
        "job_key": record.job_key,
        "created_at": record.created_at,
        "partition": record.partition,
        "score": record.score,
        "ckey1": record.ckey1,
        "climit1": record.climit1,
        "ckey2": record.ckey2,
        "climit2": record.climit2,
    }


def pause(row: Row) -> PauseRecord:
    return PauseRecord(
        id=row[0],
        run_id=row[1],
        kind=PauseKind(row[2]),
        event_name=row[3],
        trigger_event_json=row[4],
        min_seq=row[5],
        expires_at=row[6],
        created_at=row[7],
        step_id=row[8],
        expression=row[9],
        correlation_id=row[10],
    )


def pause_params(record: PauseRecord) -> dict[str, Any]:
    params = asdict(record)
    params["kind"] = str(record.kind)
    params["trigger_event"] = params.pop("trigger_event_json")
    return params


def attempt(row: Row) -> AttemptRecord:
    return AttemptRecord(*row)


def attempt_params(record: AttemptRecord) -> dict[str, Any]:
    params = asdict(record)
    params["error"] = params.pop("error_json")
    return params


def skip(row: Row) -> SkipRecord:
    return SkipRecord(*row)


def bulk_job(row: Row) -> BulkJobRecord:
    values = list(row)
    values[1] = BulkKind(values[1])
    return BulkJobRecord(*values)


def bulk_job_params(record: BulkJobRecord) -> dict[str, Any]:
    params = asdict(record)
    params["kind"] = str(record.kind)
    params["statuses"] = params.pop("statuses_json")
    return params
