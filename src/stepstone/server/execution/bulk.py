"""Bulk cancellations and replays: jobs stored as rows, worked in batches by every engine's `BulkRunner`.

A job names one function and a time range of run creation (plus, optionally, a CEL expression over the
run's trigger event and, for a replay, the statuses to replay). It looks at the function's runs created
in that range before the job was made, oldest first, one batch per transaction: the batch's actions
(runs cancelled, runs started) and the job's cursor and counts commit together, so a job that stopped
(a crash, a restart) resumes after the last batch that committed and never acts on a run twice. A
batch holds the job's row lock (others skip it), so one engine works a job at a time. A replay also
records each run it started under the key (replay, original run), which a second start would break.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass

import orjson
from ulid import ULID

from stepstone.server.core import expressions
from stepstone.server.core.errors import EngineError
from stepstone.server.execution.executor import Executor
from stepstone.server.functions.registry import Registered
from stepstone.server.intake import flow
from stepstone.server.queue.work import Work
from stepstone.server.runs import lifecycle
from stepstone.server.store.records import BulkJobRecord, BulkKind, FunctionRecord, RunRecord, RunStatus

log = logging.getLogger("stepstone.bulk")
BATCH = 100  # runs looked at per transaction: small enough that the queue's transactions get in between
POLL_TURNS = 20  # poll intervals between looks for jobs made by other engines (or left by a crash)


class BulkTargetError(EngineError, LookupError):
    """A bulk job names an app or a function that is not registered (the message says which)."""


class ReplayTwiceError(EngineError, RuntimeError):
    """A replay was about to start a second run from one original run (its batch rolls back)."""


@dataclass(frozen=True)
class BulkRequest:
    """What a bulk job acts on: runs of one function created in [`started_after`, `started_before`)
    (unix ms), whose trigger event matches `expression`, and for a replay whose status is in `statuses`."""

    kind: BulkKind
    app_id: str
    function_id: str
    started_before: int
    started_after: int | None = None
    expression: str | None = None
    statuses: tuple[str, ...] = ()


def find_function(work: Work, app_id: str, function_id: str) -> FunctionRecord:
    """The active function `function_id` (its slug, or its id within the app) of the app `app_id`
    (its name, as the SDK's client id, or its id as `GET /v1/apps` shows it)."""
    app = next((app for app in work.apps.list_apps() if app_id in (app.name, app.id)), None)
    if app is None:
        raise BulkTargetError(f"app {app_id!r} not found: see GET /v1/apps")
    for fn in work.apps.list_functions():
        if fn.app_id == app.id and fn.slug in (function_id, f"{app.name}-{function_id}"):
            return fn
    raise BulkTargetError(f"function {function_id!r} of app {app.name!r} not found (or archived): see /v1/functions")


def create(work: Work, request: BulkRequest) -> BulkJobRecord:
    """Store a new job (its worker starts it once this commits)."""
    fn = find_function(work, request.app_id, request.function_id)
    job = BulkJobRecord(
        id=work.new_id(),
        kind=request.kind,
        app_id=request.app_id,
        function_id=fn.id,
        function_slug=fn.slug,
        started_after=request.started_after,
        started_before=request.started_before,
        expression=request.expression,
        statuses_json=orjson.dumps(list(request.statuses)).decode(),
        cursor=_id_floor(request.started_after),
        matched=0,
        acted=0,
        created_at=work.now,
    )
    work.runs.insert_bulk_job(job)
    return job


def _id_floor(millis: int | None) -> str:
    """A cursor below every run id made at or after `millis` (run ids are ULIDs on the engine clock)."""
    return "" if not millis or millis <= 0 else str(ULID.from_int((millis << 80) - 1))


def _id_ceiling(millis: int) -> str:
    """An id above every run id made before `millis`."""
    return str(ULID.from_int(max(millis, 0) << 80))


def work_batch(work: Work, job_id: str, limit: int = BATCH) -> bool:
    """Act on the job's next batch of runs; True while more remain (False when done, gone, or held by
    another engine)."""
    job = work.runs.lock_bulk_job(job_id)
    if job is None or job.done_at is not None:
        return False
    until = _id_ceiling(min(job.started_before, job.created_at + 1))  # the runs there were when it was made
    runs = work.runs.bulk_scan_runs(job.function_slug, cursor=job.cursor, until=until, limit=limit)
    expression = expressions.compile_expression(job.expression) if job.expression else None
    for run in runs:
        if not _selected(work, job, run, expression):
            continue
        job.matched += 1
        if _act(work, job, run):
            job.acted += 1
    if runs:
        job.cursor = runs[-1].id
    if len(runs) < limit:
        job.done_at = work.now
    work.runs.update_bulk_job(job)
    return job.done_at is None


def _selected(work: Work, job: BulkJobRecord, run: RunRecord, expression: expressions.Expression | None) -> bool:
    if run.created_at >= job.started_before or (job.started_after is not None and run.created_at < job.started_after):
        return False
    if job.kind == BulkKind.CANCEL and run.status.ended:
        return False
    if job.kind == BulkKind.REPLAY and str(run.status) not in job.statuses:
        return False
    if expression is None:
        return True
    event = work.events.get_event(run.event_id)
    return event is not None and expression.matches({"event": event.payload})


def _act(work: Work, job: BulkJobRecord, run: RunRecord) -> bool:
    """Cancel or replay one run; False when it no longer can be (it ended meanwhile, its function left)."""
    locked = work.runs.lock_run(run.id)
    if locked is None:
        return False
    if job.kind == BulkKind.CANCEL:
        if locked.status.ended:
            return False
        reason = f"cancelled by bulk cancellation {job.id}"
        lifecycle.finalize(work, locked, RunStatus.CANCELLED, output_json=None, reason=reason)
        return True
    fn: Registered | None = work.catalog().get(locked.function_id)
    if fn is None:
        return False
    events = work.events.get_events_by_seq(work.runs.run_event_seqs(locked.id))
    started = flow.start(work, fn, events, original_run_id=locked.id, cron=locked.cron)
    if not work.runs.claim_replay(job.id, locked.id, started.id):
        raise ReplayTwiceError(f"replay {job.id} already started a run from {locked.id}")
    return True


class BulkRunner:
    """Works the open bulk jobs in the background: woken when this engine makes one, and every few poll
    intervals for jobs made by other engines or left open by a stop."""

    def __init__(self, executor: Executor, *, batch: int = BATCH) -> None:
        self.executor = executor
        self.batch = batch
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        pause = self.executor.settings.poll_interval.total_seconds() * POLL_TURNS
        while True:
            self._wake.clear()
            try:
                await self.work_open_jobs()
            except Exception:
                log.exception("a bulk job failed a batch; trying again later", extra={"action": "bulk.failed"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def work_open_jobs(self) -> None:
        """Work every open job to its end, a batch per transaction, letting other work in between."""
        job_ids = await self.executor.store.read(lambda tx: tx.open_bulk_jobs(50))
        for job_id in job_ids:
            more = True
            while more:
                batch = functools.partial(work_batch, job_id=job_id, limit=self.batch)
                more, _ = await self.executor.transact(batch)
                await asyncio.sleep(0)
