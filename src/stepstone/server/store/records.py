"""Typed rows: what the store returns and takes. JSON columns stay JSON text (`*_json`); each one that the
engine reads or writes field by field has a typed view here, the one place that reads and writes it:
`RunRecord.pending` / `set_pending`, `RunRecord.constraints` / `set_constraints` (`RunConstraints`),
`QueueItemRecord.throttle` / `set_throttle`.

Times are unix milliseconds (int) throughout the store; the API layer formats them.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import orjson


class RunStatus(enum.StrEnum):
    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    SKIPPED = "Skipped"

    @property
    def ended(self) -> bool:
        return self in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.SKIPPED)


class StepStatus(enum.StrEnum):
    PLANNED = "Planned"
    SLEEPING = "Sleeping"
    WAITING = "Waiting"
    INVOKING = "Invoking"
    COMPLETED = "Completed"
    FAILED = "Failed"


class ItemKind(enum.StrEnum):
    """What a queue item asks a worker to do."""

    CALL = "call"  # call the app: discovery (target "") or one planned step (target = hashed id)
    WAKE = "wake"  # a sleep ends
    PAUSE_TIMEOUT = "pause-timeout"  # a wait_for_event, wait_for_signal or invoke times out
    START_TIMEOUT = "start-timeout"  # timeouts.start
    FINISH_TIMEOUT = "finish-timeout"  # timeouts.finish
    CRON = "cron"  # a cron tick
    DEBOUNCE = "debounce"  # a debounce window may have ended: start the run with the latest event
    BATCH = "batch"  # a batch's timeout came: start the run with the events collected


class PauseKind(enum.StrEnum):
    WAIT = "wait"
    INVOKE = "invoke"
    CANCEL = "cancel"
    SIGNAL = "signal"  # wait_for_signal: `correlation_id` is `signal:<name>` while a signal can reach it


def loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def dumps(value: object) -> str:
    return orjson.dumps(value).decode()


@dataclass(slots=True)
class AppRecord:
    id: str
    name: str
    url: str
    sdk: str
    framework: str | None
    app_version: str | None
    checksum: str | None
    error: str | None
    synced_at: int | None
    created_at: int


@dataclass(slots=True)
class FunctionRecord:
    id: str  # a UUID, stable per (app, slug)
    app_id: str
    slug: str  # "<app id>-<function id>", as registered
    name: str
    config_json: str
    version: int
    archived_at: int | None
    created_at: int
    updated_at: int
    paused_at: int | None = None  # paused: starts no runs, its calls wait (kept across syncs)


@dataclass(slots=True)
class EventRecord:
    seq: int  # store order; 0 until inserted
    internal_id: str
    name: str
    user_id: str
    payload_json: str  # the event as functions receive it: name, data, id, ts, user, v
    ts: int
    received_at: int
    source: str = "api"

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.payload_json)
        return value


@dataclass
class RunConstraints:
    """What the queue needs to know about a run, evaluated once from its first event when it is created
    (`intake.flow.constraints`); stored as the run's `constraints_json`, without the empty fields."""

    partition: str = ""
    ckey1: str | None = None
    climit1: int | None = None
    ckey2: str | None = None
    climit2: int | None = None
    priority_ms: int = 0
    throttle: dict[str, Any] | None = None  # {key, limit, period_ms, burst}: applied to the run's first call

    def dump(self) -> str:
        return orjson.dumps({k: v for k, v in asdict(self).items() if v not in (None, 0, "")}).decode()

    @classmethod
    def load(cls, text: str) -> RunConstraints:
        found = orjson.loads(text or "{}")
        return cls(**found) if isinstance(found, dict) else cls()


