"""The store interface: one transaction-script API that every backend implements.

State transitions run as plain (synchronous) functions of a `Tx` inside one database transaction:
`await store.transact(fn)` runs `fn(tx)` on the store's own thread and commits, or rolls back if
`fn` raises. The engine's decisions (which runs an event starts, what a response does to a run)
are written once against `Tx`; SQLite and PostgreSQL implement the verbs below. `Tx` is split by
concern, one protocol each, and every method documents what it guarantees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from stepstone.server.store.errors import Conflict as Conflict
from stepstone.server.store.errors import SchemaError as SchemaError
from stepstone.server.store.errors import StoreError as StoreError
from stepstone.server.store.errors import StoreUnavailable as StoreUnavailable
from stepstone.server.store.errors import UnstorableValueError as UnstorableValueError
from stepstone.server.store.migrations import SchemaStatus
from stepstone.server.store.records import (
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
)

T = TypeVar("T")


class AppsTx(Protocol):
    def get_app(self, name: str) -> AppRecord | None:
        """The app registered under `name` (its app id)."""

    def upsert_app(self, app: AppRecord) -> None:
        """Insert the app, or replace every field of the one with the same id."""

    def list_apps(self) -> list[AppRecord]:
        """Every app, by name."""

    def list_functions(self, *, include_archived: bool = False) -> list[FunctionRecord]:
        """Functions by slug; archived ones only when asked."""

    def get_function(self, slug_or_id: str) -> FunctionRecord | None:
        """A function by slug or id, archived or not."""

    def upsert_function(self, function: FunctionRecord) -> None:
        """Insert the function, or replace the one with the same id."""

    def archive_functions(self, app_id: str, keep: Sequence[str], now: int) -> list[str]:
        """Archive the app's active functions whose slug is not in `keep`; return their ids."""

    def set_function_paused(self, function_id: str, paused_at: int | None) -> None:
        """Pause a function (`paused_at`, kept across syncs) or resume it (None)."""

    def remove_app(self, app_id: str, now: int) -> None:
        """Hide an app from `list_apps` until it syncs again (its next sync registers it in full)."""

    def functions_version(self) -> int:
        """A counter bumped by `bump_functions_version`, for caches of the function list."""

    def bump_functions_version(self) -> None:
        """Tell every cache of the function list (in any process) to reload."""


class EventsTx(Protocol):
    def insert_event(self, event: EventRecord) -> int:
        """Store an event receipt and return its sequence number (increasing, never reused)."""

    def get_event(self, internal_id: str) -> EventRecord | None:
        """The first receipt with this internal id."""

    def get_events_by_seq(self, seqs: Sequence[int]) -> list[EventRecord]:
        """Events by sequence number, in the order asked."""

    def event_names(self, internal_ids: Sequence[str]) -> dict[str, str]:
        """The names of these events by internal id, in one query (a pruned event is missing)."""

    def list_events(self, *, name: str | None, cursor: int | None, limit: int) -> list[EventRecord]:
        """Newest first; `cursor` is the `seq` of the last event of the previous page."""

    def events_after(self, seq: int, name: str, limit: int) -> list[EventRecord]:
        """Events named `name` stored after `seq`, oldest first (waits look back with this)."""

    def last_event_seq(self) -> int:
        """The highest sequence number stored so far (0 when none)."""

    def claim_idempotency_key(self, scope: str, key: str, *, now: int, expires_at: int) -> bool:
        """Record `key` in `scope` until `expires_at`; False when it is already held and not expired."""

    def insert_skip(self, skip: SkipRecord) -> None:
        """Record that an event started no run of a function, and why."""

    def list_skips(self, event_internal_id: str) -> list[SkipRecord]:
        """Skips recorded for an event."""


