"""Bulk actions over REST: `/v1/cancellations` (Inngest's bulk cancellation API) and `/v1/replays`.

A POST stores a job and answers at once; the engine works it in the background (`execution.bulk`), and
`GET .../{id}` shows its progress: `matched` (runs that met the filters so far), `cancelled` or `started`,
and `done`. Times are RFC 3339; `started_before` may be at most 5 s ahead of the engine clock. Runs are
selected by when they were created (queued), among those there were when the job was made.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from stepstone.protocol import durations
from stepstone.server.api import rest, views
from stepstone.server.api.common import JSONAnswer, engine_of, error
from stepstone.server.api.errors import APIError
from stepstone.server.core import expressions
from stepstone.server.execution.bulk import BulkRequest
from stepstone.server.store.records import BulkJobRecord, BulkKind

router = APIRouter(prefix="/v1", tags=["rest"], dependencies=rest.router.dependencies)

_AHEAD_MS = 5_000
_MAX_LIMIT = 500
_CREATED: dict[int | str, dict[str, Any]] = {200: {"description": '{"data": <job>}'}, 400: {}, 401: {}, 404: {}}
_READ: dict[int | str, dict[str, Any]] = {200: {"description": '{"data": <job>}'}, 401: {}, 404: {}}


class BulkBody(BaseModel):
    """The runs to act on: one function's runs created in a time range, optionally filtered by CEL."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    app_id: str = Field(min_length=1, max_length=512, description="the app's id (its name in `GET /v1/apps`)")
    function_id: str = Field(
        min_length=1, max_length=512, description="the function's id, as in the app's code or as registered"
    )
    started_before: str = Field(description="RFC 3339: runs created before this (at most now + 5 s)")
    started_after: str | None = Field(default=None, description="RFC 3339: runs created at or after this")
    if_: str | None = Field(
        default=None, alias="if", max_length=4096, description="CEL over the run's trigger `event`: `event.data.a == 1`"
    )


class ReplayBody(BulkBody):
    statuses: list[Literal["Failed", "Cancelled", "Completed"]] = Field(
        min_length=1, description="replay the runs that ended with one of these statuses"
    )


def _time(name: str, text: str) -> int:
    try:
        return durations.to_millis(durations.parse_time(text))
    except ValueError:
        raise APIError(400, f"invalid request: {name}: not an RFC 3339 time: {text!r}") from None


def _request(kind: BulkKind, body: BulkBody, now: int, statuses: tuple[str, ...] = ()) -> BulkRequest:
    before = _time("started_before", body.started_before)
    after = _time("started_after", body.started_after) if body.started_after else None
    if before > now + _AHEAD_MS:
        raise APIError(400, "invalid request: started_before: at most 5 s after now (the engine clock)")
    if after is not None and after >= before:
        raise APIError(400, "invalid request: started_after must be before started_before")
    if body.if_ and (problem := expressions.problem(body.if_)):
        raise APIError(400, f"invalid request: if: {problem}")
    return BulkRequest(kind, body.app_id, body.function_id, before, after, body.if_ or None, statuses)


def job_view(job: BulkJobRecord) -> dict[str, Any]:
    """A bulk job as the API shows it (Inngest's cancellation object, plus progress)."""
    view: dict[str, Any] = {
        "id": job.id,
        "created_at": views.iso(job.created_at),
        "app_id": job.app_id,
        "function_id": job.function_slug,
        "started_after": views.iso(job.started_after),
        "started_before": views.iso(job.started_before),
        "if": job.expression,
        "matched": job.matched,
    }
    if job.kind == BulkKind.REPLAY:
        view["statuses"] = job.statuses
        view["started"] = job.acted
    else:
        view["cancelled"] = job.acted
    view["done"] = job.done_at is not None
    view["done_at"] = views.iso(job.done_at)
    return view


async def _list(request: Request, kind: BulkKind, cursor: str | None, limit: int) -> Response:
    after = rest.run_cursor(cursor)  # job ids are ULIDs, as run ids are
    jobs = await engine_of(request).store.read(lambda tx: tx.list_bulk_jobs(str(kind), cursor=after, limit=limit))
    return JSONAnswer({"data": [job_view(job) for job in jobs], "cursor": jobs[-1].id if len(jobs) == limit else None})


async def _get(request: Request, kind: BulkKind, job_id: str) -> Response:
    job = await engine_of(request).store.read(lambda tx: tx.get_bulk_job(job_id))
    if job is None or job.kind != kind:
        return error(404, f"{'cancellation' if kind == BulkKind.CANCEL else 'replay'} {job_id} not found")
    return JSONAnswer({"data": job_view(job)})


@router.post(
    "/cancellations",
    summary="Cancel, in the background, every run of a function created in a time range that has not ended",
    description="Inngest's bulk cancellation. Answers the job at once; `GET /v1/cancellations/{id}` shows its "
    "progress. 400 for a bad body or CEL, 404 for an unknown app or function.",
    responses=_CREATED,
)
async def create_cancellation(body: BulkBody, request: Request) -> Response:
    engine = engine_of(request)
    job = await engine.start_bulk_job(_request(BulkKind.CANCEL, body, engine.clock.now_ms()))
    return JSONAnswer({"data": job_view(job)})


@router.get("/cancellations", summary="Bulk cancellations, newest first", responses=_READ)
async def list_cancellations(
    request: Request,
    cursor: str | None = Query(default=None, description=rest.EVENTS_CURSOR),
    limit: int = Query(default=50, ge=1, le=_MAX_LIMIT),
) -> Response:
    return await _list(request, BulkKind.CANCEL, cursor, limit)


@router.get("/cancellations/{cancellation_id}", summary="One bulk cancellation and its progress", responses=_READ)
async def get_cancellation(cancellation_id: str, request: Request) -> Response:
    return await _get(request, BulkKind.CANCEL, cancellation_id)


@router.post(
    "/replays",
    summary="Replay, in the background, the runs of a function created in a time range that ended so",
    description="Starts a new run (with `original_run_id` and `replay_id`) for every matching run, at most "
    "one per run and replay. Answers the job at once; `GET /v1/replays/{id}` shows its progress. 400 for a bad "
    "body or CEL, 404 for an unknown app or function.",
    responses=_CREATED,
)
async def create_replay(body: ReplayBody, request: Request) -> Response:
    engine = engine_of(request)
    statuses = tuple(dict.fromkeys(body.statuses))
    job = await engine.start_bulk_job(_request(BulkKind.REPLAY, body, engine.clock.now_ms(), statuses))
    return JSONAnswer({"data": job_view(job)})


@router.get("/replays", summary="Bulk replays, newest first", responses=_READ)
async def list_replays(
    request: Request,
    cursor: str | None = Query(default=None, description=rest.EVENTS_CURSOR),
    limit: int = Query(default=50, ge=1, le=_MAX_LIMIT),
) -> Response:
    return await _list(request, BulkKind.REPLAY, cursor, limit)


@router.get("/replays/{replay_id}", summary="One bulk replay and its progress", responses=_READ)
async def get_replay(replay_id: str, request: Request) -> Response:
    return await _get(request, BulkKind.REPLAY, replay_id)