@dataclass(slots=True)
class RunRecord:
    id: str
    function_id: str
    function_slug: str
    function_version: int
    app_version: str | None
    event_id: str  # internal id of the first triggering event
    status: RunStatus
    created_at: int
    reason: str | None = None
    output_json: str | None = None
    started_at: int | None = None
    ended_at: int | None = None
    parent: str | None = None  # "<parent run id>.<hashed step id>" for invoked runs
    cron: str | None = None
    batch_id: str | None = None
    original_run_id: str | None = None
    force_plan: bool = False
    request_version: int = -1
    pending_json: str = "{}"  # hashed step id -> "wait" | "race": what the run waits on before discovery
    constraints_json: str = "{}"  # flow control evaluated when the run was created (`RunConstraints`)
    # Stamped by the store on every write of the run or of one of its steps (the change feed); bookkeeping,
    # so two records of one run state compare equal whatever their stamps.
    change_seq: int = field(default=0, compare=False)

    @property
    def pending(self) -> dict[str, str]:
        value: dict[str, str] = orjson.loads(self.pending_json)
        return value

    def set_pending(self, pending: dict[str, str]) -> None:
        self.pending_json = orjson.dumps(pending).decode()

    @property
    def constraints(self) -> RunConstraints:
        return RunConstraints.load(self.constraints_json)

    def set_constraints(self, constraints: RunConstraints) -> None:
        self.constraints_json = constraints.dump()


@dataclass(slots=True)
class StepRecord:
    run_id: str
    hashed_id: str
    user_id: str
    index: int
    op: str
    status: StepStatus
    memo_json: str | None = None  # as sent to SDKs; None until the step has an outcome
    started_at: int | None = None
    ended_at: int | None = None
    attempts: int = 1
    seq: int = 0
    finished_seq: int | None = None
    deadline: int | None = None  # a sleep's wake time, a wait's or invoke's timeout
    input_json: str | None = None  # the step's arguments (a JSON array) where the wire carries them
    wait_json: str | None = None  # what a wait or invoke waits for: {"event", "if"}, {"signal"} or {"function"}


@dataclass(slots=True)
class QueueItemRecord:
    id: str
    kind: ItemKind
    run_at: int
    run_id: str | None = None
    function_id: str | None = None
    target: str = ""  # hashed step id for a targeted call, else ""
    payload_json: str = "{}"
    priority: int = 0
    constraints_json: str = "{}"  # `{"throttle": {...}}` on a run's first call (`throttle`); else empty
    attempt: int = 0
    attempt_step: str = ""  # the step the attempt counter belongs to
    generation: int = 0
    lease_owner: str | None = None
    lease_expires_at: int | None = None
    job_key: str | None = None
    created_at: int = 0
    partition: str = ""  # "" for unconstrained calls, "~timers" for timers, else one per function and key
    score: int = 0  # the order among due items: run_at minus the run's priority
    ckey1: str | None = None  # concurrency keys the item holds while leased, and their limits
    climit1: int | None = None
    ckey2: str | None = None
    climit2: int | None = None

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.payload_json)
        return value

    @property
    def throttle(self) -> dict[str, Any] | None:
        """The run's throttle ({key, limit, period_ms, burst}) when this is its first call, else None."""
        found = orjson.loads(self.constraints_json or "{}")  # "[]" in rows written before 2026-12
        throttle = found.get("throttle") if isinstance(found, dict) else None
        return throttle if isinstance(throttle, dict) else None

    def set_throttle(self, throttle: dict[str, Any] | None) -> None:
        self.constraints_json = orjson.dumps({"throttle": throttle} if throttle else {}).decode()

    @property
    def constrained(self) -> bool:
        return self.partition not in ("", TIMERS)


TIMERS = "~timers"
HELD_AT = 2**62  # the `run_at` of a paused function's held call (its own due time kept in `held_run_at`)


@dataclass(slots=True)
class PauseRecord:
    id: str
    run_id: str
    kind: PauseKind
    event_name: str
    trigger_event_json: str  # the run's first event: `event` in expressions
    min_seq: int  # only events stored after this sequence number match
    expires_at: int
    created_at: int
    step_id: str = ""
    expression: str | None = None
    correlation_id: str | None = None