class RunsTx(Protocol):
    def insert_run(self, run: RunRecord, event_seqs: Sequence[int]) -> None:
        """Create a run and link its triggering events, in order."""

    def get_run(self, run_id: str) -> RunRecord | None:
        """A run by id."""

    def lock_run(self, run_id: str) -> RunRecord | None:
        """A run by id, locked until the transaction ends (read it so before changing it)."""

    def update_run(self, run: RunRecord) -> None:
        """Write back every mutable field of `run` (and stamp it changed, see `list_run_changes`)."""

    def list_runs(self, query: RunQuery) -> list[RunRecord]:
        """Runs matching `query`, newest first (by id), after `cursor`."""

    def search_runs(self, query: RunQuery) -> list[tuple[RunRecord, str | None]]:
        """`list_runs`, each run with its trigger event's JSON (None if it was pruned)."""

    def list_run_changes(
        self, *, after: tuple[int, str], limit: int, status: str | None = None, function_slug: str | None = None
    ) -> list[RunRecord]:
        """The change feed: runs inserted or written (a step saved included) after the cursor `after`
        (`change_seq`, run id), ordered by (`change_seq`, id), oldest change first; `(0, "")` is the start.

        Never misses a change: a write committed after this read always sorts after every run it returned,
        also with several engine processes writing at once (a backend may hold back the newest writes
        until every transaction that could commit behind them has ended). A run changed several times
        appears once, at its latest change.
        """

    def run_changes_head(self) -> tuple[int, str]:
        """The change feed's current end: the cursor after the newest change `list_run_changes` shows now,
        `(0, "")` when it shows none (a reader that starts there sees only what changes from now on)."""

    def run_counts(self, *, since: int, function_slug: str | None = None) -> dict[str, dict[str, int]]:
        """How many runs were created at or after `since`, by function slug and status (one grouped query)."""

    def runs_for_event(self, internal_id: str) -> list[RunRecord]:
        """Runs whose first triggering event has this internal id."""

    def run_event_seqs(self, run_id: str) -> list[int]:
        """Sequence numbers of the run's triggering events, in order."""

    def save_step(self, step: StepRecord) -> bool:
        """Insert the step or, when it exists without an outcome, update it.

        A step that already has an outcome (`memo_json`) is never changed: the first outcome wins.
        Returns True when this call wrote the outcome (or created the row); the run is then stamped
        changed (see `list_run_changes`).
        """

    def list_steps(self, run_id: str) -> list[StepRecord]:
        """The run's steps in the order they were first reported."""

    def run_step_stats(self, run_id: str) -> tuple[int, int]:
        """(how many steps the run has, the total size of their memos in bytes)."""

    def step_memos(self, run_id: str) -> list[tuple[str, str]]:
        """(hashed id, memo JSON) of the run's finished steps, in completion order (the stack)."""

    def step_history(self, run_id: str) -> list[StepHistoryRecord]:
        """The run's steps, finished or not, in the order first stored, with their memos (one read per call)."""

    def get_step(self, run_id: str, hashed_id: str) -> StepRecord | None:
        """One step of a run."""

    def insert_attempt(self, attempt: AttemptRecord) -> None:
        """Record a failed attempt (function or step) with its error."""

    def list_attempts(self, run_id: str) -> list[AttemptRecord]:
        """The run's failed attempts, oldest first."""

    def pending_retries(self, run_id: str) -> dict[str, int]:
        """When the run's next attempts are due, by the hashed step id they retry ("" for the function)."""

    def reruns_of(self, run_id: str) -> list[str]:
        """Ids of the runs started again from this one (`original_run_id`), oldest first."""

    def put_step_input(self, run_id: str, hashed_id: str, input_json: str) -> None:
        """Give a run's step an input to run with instead of its own (a rerun from that step)."""

    def step_inputs(self, run_id: str) -> dict[str, str]:
        """The inputs given to a run's steps (`put_step_input`), by hashed step id."""

    def insert_run_warning(self, warning: RunWarningRecord) -> bool:
        """Record a run-time finding; False when the run already has it (same code and step ids)."""

    def run_warnings(self, run_id: str) -> list[RunWarningRecord]:
        """A run's run-time findings, oldest first."""

    def insert_bulk_job(self, job: BulkJobRecord) -> None:
        """Store a new bulk cancellation or replay."""

    def get_bulk_job(self, job_id: str) -> BulkJobRecord | None:
        """A bulk job by id."""

    def lock_bulk_job(self, job_id: str) -> BulkJobRecord | None:
        """A bulk job by id, locked until the transaction ends; None when missing or locked by another."""

    def update_bulk_job(self, job: BulkJobRecord) -> None:
        """Write back a bulk job's cursor, counts and `done_at`."""

    def list_bulk_jobs(self, kind: str, *, cursor: str | None, limit: int) -> list[BulkJobRecord]:
        """Bulk jobs of one kind, newest first, after `cursor` (the last id of the previous page)."""

    def open_bulk_jobs(self, limit: int) -> list[str]:
        """Ids of bulk jobs not done yet, oldest first."""

    def claim_replay(self, replay_id: str, original_run_id: str, run_id: str) -> bool:
        """Record that a replay started `run_id` from `original_run_id`; False (nothing written) when
        that replay already started a run from it."""

    def replay_of(self, run_id: str) -> str | None:
        """The replay that started this run, if any."""

    def bulk_scan_runs(self, function_slug: str, *, cursor: str, until: str, limit: int) -> list[RunRecord]:
        """A function's runs with `cursor` < id < `until`, oldest first (a bulk job's next batch)."""


