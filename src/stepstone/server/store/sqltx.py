"""`Tx` over any DB-API connection: each verb is one or two named queries of the backend's `queries.sql`.

Both backends define the same query names (a test checks it) with their own SQL and parameter style;
this class only names them. A backend hands it an `execute(sql, params)` that returns a cursor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, Protocol

from stepstone.server.store import rows
from stepstone.server.store.records import (
    HELD_AT,
    AppRecord,
    AttemptRecord,
    AuditRecord,
    BatchRecord,
    BucketStartsRecord,
    BulkJobRecord,
    DebounceRecord,
    EventRecord,
    FunctionRecord,
    PauseRecord,
    QueueItemRecord,
    RunQuery,
    RunRecord,
    RunStatsRecord,
    RunWarningRecord,
    SkipRecord,
    StatsWindow,
    StepDurationsRecord,
    StepHistoryRecord,
    StepRecord,
    dumps,
)

_FUNCTIONS_VERSION = "functions_version"
_MIN_TIME = -(2**62)
_MAX_TIME = 2**62
_ID_END = "8"  # above every ULID (they start with 0-7), in any collation
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def id_floor(millis: int) -> str:
    """The lowest ULID made at `millis` (clamped to the ULID time range): runs made then sort at or above it."""
    value = min(max(millis, 0), 2**48 - 1)
    chars = []
    for _ in range(10):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars)) + "0" * 16


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...


Execute = Callable[..., Cursor]  # (sql, params) -> a cursor with the results


def lock_key(name: str) -> int:
    """A signed 64-bit key for an advisory lock named `name`."""
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big", signed=True)


def _run_query_params(query: RunQuery) -> dict[str, object]:
    if not query.newest_first:
        raise ValueError("runs are listed newest first only")
    # A run's id starts with its creation time (a ULID): the cursor and the time filters become one
    # range on id, which every runs index ends with.
    upper = id_floor(query.created_before) if query.created_before is not None else _ID_END
    return {
        "status": str(query.status) if query.status else None,
        "function_slug": query.function_slug,
        "limit": query.limit,
        "app_id": query.app_id,
        "created_after": query.created_after if query.created_after is not None else _MIN_TIME,
        "created_before": query.created_before if query.created_before is not None else _MAX_TIME,
        "id_min": id_floor(query.created_after) if query.created_after is not None else "",
        "id_max": min(upper, query.cursor) if query.cursor else upper,
    }


class SqlTx:
    """The store verbs, run in the transaction in progress."""

    def __init__(self, execute: Execute, queries: Mapping[str, str]) -> None:
        self._execute = execute
        self._queries = queries
        self.notified = False
        # The stamp of the transaction's run writes, for backends whose SQL cannot make one (SQLite's
        # writer sets it per transaction); PostgreSQL's queries use the transaction id instead.
        self.change_seq = 0

    def _all(self, name: str, params: Mapping[str, object]) -> list[tuple[Any, ...]]:
        return list(self._execute(self._queries[name], params).fetchall())

    def _one(self, name: str, params: Mapping[str, object]) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._execute(self._queries[name], params).fetchone()
        return row

    def _run(self, name: str, params: Mapping[str, object]) -> int:
        return self._execute(self._queries[name], params).rowcount

    # apps and functions
    def get_app(self, name: str) -> AppRecord | None:
        row = self._one("get_app", {"name": name})
        return rows.app(row) if row else None

    def upsert_app(self, app: AppRecord) -> None:
        self._run("upsert_app", asdict(app))

    def list_apps(self) -> list[AppRecord]:
        return [rows.app(row) for row in self._all("list_apps", {})]

    def list_functions(self, *, include_archived: bool = False) -> list[FunctionRecord]:
        return [rows.function(row) for row in self._all("list_functions", {"include_archived": include_archived})]

    def get_function(self, slug_or_id: str) -> FunctionRecord | None:
        row = self._one("get_function", {"key": slug_or_id})
        return rows.function(row) if row else None

    def upsert_function(self, function: FunctionRecord) -> None:
        self._run("upsert_function", rows.function_params(function))

    def archive_functions(self, app_id: str, keep: Sequence[str], now: int) -> list[str]:
        archived = []
        for function_id, slug in self._all("active_functions_of_app", {"app_id": app_id}):
            if slug not in keep:
                self._run("archive_function", {"id": function_id, "now": now})
                archived.append(str(function_id))
        return archived

    def set_function_paused(self, function_id: str, paused_at: int | None) -> None:
        self._run("set_function_paused", {"id": function_id, "paused_at": paused_at})

    def remove_app(self, app_id: str, now: int) -> None:
        self._run("remove_app", {"id": app_id, "now": now})

    def functions_version(self) -> int:
        value = self.get_setting(_FUNCTIONS_VERSION)
        return int(value) if value else 0

    def bump_functions_version(self) -> None:
        self.set_setting(_FUNCTIONS_VERSION, str(self.functions_version() + 1))

    # events
    def insert_event(self, event: EventRecord) -> int:
        params = {
            "internal_id": event.internal_id,
            "name": event.name,
            "user_id": event.user_id,
            "payload": event.payload_json,
            "ts": event.ts,
            "received_at": event.received_at,
            "source": event.source,
        }
        row = self._one("insert_event", params)
        assert row is not None
        event.seq = int(row[0])
        return event.seq

    def get_event(self, internal_id: str) -> EventRecord | None:
        row = self._one("get_event", {"internal_id": internal_id})
        return rows.event(row) if row else None

    def get_events_by_seq(self, seqs: Sequence[int]) -> list[EventRecord]:
        found = []
        for seq in seqs:
            row = self._one("get_event_by_seq", {"seq": seq})
            if row:
                found.append(rows.event(row))
        return found

    def event_names(self, internal_ids: Sequence[str]) -> dict[str, str]:
        if not internal_ids:
            return {}
        found = self._all("event_names", {"ids": dumps(sorted(set(internal_ids)))})
        return {str(internal_id): str(name) for internal_id, name in found}

    def list_events(self, *, name: str | None, cursor: int | None, limit: int) -> list[EventRecord]:
        params: dict[str, object] = {"name": name, "cursor": cursor, "limit": limit}
        return [rows.event(row) for row in self._all("list_events", params)]

    def events_after(self, seq: int, name: str, limit: int) -> list[EventRecord]:
        return [rows.event(row) for row in self._all("events_after", {"seq": seq, "name": name, "limit": limit})]

    def last_event_seq(self) -> int:
        row = self._one("last_event_seq", {})
        return int(row[0]) if row and row[0] is not None else 0

    def claim_idempotency_key(self, scope: str, key: str, *, now: int, expires_at: int) -> bool:
        params: dict[str, object] = {"scope": scope, "key": key, "now": now, "expires_at": expires_at}
        return self._one("claim_idempotency_key", params) is not None

    def insert_skip(self, skip: SkipRecord) -> None:
        self._run("insert_skip", asdict(skip))

    def list_skips(self, event_internal_id: str) -> list[SkipRecord]:
        return [rows.skip(row) for row in self._all("list_skips", {"event_internal_id": event_internal_id})]

    # runs and steps
    def insert_run(self, run: RunRecord, event_seqs: Sequence[int]) -> None:
        params = rows.run_params(run)
        params["change_seq"] = self.change_seq
        self._run("insert_run", params)
        for position, seq in enumerate(event_seqs):
            self._run("insert_run_event", {"run_id": run.id, "position": position, "event_seq": seq})

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._one("get_run", {"id": run_id})
        return rows.run(row) if row else None

    def lock_run(self, run_id: str) -> RunRecord | None:
        row = self._one("lock_run", {"id": run_id})
        return rows.run(row) if row else None

    def update_run(self, run: RunRecord) -> None:
        params = rows.run_params(run)
        params["change_seq"] = self.change_seq
        self._run("update_run", params)

    def list_runs(self, query: RunQuery) -> list[RunRecord]:
        self._execute(self._queries["plan_for_values"], {})
        return [rows.run(row) for row in self._all("list_runs", _run_query_params(query))]

    def search_runs(self, query: RunQuery) -> list[tuple[RunRecord, str | None]]:
        self._execute(self._queries["plan_for_values"], {})
        return [(rows.run(row[:-1]), row[-1]) for row in self._all("search_runs", _run_query_params(query))]

    def list_run_changes(
        self, *, after: tuple[int, str], limit: int, status: str | None = None, function_slug: str | None = None
    ) -> list[RunRecord]:
        params: dict[str, object] = {
            "seq": after[0],
            "id": after[1],
            "limit": limit,
            "status": status,
            "function_slug": function_slug,
        }
        return [rows.run(row) for row in self._all("list_run_changes", params)]

    def run_changes_head(self) -> tuple[int, str]:
        row = self._one("run_changes_head", {})
        return (int(row[0]), str(row[1])) if row else (0, "")

    def run_counts(self, *, since: int, function_slug: str | None = None) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        name, params = ("function_run_counts", {"since": since, "function_slug": function_slug})
        if function_slug is None:
            name, params = "run_counts", {"since": since}
        for slug, status, count in self._all(name, params):
            counts.setdefault(str(slug), {})[str(status)] = int(count)
        return counts

    def runs_for_event(self, internal_id: str) -> list[RunRecord]:
        return [rows.run(row) for row in self._all("runs_for_event", {"event_id": internal_id})]

    def run_event_seqs(self, run_id: str) -> list[int]:
        return [int(row[0]) for row in self._all("run_event_seqs", {"run_id": run_id})]

    def save_step(self, step: StepRecord) -> bool:
        written = self._run("save_step", rows.step_params(step)) > 0
        if written:
            self._run("touch_run", {"run_id": step.run_id, "change_seq": self.change_seq})
        return written

    def list_steps(self, run_id: str) -> list[StepRecord]:
        return [rows.step(row) for row in self._all("list_steps", {"run_id": run_id})]

    def run_step_stats(self, run_id: str) -> tuple[int, int]:
        row = self._one("run_step_stats", {"run_id": run_id})
        assert row is not None
        return int(row[0]), int(row[1])

    def step_memos(self, run_id: str) -> list[tuple[str, str]]:
        return [(str(row[0]), str(row[1])) for row in self._all("step_memos", {"run_id": run_id})]

    def step_history(self, run_id: str) -> list[StepHistoryRecord]:
        return [StepHistoryRecord._make(row) for row in self._all("step_history", {"run_id": run_id})]

    def get_step(self, run_id: str, hashed_id: str) -> StepRecord | None:
        row = self._one("get_step", {"run_id": run_id, "hashed_id": hashed_id})
        return rows.step(row) if row else None

    def insert_attempt(self, attempt: AttemptRecord) -> None:
        self._run("insert_attempt", rows.attempt_params(attempt))

    def list_attempts(self, run_id: str) -> list[AttemptRecord]:
        return [rows.attempt(row) for row in self._all("list_attempts", {"run_id": run_id})]

    def pending_retries(self, run_id: str) -> dict[str, int]:
        due: dict[str, int] = {}
        for step, attempt, run_at in self._all("pending_retries", {"run_id": run_id}):
            key = step if attempt > 0 else ""  # an unreachable app's retry is recorded for the function
            due[key] = min(run_at, due.get(key, run_at))
        return due

    def reruns_of(self, run_id: str) -> list[str]:
        return [str(row[0]) for row in self._all("reruns_of", {"run_id": run_id})]

    def put_step_input(self, run_id: str, hashed_id: str, input_json: str) -> None:
        self._run("put_step_input", {"run_id": run_id, "hashed_id": hashed_id, "input": input_json})

    def step_inputs(self, run_id: str) -> dict[str, str]:
        return {str(row[0]): str(row[1]) for row in self._all("step_inputs", {"run_id": run_id})}

    def insert_run_warning(self, warning: RunWarningRecord) -> bool:
        params = {
            "run_id": warning.run_id,
            "code": warning.code,
            "message": warning.message,
            "step_ids": warning.step_ids_json,
            "at": warning.at,
        }
        return self._run("insert_run_warning", params) > 0

    def run_warnings(self, run_id: str) -> list[RunWarningRecord]:
        return [
            RunWarningRecord(str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]))
            for row in self._all("run_warnings", {"run_id": run_id})
        ]

    def insert_bulk_job(self, job: BulkJobRecord) -> None:
        self._run("insert_bulk_job", rows.bulk_job_params(job))

    def get_bulk_job(self, job_id: str) -> BulkJobRecord | None:
        row = self._one("get_bulk_job", {"id": job_id})
        return rows.bulk_job(row) if row else None

    def lock_bulk_job(self, job_id: str) -> BulkJobRecord | None:
        row = self._one("lock_bulk_job", {"id": job_id})
        return rows.bulk_job(row) if row else None

    def update_bulk_job(self, job: BulkJobRecord) -> None:
        params = {"id": job.id, "cursor": job.cursor, "matched": job.matched, "acted": job.acted}
        params["done_at"] = job.done_at
        self._run("update_bulk_job", params)

    def list_bulk_jobs(self, kind: str, *, cursor: str | None, limit: int) -> list[BulkJobRecord]:
        params: dict[str, object] = {"kind": kind, "cursor": cursor, "limit": limit}
        return [rows.bulk_job(row) for row in self._all("list_bulk_jobs", params)]

    def open_bulk_jobs(self, limit: int) -> list[str]:
        return [str(row[0]) for row in self._all("open_bulk_jobs", {"limit": limit})]

    def bulk_scan_runs(self, function_slug: str, *, cursor: str, until: str, limit: int) -> list[RunRecord]:
        params: dict[str, object] = {"function_slug": function_slug, "cursor": cursor, "until": until, "limit": limit}
        return [rows.run(row) for row in self._all("bulk_scan_runs", params)]

    def claim_replay(self, replay_id: str, original_run_id: str, run_id: str) -> bool:
        params = {"replay_id": replay_id, "original_run_id": original_run_id, "run_id": run_id}
        return self._run("claim_replay", params) > 0

    def replay_of(self, run_id: str) -> str | None:
        row = self._one("replay_of", {"run_id": run_id})
        return str(row[0]) if row else None

    def insert_audit(self, record: AuditRecord) -> None:
        self._run("insert_audit", asdict(record))

    def run_starts(self, window: StatsWindow, *, function_slug: str | None = None) -> list[BucketStartsRecord]:
        params = {**window._asdict(), "function_slug": function_slug}
        self._execute(self._queries["plan_for_values"], {})
        return [BucketStartsRecord(*(int(value) for value in row)) for row in self._all("stats_run_starts", params)]

    def run_stats(self, window: StatsWindow, *, function_slug: str | None = None) -> RunStatsRecord:
        params = {**window._asdict(), "function_slug": function_slug}
        starts = self.run_starts(window, function_slug=function_slug)
        ends = [(int(bucket), str(status), int(count)) for bucket, status, count in self._all("stats_run_ends", params)]
        backlog = [(int(bucket), int(delta)) for bucket, delta in self._all("stats_backlog", params)]
        return RunStatsRecord(starts, ends, backlog)

    def step_durations(self, window: StatsWindow, *, function_slug: str | None = None) -> list[StepDurationsRecord]:
        params = {**window._asdict(), "function_slug": function_slug}
        self._execute(self._queries["plan_for_values"], {})
        return [
            StepDurationsRecord(str(slug), int(steps), int(p50), int(p95))
            for slug, steps, p50, p95 in self._all("stats_step_durations", params)
        ]

    def list_audit(self, *, cursor: str | None, limit: int) -> list[AuditRecord]:
        return [AuditRecord(*row) for row in self._all("list_audit", {"cursor": cursor, "limit": limit})]

    # queue
    def enqueue(self, item: QueueItemRecord) -> bool:
        return self._run("enqueue", rows.queue_item_params(item)) > 0

    def release_expired(self, *, lease_now: int, limit: int) -> int:
        return self._run("release_expired", {"lease_now": lease_now, "limit": limit})

    def claim_partition(
        self, partition: str, *, now: int, lease_until: int, owner: str, limit: int
    ) -> list[QueueItemRecord]:
        params: dict[str, object] = {
            "partition": partition,
            "now": now,
            "lease_until": lease_until,
            "owner": owner,
            "limit": limit,
        }
        return [rows.queue_item(row) for row in self._all("claim_partition", params)]

    def partition_candidates(self, partition: str, *, now: int, limit: int) -> list[QueueItemRecord]:
        params: dict[str, object] = {"partition": partition, "now": now, "limit": limit}
        return [rows.queue_item(row) for row in self._all("partition_candidates", params)]

    def queue_gauges(self, now: int) -> list[tuple[str | None, bool, bool, int]]:
        rows = self._all("queue_gauges", {"now": now})
        return [(row[0], bool(row[1]), bool(row[2]), int(row[3])) for row in rows]

    def mark_held(self, partition: str, *, now: int, item_id: str | None = None) -> list[str]:
        params: dict[str, object] = {"partition": partition, "now": now, "item_id": item_id}
        return [str(row[0]) for row in self._all("mark_held", params)]

    def next_partition(self, after: str) -> str | None:
        row = self._one("next_partition", {"after": after})
        return str(row[0]) if row else None

    def lease_item(self, item_id: str, *, owner: str, lease_until: int) -> QueueItemRecord | None:
        row = self._one("lease_item", {"id": item_id, "owner": owner, "lease_until": lease_until})
        return rows.queue_item(row) if row else None

    def keys_in_use(self, key: str, *, lease_now: int) -> int:
        row = self._one("keys_in_use", {"key": key, "lease_now": lease_now})
        return int(row[0]) if row else 0

    def reschedule_item(self, item_id: str, run_at: int) -> None:
        self._run("reschedule_item", {"id": item_id, "run_at": run_at})

    def reschedule_by_key(self, job_key: str, run_at: int) -> None:
        self._run("reschedule_by_key", {"job_key": job_key, "run_at": run_at})

    def lease_clock_ms(self) -> int:
        row = self._one("lease_clock", {})
        assert row is not None
        return int(row[0])

    def get_queue_item(self, item_id: str) -> QueueItemRecord | None:
        row = self._one("get_queue_item", {"id": item_id})
        return rows.queue_item(row) if row else None

    def holds_lease(self, item_id: str, generation: int) -> bool:
        return self._one("holds_lease", {"id": item_id, "generation": generation}) is not None

    def delete_queue_item(self, item_id: str) -> None:
        self._run("delete_queue_item", {"id": item_id})

    def delete_queue_item_by_key(self, job_key: str) -> None:
        self._run("delete_queue_item_by_key", {"job_key": job_key})

    def reschedule(self, item: QueueItemRecord) -> None:
        params: dict[str, object] = {
            "id": item.id,
            "run_at": item.run_at,
            "attempt": item.attempt,
            "attempt_step": item.attempt_step,
            "payload": item.payload_json,
        }
        self._run("reschedule", params)

    def extend_leases(self, owner: str, item_ids: Sequence[str], lease_until: int) -> None:
        for item_id in item_ids:
            self._run("extend_lease", {"id": item_id, "owner": owner, "lease_until": lease_until})

    def release_leases(self, owner: str | None) -> int:
        return self._run("release_leases", {"owner": owner})

    def release_item(self, item_id: str, owner: str) -> None:
        self._run("release_item", {"id": item_id, "owner": owner})

    def delete_run_items(self, run_id: str) -> None:
        self._run("delete_run_items", {"run_id": run_id})

    def next_due_at(self) -> int | None:
        row = self._one("next_due_at", {})
        return int(row[0]) if row and row[0] is not None else None

    def count_queue_items(self) -> int:
        row = self._one("count_queue_items", {})
        return int(row[0]) if row else 0

    def delete_function_items(self, function_id: str, kind: str) -> None:
        self._run("delete_function_items", {"function_id": function_id, "kind": kind})

    def hold_function_calls(self, function_id: str) -> int:
        return self._run("hold_function_calls", {"function_id": function_id, "held": HELD_AT})

    def hold_item(self, item_id: str) -> None:
        self._run("hold_item", {"id": item_id, "held": HELD_AT})

    def release_function_calls(self, function_id: str) -> int:
        return self._run("release_function_calls", {"function_id": function_id})

    def notify_work(self) -> None:
        if not self.notified:
            self._run("notify_work", {})
            self.notified = True

    # pauses
    def try_lock_name(self, name: str) -> bool:
        row = self._one("try_lock_name", {"key": lock_key(name)})
        return bool(row and row[0])

    def lock_name(self, name: str, *, exclusive: bool) -> None:
        self._one("lock_name_exclusive" if exclusive else "lock_name_shared", {"key": lock_key(name)})

    def insert_pause(self, pause: PauseRecord) -> None:
        self._run("insert_pause", rows.pause_params(pause))

    def candidate_pauses(self, event_name: str, *, before_seq: int, now: int) -> list[PauseRecord]:
        params: dict[str, object] = {"event_name": event_name, "before_seq": before_seq, "now": now}
        return [rows.pause(row) for row in self._all("candidate_pauses", params)]

    def delete_pause(self, pause_id: str) -> bool:
        return self._run("delete_pause", {"id": pause_id}) > 0

    def get_pause(self, pause_id: str) -> PauseRecord | None:
        row = self._one("get_pause", {"id": pause_id})
        return rows.pause(row) if row else None

    def get_pause_by_correlation(self, correlation_id: str) -> PauseRecord | None:
        row = self._one("get_pause_by_correlation", {"correlation_id": correlation_id})
        return rows.pause(row) if row else None

    def delete_run_pauses(self, run_id: str) -> None:
        self._run("delete_run_pauses", {"run_id": run_id})

    # flow control
    def get_limiter(self, key: str, now: int) -> int | None:
        row = self._one("get_limiter", {"key": key, "now": now})
        return int(row[0]) if row else None

    def peek_limiter(self, key: str, now: int) -> int | None:
        row = self._one("peek_limiter", {"key": key, "now": now})
        return int(row[0]) if row else None

    def put_limiter(self, key: str, tat: int, expires_at: int) -> None:
        self._run("put_limiter", {"key": key, "tat": tat, "expires_at": expires_at})

    def lock_debounce(self, function_id: str, key: str) -> DebounceRecord | None:
        row = self._one("lock_debounce", {"function_id": function_id, "key": key})
        return DebounceRecord(*row) if row else None

    def put_debounce(self, debounce: DebounceRecord) -> None:
        self._run("put_debounce", asdict(debounce))

    def delete_debounce(self, function_id: str, key: str) -> None:
        self._run("delete_debounce", {"function_id": function_id, "key": key})

    def lock_open_batch(self, function_id: str, key: str) -> BatchRecord | None:
        row = self._one("lock_open_batch", {"function_id": function_id, "key": key})
        return BatchRecord(*row) if row else None

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        row = self._one("get_batch", {"id": batch_id})
        return BatchRecord(*row) if row else None

    def put_batch(self, batch: BatchRecord) -> None:
        self._run("put_batch", asdict(batch))

    def add_batch_event(self, batch_id: str, position: int, event_seq: int) -> None:
        self._run("add_batch_event", {"batch_id": batch_id, "position": position, "event_seq": event_seq})

    def batch_event_seqs(self, batch_id: str) -> list[int]:
        return [int(row[0]) for row in self._all("batch_event_seqs", {"batch_id": batch_id})]

    def delete_batch(self, batch_id: str) -> None:
        self._run("delete_batch_events", {"batch_id": batch_id})
        self._run("delete_batch", {"batch_id": batch_id})

    def event_holds(self, event_internal_id: str) -> list[tuple[str, str, int | None]]:
        rows = self._all("event_holds", {"event_internal_id": event_internal_id})
        return [(str(slug), str(reason), None if until is None else int(until)) for slug, reason, until in rows]

    def get_singleton(self, function_id: str, key: str) -> str | None:
        row = self._one("get_singleton", {"function_id": function_id, "key": key})
        return str(row[0]) if row else None

    def put_singleton(self, function_id: str, key: str, run_id: str) -> None:
        self._run("put_singleton", {"function_id": function_id, "key": key, "run_id": run_id})

    def delete_run_singletons(self, run_id: str) -> None:
        self._run("delete_run_singletons", {"run_id": run_id})

    # retention
    def prune_runs(self, ended_before: int, limit: int) -> int:
        run_ids = [str(row[0]) for row in self._all("ended_runs_before", {"before": ended_before, "limit": limit})]
        for run_id in run_ids:
            self._run("keep_change_floor", {"run_id": run_id})  # later stamps must stay above the pruned run's
            for query in (
                "delete_run_steps",
                "delete_run_attempts",
                "delete_run_warnings",
                "delete_run_events",
                "delete_run",
            ):
                self._run(query, {"run_id": run_id})
        return len(run_ids)

    def prune_events(self, received_before: int, limit: int) -> int:
        params: dict[str, object] = {"before": received_before, "limit": limit}
        return self._run("prune_events", params) + self._run("prune_skips", params)

    def prune_idempotency(self, now: int, limit: int) -> int:
        params: dict[str, object] = {"now": now, "limit": limit}
        return self._run("prune_idempotency", params) + self._run("prune_limiters", params)

    # settings
    def get_setting(self, key: str) -> str | None:
        row = self._one("get_setting", {"key": key})
        return str(row[0]) if row else None

    def set_setting(self, key: str, value: str) -> None:
        self._run("set_setting", {"key": key, "value": value})
