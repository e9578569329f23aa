"""The REST API under `/v1`: every answer is `{"data": ...}` (lists add `"cursor"`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from stepstone.server import claims
from stepstone.server.api import views
from stepstone.server.api.common import JSONAnswer, engine_of, error, require_signing_key
from stepstone.server.engine import RunEndedError, RunNotFoundError
from stepstone.server.store.base import Tx
from stepstone.server.store.records import RunQuery, RunRecord, RunStatus

router = APIRouter(prefix="/v1", tags=["rest"], dependencies=[Depends(require_signing_key)])

_MAX_LIMIT = 500


@router.get("/events", summary="Events, newest first")
async def list_events(
    request: Request,
    name: str | None = None,
    cursor: str | None = Query(default=None, description="the `cursor` of the previous page (empty: the first)"),
    limit: int = Query(default=50, ge=1, le=_MAX_LIMIT),
) -> Response:
    if cursor and not cursor.isdigit():
        return error(400, "invalid cursor: pass the `cursor` of the previous page")
    after = int(cursor) if cursor else None
    records = await engine_of(request).store.read(lambda tx: tx.list_events(name=name, cursor=after, limit=limit))
    next_cursor = records[-1].seq if len(records) == limit else None
    return JSONAnswer({"data": [views.event(record) for record in records], "cursor": next_cursor})


@router.get("/events/{event_id}", summary="One event, by the internal id the event API returned")
async def get_event(event_id: str, request: Request) -> Response:
    record = await engine_of(request).store.read(lambda tx: tx.get_event(event_id))
    if record is None:
        return error(404, f"event {event_id} not found")
    return JSONAnswer({"data": views.event(record)})


@router.get(
    "/events/{event_id}/runs",
    summary="The runs an event started, the functions that skipped it, and those holding it (debounce, batch)",
)
async def event_runs(event_id: str, request: Request) -> Response:
    now = engine_of(request).clock.now_ms()

    def read(tx: Tx) -> dict[str, Any] | None:
        if tx.get_event(event_id) is None:
            return None
        return {
            "data": [views.run(run) for run in explained(tx, tx.runs_for_event(event_id), now, request)],
            "skipped": [views.skip(skip) for skip in tx.list_skips(event_id)],
            "waiting": [views.hold(*hold) for hold in tx.event_holds(event_id)],
        }

    answer = await engine_of(request).store.read(read)
    if answer is None:
        return error(404, f"event {event_id} not found")
    return JSONAnswer(answer)


@router.get("/runs", summary="Runs, newest first, filtered by status and function")
async def list_runs(
    request: Request,
    status: RunStatus | None = None,
    function_id: str | None = Query(default=None, description="the function's id as registered, e.g. `myapp-fn`"),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=_MAX_LIMIT),
) -> Response:
    query = RunQuery(status=status, function_slug=function_id, cursor=cursor or None, limit=limit)
    now = engine_of(request).clock.now_ms()

    def read(tx: Tx) -> list[RunRecord]:
        return explained(tx, tx.list_runs(query), now, request)

    records = await engine_of(request).store.read(read)
    next_cursor = records[-1].id if len(records) == limit else None
    return JSONAnswer({"data": [views.run(record) for record in records], "cursor": next_cursor})


def explained(tx: Tx, runs: list[RunRecord], now: int, request: Request) -> list[RunRecord]:
    """The runs, each Queued one with why it waits if a flow-control limit holds it."""
    waiting = [run for run in runs if run.status == RunStatus.QUEUED and run.reason is None]
    if waiting:
        catalog = engine_of(request).registry.catalog(tx)
        for run in waiting:
            fn = catalog.get(run.function_id)
            run.reason = claims.why_queued(tx, run, now=now, config=fn.config if fn else None)
    return runs


@router.get("/runs/{run_id}", summary="One run with its events, steps and failed attempts")
async def get_run(run_id: str, request: Request) -> Response:
    now = engine_of(request).clock.now_ms()

    def read(tx: Tx) -> dict[str, Any] | None:
        run = tx.get_run(run_id)
        if run is None:
            return None
        explained(tx, [run], now, request)
        events = tx.get_events_by_seq(tx.run_event_seqs(run_id))
        return views.run(run, events=events, steps=tx.list_steps(run_id), attempts=tx.list_attempts(run_id))

    view = await engine_of(request).store.read(read)
    if view is None:
        return error(404, f"run {run_id} not found")
    return JSONAnswer({"data": view})


@router.delete("/runs/{run_id}", summary="Cancel a run")
async def cancel_run(run_id: str, request: Request) -> Response:
    try:
        run = await engine_of(request).cancel_run(run_id)
    except RunNotFoundError:
        return error(404, f"run {run_id} not found")
    except RunEndedError:
        return error(409, f"run {run_id} has already ended")
    return JSONAnswer({"data": views.run(run)})


@router.post("/runs/{run_id}/rerun", summary="Start a new run of the same function with the same events")
async def rerun(run_id: str, request: Request) -> Response:
    try:
        run = await engine_of(request).rerun(run_id)
    except RunNotFoundError as err:
        return error(404, f"run not found: {err}")
    return JSONAnswer({"data": views.run(run)})


@router.get("/apps", summary="Registered apps")
async def list_apps(request: Request) -> Response:
    def read(tx: Tx) -> list[dict[str, Any]]:
        functions = tx.list_functions()
        return [views.app(app, functions) for app in tx.list_apps()]

    return JSONAnswer({"data": await engine_of(request).store.read(read)})


@router.get("/functions", summary="Registered functions")
async def list_functions(request: Request, include_archived: bool = False) -> Response:
    def read(tx: Tx) -> list[dict[str, Any]]:
        names = {app.id: app.name for app in tx.list_apps()}
        return [views.function(fn, names.get(fn.app_id)) for fn in tx.list_functions(include_archived=include_archived)]

    return JSONAnswer({"data": await engine_of(request).store.read(read)})