class QueueTx(Protocol):
    def enqueue(self, item: QueueItemRecord) -> bool:
        """Add an item; False (and nothing written) when an item with the same `job_key` exists."""

    def claim_partition(
        self, partition: str, *, now: int, lease_until: int, owner: str, limit: int
    ) -> list[QueueItemRecord]:
        """Lease up to `limit` due items of one partition, lowest score first, skipping rows others lock."""

    def release_expired(self, *, lease_now: int, limit: int) -> int:
        """Release up to `limit` leases that ended by `lease_now` (on the database's clock); returns how many."""
        ...

    def lease_clock_ms(self) -> int:
        """The database's clock (unix ms): lease times are read from it, so machines' clocks may differ."""

    def hold_function_calls(self, function_id: str) -> int:
        """Hold a function's unleased calls (it was paused): out of every claim's reach, due time kept."""

    def hold_item(self, item_id: str) -> None:
        """Hold one call (of a paused function) and give up its lease."""

    def release_function_calls(self, function_id: str) -> int:
        """Give a function's held calls their due time back (it was resumed); return how many."""

    def notify_work(self) -> None:
        """Tell idle engine processes that work is due (delivered when the transaction commits)."""

    def get_queue_item(self, item_id: str) -> QueueItemRecord | None:
        """An item by id."""

    def holds_lease(self, item_id: str, generation: int) -> bool:
        """True when the item exists and its current generation is `generation` (the item is then locked)."""

    def delete_queue_item(self, item_id: str) -> None:
        """Remove an item (done)."""

    def delete_queue_item_by_key(self, job_key: str) -> None:
        """Remove the item with this job key, if any."""

    def reschedule(self, item: QueueItemRecord) -> None:
        """Write back `run_at`, `attempt`, `attempt_step`, `payload_json` and release the lease."""

    def extend_leases(self, owner: str, item_ids: Sequence[str], lease_until: int) -> None:
        """Push the lease end of items `owner` still holds."""

    def release_leases(self, owner: str | None) -> int:
        """Release the leases of `owner` (every lease when None); return how many."""

    def release_item(self, item_id: str, owner: str) -> None:
        """Give up `owner`'s lease on one item, so any worker claims it again now."""

    def delete_run_items(self, run_id: str) -> None:
        """Remove every queue item of a run."""

    def next_due_at(self) -> int | None:
        """The earliest `run_at` of an unleased item, or None when the queue is empty."""

    def count_queue_items(self) -> int:
        """How many items wait or run."""

    def delete_function_items(self, function_id: str, kind: str) -> None:
        """Remove a function's items of one kind (e.g. its cron ticks, on re-sync)."""


