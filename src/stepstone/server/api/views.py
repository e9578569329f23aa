"""Records as the REST API shows them: ISO 8601 UTC times, decoded JSON, user-facing step ids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from stepstone.protocol import config as wire
from stepstone.protocol import durations, tracecontext
from stepstone.server.core.clock import to_datetime
from stepstone.server.execution import reruns
from stepstone.server.functions import describe
from stepstone.server.store.records import (
    AppRecord,
    AttemptRecord,
    EventRecord,
    FunctionRecord,
    RunRecord,
    RunWarningRecord,
    SkipRecord,
    StepRecord,
)


def iso(millis: int | None) -> str | None:
    return None if millis is None else durations.format_time(to_datetime(millis))


def event(record: EventRecord) -> dict[str, Any]:
    payload = record.payload
    return {
        "internal_id": record.internal_id,
        "id": payload.get("id"),
        "name": record.name,
        "data": payload.get("data", {}),
        "user": payload.get("user", {}),
        "ts": record.ts,
        "v": payload.get("v"),
        "received_at": iso(record.received_at),
        "source": record.source,
    }


def _memo_parts(step: StepRecord) -> tuple[Any, dict[str, Any] | None]:
    """(output, error) of a step from its memo."""
    if step.memo_json is None:
        return None, None
    memo = orjson.loads(step.memo_json)
    if isinstance(memo, dict) and set(memo) <= {"data", "error"} and memo:
        error = memo.get("error")
        if error is not None:
            return None, {
                "name": str(error.get("name", "Error")) if isinstance(error, dict) else "Error",
                "message": str(error.get("message", "")) if isinstance(error, dict) else str(error),
                "stack": error.get("stack") if isinstance(error, dict) else None,
            }
        return memo.get("data"), None
    return memo, None


def step(record: StepRecord) -> dict[str, Any]:
    """A step; `input` (its arguments, a JSON array) only where the wire carried them."""
    output, error = _memo_parts(record)
    view: dict[str, Any] = {
        "id": record.user_id,
        "display_id": reruns.display_id(record),  # `id:n` for the n-th repeat: what a rerun from a step takes
        "hashed_id": record.hashed_id,
        "index": record.index,
        "op": record.op,
        "status": str(record.status),
        "started_at": iso(record.started_at),
        "ended_at": iso(record.ended_at),
        "deadline": iso(record.deadline),  # when a sleep wakes, or a wait or invoke times out at the latest
        "output": output,
        "error": error,
    }
    if record.input_json is not None:
        view["input"] = orjson.loads(record.input_json)
    if record.wait_json is not None:  # what a wait or invoke waits for: {"event", "if"}, {"signal"}, {"function"}
        view["waits_for"] = orjson.loads(record.wait_json)
    return view


def attempt(
    record: AttemptRecord, step_names: dict[str, str] | None = None, next_attempt_at: int | None = None
) -> dict[str, Any]:
    """A failed attempt; `step_id` is the id the user wrote (stored with the attempt, else from `steps`),
    None for the function's own code; `next_attempt_at`, when the attempt after it is due (a retry
    not yet made), else None."""
    return {
        "step_id": record.user_id or (step_names or {}).get(record.step_id, record.step_id) or None,
        "hashed_step_id": record.step_id or None,
        "attempt": record.attempt,
        "error": orjson.loads(record.error_json),
        "at": iso(record.at),
        "next_attempt_at": iso(next_attempt_at),
    }


def run(
    record: RunRecord,
    *,
    events: list[EventRecord] | None = None,
    steps: list[StepRecord] | None = None,
    attempts: list[AttemptRecord] | None = None,
    retries: dict[str, int] | None = None,
    reruns: list[str] | None = None,
    replay_id: str | None = None,
    warnings: list[RunWarningRecord] | None = None,
) -> dict[str, Any]:
    """A run; with `attempts`, its failed attempts and `next_attempt_at` (from `retries`: when the
    retries pending, by hashed step id, are due; see `Tx.pending_retries`); with `reruns`, the runs started
    again from it and the replay that started it (`replay_id`)."""
    view: dict[str, Any] = {
        "run_id": record.id,
        "function_id": record.function_slug,
        "function_uuid": record.function_id,
        "function_version": record.function_version,
        "app_version": record.app_version,
        "status": str(record.status),
        "reason": record.reason,
        "output": orjson.loads(record.output_json) if record.output_json is not None else None,
        "event_id": record.event_id,
        "created_at": iso(record.created_at),
        "started_at": iso(record.started_at),
        "ended_at": iso(record.ended_at),
        "cron": record.cron,
        "original_run_id": record.original_run_id,
        "parent_run_id": record.parent.split(".", 1)[0] if record.parent else None,
        "trace_id": tracecontext.trace_id(record.id),  # the run's W3C trace id (docs/observability.md)
    }
    if events is not None:
        view["events"] = [item.payload for item in events]
    if steps is not None:
        view["steps"] = [step(item) for item in steps]
    if attempts is not None:
        names = {item.hashed_id: item.user_id for item in steps or []}
        due = {} if record.status.ended else retries or {}
        last = {item.step_id: position for position, item in enumerate(attempts)}  # each step's latest attempt
        view["attempts"] = [
            attempt(item, names, due.get(item.step_id) if last[item.step_id] == position else None)
            for position, item in enumerate(attempts)
        ]
        view["next_attempt_at"] = iso(min(due.values())) if due else None
    if reruns is not None:
        view["reruns"] = reruns
        view["replay_id"] = replay_id
    if warnings is not None:
        view["warnings"] = [warning(item) for item in warnings]
    return view


def warning(record: RunWarningRecord) -> dict[str, Any]:
    """A run-time non-determinism finding (`runs.nondeterminism`)."""
    return {
        "code": record.code,
        "message": record.message,
        "step_ids": orjson.loads(record.step_ids_json),
        "at": iso(record.at),
    }


def skip(record: SkipRecord) -> dict[str, Any]:
    return {"function_id": record.function_slug, "reason": record.reason, "at": iso(record.at)}


def hold(function_slug: str, reason: str, until: int | None) -> dict[str, Any]:
    """A function holding an event before starting a run: debounced or batched, until when at the latest."""
    return {"function_id": function_slug, "reason": reason, "until": iso(until)}


def app(record: AppRecord, functions: list[FunctionRecord]) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "url": record.url,
        "sdk": record.sdk,
        "framework": record.framework,
        "app_version": record.app_version,
        "error": record.error,
        "synced_at": iso(record.synced_at),
        "functions": [fn.slug for fn in functions if fn.app_id == record.id],
    }


def retention_words(retention: timedelta) -> str:
    """`30 days`, `1 day`, else Stepstone's duration words (`12h`)."""
    days, rest = divmod(retention, timedelta(days=1))
    if not rest:
        return f"{days} day" if days == 1 else f"{days} days"
    return durations.format_duration(retention)


def function(
    record: FunctionRecord, app_name: str | None, *, now: int | None = None, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """A function; `flow` in words, `next_cron` after `now` (the engine clock), `stats` of the last 24 h's `counts`."""
    config = orjson.loads(record.config_json)
    parsed = wire.FunctionConfig.model_validate(config)
    upcoming = describe.next_cron(parsed, to_datetime(now)) if now is not None else None
    return {
        "id": record.slug,
        "uuid": record.id,
        "name": record.name,
        "app": app_name,
        "version": record.version,
        "triggers": config.get("triggers", []),
        "config": config,
        "archived": record.archived_at is not None,
        "paused": record.paused_at is not None,
        "paused_at": iso(record.paused_at),
        "updated_at": iso(record.updated_at),
        "flow": describe.flow(parsed),
        "next_cron": durations.format_time(upcoming) if upcoming else None,
        "stats": describe.stats(counts or {}),
    }