@dataclass(slots=True)
class DebounceRecord:
    """A function's debounce window for one key: the latest event, and when the run starts."""

    function_id: str
    key: str
    event_seq: int
    first_at: int
    due_at: int


@dataclass(slots=True)
class BatchRecord:
    """An open batch of events for one function and key."""

    id: str
    function_id: str
    key: str
    first_at: int
    size: int
    bytes: int


@dataclass(slots=True)
class AttemptRecord:
    run_id: str
    step_id: str  # hashed id, "" for the function itself
    attempt: int
    error_json: str
    at: int
    user_id: str | None = None  # the step id the user wrote (None for the function, and before schema 5)


class StepHistoryRecord(NamedTuple):
    """A step as a call needs it: its memo (None until it has an outcome), and its id and kind for the
    non-determinism checks (`Tx.step_history`). A tuple: a call reads one per step of the run."""

    hashed_id: str
    memo_json: str | None
    user_id: str
    op: str
    finished_seq: int | None


@dataclass(slots=True)
class RunWarningRecord:
    """A run-time non-determinism finding on a run (`server.runs.nondeterminism`)."""

    run_id: str
    code: str  # STP101..STP104
    message: str
    step_ids_json: str  # a JSON array of the user's step ids
    at: int


@dataclass(slots=True)
class SkipRecord:
    event_internal_id: str
    function_id: str
    function_slug: str
    reason: str
    at: int


@dataclass(slots=True)
class RunQuery:
    """Filters for listing runs; `cursor` is the last run id of the previous page."""

    status: RunStatus | None = None
    function_slug: str | None = None
    cursor: str | None = None
    limit: int = 50
    newest_first: bool = True  # the only order the stores list in
    app_id: str | None = None  # the app's uuid
    created_after: int | None = None  # created at or after (unix ms)
    created_before: int | None = None  # created before (unix ms)
    extra: dict[str, Any] = field(default_factory=dict)


class BulkKind(enum.StrEnum):
    """What a bulk job does to each run it matches."""

    CANCEL = "cancel"
    REPLAY = "replay"


@dataclass(slots=True)
class BulkJobRecord:
    """A bulk cancellation or replay of one function's runs created in a time range, worked in batches.

    `cursor` is the last run id looked at (runs are scanned by id, oldest first); `matched` counts the runs
    that met the filters, `acted` those cancelled or replayed; `done_at` is set once every run was looked at.
    """

    id: str
    kind: BulkKind
    app_id: str  # as the request named it
    function_id: str  # the function's uuid
    function_slug: str
    started_after: int | None
    started_before: int
    expression: str | None
    statuses_json: str
    cursor: str
    matched: int
    acted: int
    created_at: int
    done_at: int | None = None

    @property
    def statuses(self) -> list[str]:
        value: list[str] = orjson.loads(self.statuses_json)
        return value


@dataclass(slots=True)
class AuditRecord:
    """One action taken through the REST API: who, what, on what, when, and how it ended."""

    id: str
    at: int
    actor: str
    action: str
    target: str
    status: int
    result: str


class StatsWindow(NamedTuple):
    """The time range `[start, end)` of a chart, cut into buckets of `size` ms (bucket n starts at start + n*size)."""

    start: int
    end: int
    size: int


class BucketStartsRecord(NamedTuple):
    """The runs that started in one bucket, and how long they waited from creation to their first call (ms):
    nearest-rank percentiles."""

    bucket: int
    started: int
    latency_p50: int
    latency_p95: int


class RunStatsRecord(NamedTuple):
    """A window's runs by bucket: starts (with queue latency), ends by status, and the backlog's changes
    (`(bucket, created minus started)`, bucket -1 holding the runs waiting when the window opens)."""

    starts: list[BucketStartsRecord]
    ends: list[tuple[int, str, int]]  # (bucket, status, runs)
    backlog: list[tuple[int, int]]


class StepDurationsRecord(NamedTuple):
    """A function's step.run steps that finished in a window: how many, and their durations' p50 and p95 (ms)."""

    function_slug: str
    steps: int
    p50: int
    p95: int