class PausesTx(Protocol):
    def insert_pause(self, pause: PauseRecord) -> None:
        """Store a pause."""

    def candidate_pauses(self, event_name: str, *, before_seq: int, now: int) -> list[PauseRecord]:
        """Unexpired pauses waiting on `event_name` that an event stored at `before_seq` may match."""

    def delete_pause(self, pause_id: str) -> bool:
        """Consume a pause; True only for the one caller that removed it (exactly-once resumes)."""

    def get_pause(self, pause_id: str) -> PauseRecord | None:
        """A pause by id."""

    def get_pause_by_correlation(self, correlation_id: str) -> PauseRecord | None:
        """The invoke pause waiting for the run with this correlation id."""

    def delete_run_pauses(self, run_id: str) -> None:
        """Remove every pause of a run."""


class LocksTx(Protocol):
    """Named locks held until the transaction ends (advisory locks on PostgreSQL; SQLite has one writer)."""

    def lock_name(self, name: str, *, exclusive: bool) -> None:
        """Hold a named lock until the transaction ends: shared holders run together, exclusive alone.

        Storing an event takes `event:<name>` shared, after inserting it and before matching pauses;
        a new wait takes it exclusive before looking back at stored events. So a wait's look-back runs
        after every concurrent store of that name committed, and a later store sees the new pause.
        A sync takes `app:<name>` exclusive: syncs of one app run one at a time.
        """

    def try_lock_name(self, name: str) -> bool:
        """Take a named lock exclusively if it is free (True), never waiting: claims use it, so that
        engines claiming at once skip each other's partitions instead of waiting (or deadlocking)."""


class FlowTx(Protocol):
    """Flow control: partitioned claims, limiter state, debounce windows, batches, singletons."""

    def partition_candidates(self, partition: str, *, now: int, limit: int) -> list[QueueItemRecord]:
        """The first due unleased items of a partition, by score, locked (not leased) for this transaction."""

    def next_partition(self, after: str) -> str | None:
        """The next constrained partition after `after` (in sort order) that has unleased items."""

    def lease_item(self, item_id: str, *, owner: str, lease_until: int) -> QueueItemRecord | None:
        """Lease one unleased item (None when someone leased it meanwhile)."""

    def queue_gauges(self, now: int) -> list[tuple[str | None, bool, bool, int]]:
        """`(function_id, is_call, leased, count)`: due unclaimed items (calls apart) and claimed calls."""

    def mark_held(self, partition: str, *, now: int, item_id: str | None = None) -> list[str]:
        """Mark the partition's due unleased calls (or only `item_id`) as held by concurrency, each once;
        return the function ids of those marked now."""

    def keys_in_use(self, key: str, *, lease_now: int) -> int:
        """How many calls in flight hold the concurrency key `key`."""

    def reschedule_item(self, item_id: str, run_at: int) -> None:
        """Move an item to `run_at`, keeping its priority offset."""

    def reschedule_by_key(self, job_key: str, run_at: int) -> None:
        """Move the item with this job key to `run_at`, keeping its priority offset."""

    def get_limiter(self, key: str, now: int) -> int | None:
        """A throttle or rate limit's stored state (its TAT), unless expired; locked for the transaction."""

    def peek_limiter(self, key: str, now: int) -> int | None:
        """`get_limiter` without the lock, for reading."""

    def put_limiter(self, key: str, tat: int, expires_at: int) -> None:
        """Store a limiter's state until `expires_at`."""

    def event_holds(self, event_internal_id: str) -> list[tuple[str, str, int | None]]:
        """Functions holding this event before a run: (function slug, "debounced" | "batched", due at)."""

    def lock_debounce(self, function_id: str, key: str) -> DebounceRecord | None:
        """A function's debounce window for `key`, locked for the transaction."""

    def put_debounce(self, debounce: DebounceRecord) -> None:
        """Open a debounce window, or move it (event and due time; `first_at` stays)."""

    def delete_debounce(self, function_id: str, key: str) -> None:
        """Close a debounce window."""

    def lock_open_batch(self, function_id: str, key: str) -> BatchRecord | None:
        """A function's open batch for `key`, locked for the transaction."""

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        """A batch by id, locked for the transaction."""

    def put_batch(self, batch: BatchRecord) -> None:
        """Open a batch, or update its size."""

    def add_batch_event(self, batch_id: str, position: int, event_seq: int) -> None:
        """Append an event to a batch."""

    def batch_event_seqs(self, batch_id: str) -> list[int]:
        """A batch's events, in the order they came."""

    def delete_batch(self, batch_id: str) -> None:
        """Close a batch (it became a run)."""

    def get_singleton(self, function_id: str, key: str) -> str | None:
        """The run holding a singleton key, locked for the transaction."""

    def put_singleton(self, function_id: str, key: str, run_id: str) -> None:
        """Make `run_id` the holder of a singleton key."""

    def delete_run_singletons(self, run_id: str) -> None:
        """Release the singleton keys a run holds (it ended)."""


class RetentionTx(Protocol):
    def prune_runs(self, ended_before: int, limit: int) -> int:
        """Delete up to `limit` runs that ended before `ended_before`, with their steps; return how many."""

    def prune_events(self, received_before: int, limit: int) -> int:
        """Delete up to `limit` events received before the cutoff that no run points at (and old skips)."""

    def prune_idempotency(self, now: int, limit: int) -> int:
        """Delete up to `limit` expired idempotency keys."""


class SettingsTx(Protocol):
    def get_setting(self, key: str) -> str | None:
        """A setting's value."""

    def set_setting(self, key: str, value: str) -> None:
        """Write a setting."""


class AuditTx(Protocol):
    def insert_audit(self, record: AuditRecord) -> None:
        """Record an action taken through the REST API."""

    def list_audit(self, *, cursor: str | None, limit: int) -> list[AuditRecord]:
        """Audit records, newest first, after `cursor` (the last id of the previous page)."""


class StatsTx(Protocol):
    """The dashboard's charts, read from the runs and steps stored (no counter is written for them): each verb
    is a few grouped range scans bounded by the window, whatever engine wrote the rows."""

    def run_starts(self, window: StatsWindow, *, function_slug: str | None = None) -> list[BucketStartsRecord]:
        """The runs that started in each bucket, with their queue latency (a bucket without a start is missing)."""

    def run_stats(self, window: StatsWindow, *, function_slug: str | None = None) -> RunStatsRecord:
        """Runs started (with their queue latency), ended by status, and the backlog's changes, by bucket."""

    def step_durations(self, window: StatsWindow, *, function_slug: str | None = None) -> list[StepDurationsRecord]:
        """The durations of step.run steps that finished in the window, by function slug (sorted)."""


class Tx(
    AppsTx, EventsTx, RunsTx, QueueTx, PausesTx, LocksTx, FlowTx, RetentionTx, SettingsTx, AuditTx, StatsTx, Protocol
):
    """Everything a transaction script may do."""


class Store(Protocol):
    """A backend: runs transaction scripts and read-only queries."""

    async def transact(self, script: Callable[[Tx], T]) -> T:
        """Run `script(tx)` in one transaction and commit; roll back if it raises."""

    async def read(self, script: Callable[[Tx], T]) -> T:
        """Run a read-only `script(tx)` (it must not write)."""

    def schema_status(self) -> SchemaStatus:
        """The schema version and the migrations not applied yet."""

    def upgrade(self) -> list[int]:
        """Apply missing migrations (safe while other processes start); return their versions."""

    def set_quiet_check(self, quiet: Callable[[], bool]) -> None:
        """How to tell that the engine is otherwise idle (a backend may then favour latency over grouping)."""

    async def listen(self, on_work: Callable[[], None]) -> None:
        """Call `on_work` when another engine process commits work that is due (returns when closed).

        A single-process backend returns at once: its engine is woken in memory.
        """

    async def close(self) -> None:
        """Finish pending work and release the database."""

    def describe(self) -> str:
        """Where the data lives, for logs (never with a password)."""
