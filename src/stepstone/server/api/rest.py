"""The REST API under `/v1`: every answer is `{"data": ...}` (lists add `"cursor"`).

Cursors are opaque strings handed out by the API: pass one back unchanged, or nothing (or an empty
one) to start; a cursor the API did not hand out is a 400, on every list.
"""

from __future__ import annotations

import importlib.metadata
import re
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.responses import Response

from stepstone.protocol import durations
from stepstone.server.api import auth, reruns, search, views
from stepstone.server.api import events as event_api
from stepstone.server.api.common import JSONAnswer, engine_of, error
from stepstone.server.api.errors import APIError
from stepstone.server.apps.syncer import normalize_url
from stepstone.server.core import expressions
from stepstone.server.engine import Invocation
from stepstone.server.functions import control, describe
from stepstone.server.queue import queueing
from stepstone.server.store.base import Tx
from stepstone.server.store.records import RunQuery, RunRecord, RunStatus


async def refuse_nul(request: Request) -> None:
    """A NUL character in a path or query parameter is a 400 (PostgreSQL cannot store or compare one)."""
    for value in (*request.path_params.values(), *request.query_params.values()):
        if isinstance(value, str) and "\x00" in value:
            raise APIError(400, "invalid request: a parameter contains a NUL character")


router = APIRouter(prefix="/v1", tags=["rest"], dependencies=[Depends(auth.require_caller), Depends(refuse_nul)])

_MAX_LIMIT = 500
VERSION = importlib.metadata.version("stepstone")
_MAX_SEQ = 2**63 - 1
_SEQ = re.compile(r"[0-9]{1,19}")
_RUN_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")  # a ULID, as the engine makes them
_CHANGE = re.compile(r"([0-9]{1,19}):([0-9A-HJKMNP-TV-Z]{26})")
EVENTS_BODY = event_api.SEND_EVENTS.request_body
_BAD_CURSOR = "invalid cursor: pass back the `cursor` of the previous answer unchanged, or none to start"
EVENTS_CURSOR = "the `cursor` of the previous page, unchanged (absent or empty: the first page; anything else: 400)"
RUNS_CURSOR = EVENTS_CURSOR
FEED_CURSOR = (
    "the change feed: runs created or changed (status, output, a step finishing) after this cursor, oldest change "
    "first; the answer's `cursor` is always present: pass it back to get what changed since. Empty or `0`: from "
    "the beginning; `now`: from the feed's current end (no runs, just the cursor to follow from). Opaque; one "
    "the API did not hand out is a 400. A run changed several times since the cursor "
    "appears once, as it is now. Not with `cursor`."
)


def event_cursor(cursor: str | None) -> int | None:
    """An events page cursor (an event's sequence number), None for the first page."""
    if not cursor:
        return None
    if not _SEQ.fullmatch(cursor) or int(cursor) > _MAX_SEQ:
        raise APIError(400, _BAD_CURSOR)
    return int(cursor)


def run_cursor(cursor: str | None) -> str | None:
    """A runs page cursor (the last run id of the previous page), None for the first page."""
    if not cursor:
        return None
    if not _RUN_ID.fullmatch(cursor):
        raise APIError(400, _BAD_CURSOR)
    return cursor


def change_cursor(cursor: str) -> tuple[int, str]:
    """A change-feed cursor: "<change_seq>:<run id>", or empty / `0` for the beginning."""
    if cursor in ("", "0"):
        return 0, ""
    match = _CHANGE.fullmatch(cursor)
    if match is None or int(match.group(1)) > _MAX_SEQ:
        raise APIError(400, _BAD_CURSOR)
    return int(match.group(1)), match.group(2)


@router.get("/events", summary="Events, newest first")
async def list_events(
    request: Request,
    name: str | None = None,
    cursor: str | None = Query(default=None, description=EVENTS_CURSOR),
    limit: int = Query(default=50, ge=1, le=_MAX_LIMIT),
) -> Response:
    after = event_cursor(cursor)
    records = await engine_of(request).store.read(lambda tx: tx.list_events(name=name, cursor=after, limit=limit))
    next_cursor = records[-1].seq if len(records) == limit else None
    return JSONAnswer({"data": [views.event(record) for record in records], "cursor": next_cursor})


@router.post(
    "/events",
    summary="Send one event or a list of events, authenticated as the REST API",
    description="The same body and answer as the event API `POST /e/{event_key}` (one event or a list; "
    '`{"ids": [...], "status": 200}`), without an event key: the caller is authenticated as for every REST '
    "route (so the dashboard sends with its session). Audited.",
    responses={200: {"description": '{"ids": [...], "status": 200}'}, 400: {}, 401: {}, 413: {}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": EVENTS_BODY}}}},
)
async def send_events(request: Request) -> Response:  # the body is read raw: `EVENTS_BODY` documents it
    body = await request.body()
    answer = await event_api.accept_events(engine_of(request), body, request.headers.raw)
    request.state.audit_detail = event_api.names_of(body)  # the audit log keeps names and ids, never the data
    return answer


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
            "data": listed(tx, explained(tx, tx.runs_for_event(event_id), now, request)),
            "skipped": [views.skip(skip) for skip in tx.list_skips(event_id)],
            "waiting": [views.hold(*hold) for hold in tx.event_holds(event_id)],
        }

    answer = await engine_of(request).store.read(read)
    if answer is None:
        return error(404, f"event {event_id} not found")
    return JSONAnswer(answer)


@router.get(
    "/runs",
    summary="Runs, newest first, filtered by status, function, app, creation time and a CEL `if`; or, with "
    "`updated_after`, the change feed",
    description='Pages newest first with `cursor` (`{"data": [...], "cursor": next or null}`), or follows '
    'changes oldest first with `updated_after` (`{"data": [...], "cursor": next}`). With `if`, the engine '
    "evaluates the expression on at most `search_limit` runs (newest first from the cursor) and adds "
    '`"search": {"scanned", "limit", "stopped"}`; `stopped` is true when it reached the limit before the page '
    "filled: pass the `cursor` back to go on. A bad expression is a 400 saying why. " + FEED_CURSOR,
)
async def list_runs(
    request: Request,
    status: RunStatus | None = None,
    function_id: str | None = Query(default=None, description="the function's id as registered, e.g. `myapp-fn`"),
    app_id: str | None = Query(default=None, description="the app's id or name (runs of its functions)"),
    started_after: str | None = Query(default=None, description="RFC 3339: runs created at or after this time"),
    started_before: str | None = Query(default=None, description="RFC 3339: runs created before this time"),
    if_: str | None = Query(
        default=None,
        alias="if",
        description="CEL over `event` (the trigger event: id, name, data, ts, v, user) and `output`, e.g. "
        '`event.data.account_id == "a-1"`',
    ),
    search_limit: int | None = Query(
        default=None, ge=1, le=1_000_000, description="with `if`: runs scanned at most (default: the engine's)"
    ),
    cursor: str | None = Query(default=None, description=RUNS_CURSOR),
    updated_after: str | None = Query(default=None, description=FEED_CURSOR),
    limit: int = Query(default=50, ge=1, le=_MAX_LIMIT),
) -> Response:
    if updated_after is not None:
        if cursor or app_id or started_after or started_before or if_:
            return error(400, "`updated_after` (the change feed) takes only `status`, `function_id` and `limit`")
        after = await feed_head(request) if updated_after == "now" else change_cursor(updated_after)
        return await run_changes(request, after, status, function_id, limit)
    engine = engine_of(request)
    expression = search_expression(if_)
    query = RunQuery(
        status=status,
        function_slug=function_id,
        cursor=run_cursor(cursor),
        limit=limit,
        created_after=query_time("started_after", started_after),
        created_before=query_time("started_before", started_before),
    )
    scan_limit = search_limit or engine.settings.search_limit
    now = engine.clock.now_ms()

    def read(tx: Tx) -> tuple[search.Found, list[dict[str, Any]]]:
        if app_id:
            app = control.find_app(tx, app_id)
            if app is None:
                return search.Found([], None, 0, stopped=False), []
            query.app_id = app.id
        if expression is not None:
            found = search.search(tx, query, expression, scan_limit=scan_limit)
        else:
            records = tx.list_runs(query)
            found = search.Found(records, records[-1].id if len(records) == limit else None, 0, stopped=False)
        explained(tx, found.runs, now, request)
        return found, listed(tx, found.runs)

    found, shown = await engine.store.read(read)
    answer: dict[str, Any] = {"data": shown, "cursor": found.cursor}
    if expression is not None:
        answer["search"] = {"scanned": found.scanned, "limit": scan_limit, "stopped": found.stopped}
    return JSONAnswer(answer)


def search_expression(source: str | None) -> expressions.Expression | None:
    if source is None or not source.strip():
        return None
    try:
        return expressions.compile_expression(source)
    except expressions.ExpressionError as err:
        raise APIError(400, f"invalid `if` expression: {err}") from None


def query_time(name: str, text: str | None) -> int | None:
    if not text:
        return None
    try:
        return durations.to_millis(durations.parse_time(text))
    except (ValueError, OverflowError) as err:
        raise APIError(400, f"invalid `{name}`: {err}") from None


async def feed_head(request: Request) -> tuple[int, str]:
    """Where a reader starts to see only what changes from now on (one index seek, whatever the history)."""
    return await engine_of(request).store.read(lambda tx: tx.run_changes_head())


async def run_changes(
    request: Request, after: tuple[int, str], status: RunStatus | None, function_id: str | None, limit: int
) -> Response:
    now = engine_of(request).clock.now_ms()
    wanted = str(status) if status else None

    def read(tx: Tx) -> tuple[list[RunRecord], list[dict[str, Any]]]:
        changed = tx.list_run_changes(after=after, limit=limit, status=wanted, function_slug=function_id)
        return changed, listed(tx, explained(tx, changed, now, request))

    records, shown = await engine_of(request).store.read(read)
    last = (records[-1].change_seq, records[-1].id) if records else after
    next_cursor = f"{last[0]}:{last[1]}" if last[1] else "0"
    return JSONAnswer({"data": shown, "cursor": next_cursor})


def listed(tx: Tx, runs: list[RunRecord]) -> list[dict[str, Any]]:
    """Runs as lists show them: each with `event_name`, its trigger event's name (null once the event is
    pruned), read for the whole page in one query, so a table of runs needs no request per row."""
    names = tx.event_names([run.event_id for run in runs])
    return [{**views.run(run), "event_name": names.get(run.event_id)} for run in runs]


def explained(tx: Tx, runs: list[RunRecord], now: int, request: Request) -> list[RunRecord]:
    """The runs, each Queued one with why it waits if a flow-control limit holds it."""
    waiting = [run for run in runs if run.status == RunStatus.QUEUED and run.reason is None]
    if waiting:
        catalog = engine_of(request).registry.catalog(tx)
        for run in waiting:
            fn = catalog.get(run.function_id)
            config, paused = (fn.config, fn.paused) if fn else (None, False)
            run.reason = queueing.why_queued(tx, run, now=now, config=config, paused=paused)
    return runs


@router.get(
    "/runs/{run_id}",
    summary="One run with its events, steps and failed attempts",
    description="Every run, here and in the lists, has `trace_id`: the 32 hex digits of the W3C trace of its "
    "spans (OpenTelemetry, docs/observability.md), derived from the run id.",
)
async def get_run(run_id: str, request: Request) -> Response:
    now = engine_of(request).clock.now_ms()

    def read(tx: Tx) -> dict[str, Any] | None:
        run = tx.get_run(run_id)
        if run is None:
            return None
        explained(tx, [run], now, request)
        events = tx.get_events_by_seq(tx.run_event_seqs(run_id))
        attempts, retries = tx.list_attempts(run_id), tx.pending_retries(run_id)
        return views.run(
            run,
            events=events,
            steps=tx.list_steps(run_id),
            attempts=attempts,
            retries=retries,
            reruns=tx.reruns_of(run_id),
            replay_id=tx.replay_of(run_id),
            warnings=tx.run_warnings(run_id),
        )

    view = await engine_of(request).store.read(read)
    if view is None:
        return error(404, f"run {run_id} not found")
    return JSONAnswer({"data": view})


@router.delete("/runs/{run_id}", summary="Cancel a run")
async def cancel_run(run_id: str, request: Request) -> Response:
    run = await engine_of(request).cancel_run(run_id)  # RunNotFoundError: 404, RunEndedError: 409 (`api.errors`)
    return JSONAnswer({"data": views.run(run)})


@router.post("/runs/{run_id}/rerun", summary=reruns.SUMMARY, description=reruns.DESCRIPTION, responses=reruns.RESPONSES)
async def rerun(run_id: str, request: Request, body: reruns.RerunBody | None = None) -> Response:
    return await reruns.start_rerun(run_id, body, request)


# Inngest's REST v2 takes the same body (`fromStep`); one route, answered as v1 answers.
router_v2 = APIRouter(prefix="/v2", tags=["rest"], dependencies=router.dependencies)


@router_v2.post(
    "/runs/{run_id}/rerun", summary=reruns.SUMMARY, description=reruns.DESCRIPTION, responses=reruns.RESPONSES
)
async def rerun_v2(run_id: str, request: Request, body: reruns.RerunBody | None = None) -> Response:
    return await reruns.start_rerun(run_id, body, request)


@router.get("/apps", summary="Registered apps")
async def list_apps(request: Request) -> Response:
    def read(tx: Tx) -> list[dict[str, Any]]:
        functions = tx.list_functions()
        return [views.app(app, functions) for app in tx.list_apps()]

    return JSONAnswer({"data": await engine_of(request).store.read(read)})


FUNCTION = (
    '`{"data": <function>}`: its triggers, config, `paused`, `flow` (flow control in words), `next_cron` and '
    "`stats` (runs created in the last 24 h by status, and the failure rate)"
)


@router.get("/functions", summary="Registered functions, each with its flow control in words and 24 h stats")
async def list_functions(request: Request, include_archived: bool = False) -> Response:
    now = engine_of(request).clock.now_ms()

    def read(tx: Tx) -> list[dict[str, Any]]:
        names = {app.id: app.name for app in tx.list_apps()}
        counts = tx.run_counts(since=now - describe.STATS_WINDOW_MS)
        return [
            views.function(fn, names.get(fn.app_id), now=now, counts=counts.get(fn.slug))
            for fn in tx.list_functions(include_archived=include_archived)
        ]

    return JSONAnswer({"data": await engine_of(request).store.read(read)})


@router.get(
    "/functions/{function_id}",
    summary="One function (archived ones too)",
    description=FUNCTION + "; 404 for an unknown function.",
    responses={200: {"description": '{"data": <function>}'}, 401: {}, 404: {}},
)
async def get_function(function_id: str, request: Request) -> Response:
    now = engine_of(request).clock.now_ms()

    def read(tx: Tx) -> dict[str, Any] | None:
        fn = tx.get_function(function_id)
        if fn is None:
            return None
        app = next((app for app in tx.list_apps() if app.id == fn.app_id), None)
        counts = tx.run_counts(since=now - describe.STATS_WINDOW_MS, function_slug=fn.slug).get(fn.slug)
        return views.function(fn, app.name if app else None, now=now, counts=counts)

    view = await engine_of(request).store.read(read)
    if view is None:
        return error(404, f"function {function_id} not found: see GET /v1/functions")
    return JSONAnswer({"data": view})


async def switch_function(function_id: str, request: Request, *, paused: bool) -> Response:
    engine = engine_of(request)
    await engine.pause_function(function_id, paused=paused)  # FunctionNotFoundError: 404
    return await get_function(function_id, request)


@router.post(
    "/functions/{function_id}/pause",
    summary="Pause a function: it starts no runs and its queued runs wait",
    description="Events, cron ticks and invokes that match it are stored and list it in `skipped` with the "
    'reason "function paused"; its queued runs (and the next steps of its running runs) wait until it resumes, '
    'each Queued run saying `reason: "function paused"`. A sync keeps the pause. ' + FUNCTION + "; 404 for an "
    "unknown or archived function. Pausing a paused function changes nothing.",
    responses={200: {"description": '{"data": <function>}'}, 401: {}, 404: {}},
)
async def pause_function(function_id: str, request: Request) -> Response:
    return await switch_function(function_id, request, paused=True)


@router.post(
    "/functions/{function_id}/resume",
    summary="Resume a paused function: its waiting runs go on, new events start runs again",
    description=FUNCTION + "; 404 for an unknown or archived function. Resuming a running function changes nothing.",
    responses={200: {"description": '{"data": <function>}'}, 401: {}, 404: {}},
)
async def resume_function(function_id: str, request: Request) -> Response:
    return await switch_function(function_id, request, paused=False)


@router.delete(
    "/apps/{app_id}",
    summary="Remove an app: archive its functions and hide it until it syncs again",
    description='200 `{"data": <app>}` (as it was); 404 for an unknown app (by id or name). Its functions stop '
    "triggering; a later sync of the app (`POST /v1/apps`, or the app's own) brings it and them back.",
    responses={200: {"description": '{"data": <app>}'}, 401: {}, 404: {}},
)
async def remove_app(app_id: str, request: Request) -> Response:
    engine = engine_of(request)
    app = await engine.remove_app(app_id)  # AppNotFoundError: 404
    functions = await engine.store.read(lambda tx: tx.list_functions(include_archived=True))
    return JSONAnswer({"data": views.app(app, functions)})


@router.get(
    "/info",
    summary="What this engine is: dev or production, version, retention, search limit, store kind",
    responses={
        200: {
            "description": '{"data": {"mode", "version", "retention", "retention_seconds", "search_limit", "store", '
            '"trace_url"}}; `trace_url`: a trace viewer\'s URL with `{trace_id}` (`--trace-url`), or null'
        },
        401: {},
    },
)
async def info(request: Request) -> Response:
    engine = engine_of(request)
    retention = engine.settings.retention
    return JSONAnswer(
        {
            "data": {
                "mode": "dev" if engine.settings.dev else "production",
                "version": VERSION,
                "retention": views.retention_words(retention) if retention else None,
                "retention_seconds": int(retention.total_seconds()) if retention else None,
                "search_limit": engine.settings.search_limit,
                "store": "postgres" if "postgres" in type(engine.backend).__module__ else "sqlite",
                "trace_url": engine.settings.trace_url,
            }
        }
    )


class AppSyncRequest(BaseModel):
    """An app to add or sync again, by the URL it serves the Inngest protocol at."""

    url: str = Field(
        min_length=1, max_length=2048, description="the app's serve URL, e.g. `http://127.0.0.1:8000/api/inngest`"
    )


def url_problem(url: str) -> str | None:
    """Why `url` cannot be an app's serve URL (http or https, with a host), or None."""
    if not url.isascii() or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        return "the URL must be ASCII without spaces or control characters (percent-encode the rest)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as err:
        return f"the URL is malformed: {err}"
    if parts.scheme not in ("http", "https"):
        return f"the URL must be http:// or https://, not {parts.scheme}://"
    if not parts.hostname:
        return "the URL has no host"
    return None


@router.post(
    "/apps",
    summary="Add or sync again the app served at a URL, and answer the sync's result",
    description="The engine PUTs the URL (as `stepstone dev -u` does) and the app registers its functions. "
    "200 with the app as `GET /v1/apps` shows it once it registered; 400 for a URL that is not http(s) with a "
    "host; 422 when the app did not sync (no answer within 10 s, a refusal, invalid functions), saying why.",
    responses={200: {"description": '{"data": <app>}'}, 400: {}, 401: {}, 422: {}},
)
async def sync_app(body: AppSyncRequest, request: Request) -> Response:
    url = normalize_url(body.url.strip())
    if problem := url_problem(url):
        return error(400, f"invalid app URL {body.url!r}: {problem}")
    app, functions = await engine_of(request).sync_app(url)  # SyncError: 422
    return JSONAnswer({"data": views.app(app, functions)})


class InvokeRequest(BaseModel):
    """The event data of the run to start (the function receives an `inngest/function.invoked` event)."""

    data: dict[str, Any] = Field(default_factory=dict, description="the event's `data`, any JSON object")


@router.post(
    "/functions/{function_id}/invoke",
    summary="Start a run of a function, through its flow control, and answer the run",
    description='200 `{"data": <run>}` when a run started (it may still wait its turn: see its `reason`); 202 '
    '`{"data": null, "event_id", "skipped": [...], "waiting": [...]}` when flow control skipped the invoke '
    "(rate limit, idempotency, singleton) or holds it (debounce, batch), saying why; 404 for an unknown or "
    "archived function.",
    responses={
        200: {"description": '{"data": <run>}'},
        202: {"description": "no run started (yet): why in `skipped` and `waiting`"},
        400: {},
        401: {},
        404: {},
        413: {},
    },
)
async def invoke_function(function_id: str, body: InvokeRequest, request: Request) -> Response:
    engine = engine_of(request)
    if problem := data_problem(engine.settings.limits.max_event_bytes, body.data, "the event data"):
        return problem
    invocation, dispatch = await engine.invoke(function_id, body.data)  # FunctionNotFoundError: 404
    answer = invocation_answer(invocation)
    answer.background = BackgroundTask(dispatch)  # the run starts once the answer is written
    return answer


def data_problem(limit: int, data: Any, what: str) -> JSONAnswer | None:
    """The 400 or 413 for a request's `data` that is not UTF-8 JSON or is over `limit` bytes as JSON, else None."""
    try:
        size = len(orjson.dumps(data))
    except TypeError as err:  # a string with lone surrogates: JSON that is not UTF-8
        return error(400, f"invalid request: data: {err}")
    if size > limit:
        return error(413, f"{what} is over the size limit of {limit} bytes")
    return None


def invocation_answer(invocation: Invocation) -> JSONAnswer:
    run = invocation.run
    if run is not None and run.status != RunStatus.SKIPPED:
        return JSONAnswer({"data": views.run(run)})
    skipped = [views.skip(skip) for skip in invocation.skipped]
    if run is not None:  # a singleton key held: the run was recorded Skipped
        skipped.append(
            {"function_id": run.function_slug, "reason": run.reason, "at": views.iso(run.created_at), "run_id": run.id}
        )
    waiting = [views.hold(*hold) for hold in invocation.holds]
    body = {"data": None, "event_id": invocation.event_id, "skipped": skipped, "waiting": waiting}
    return JSONAnswer(body, status_code=202)


class SignalRequest(BaseModel):
    """A signal for the run that waits for it (`step.waitForSignal`)."""

    signal: str = Field(min_length=1, max_length=1024, description="the signal's name, as the run waits for it")
    data: Any = Field(default=None, description="any JSON: the run receives `{signal, data}`")


@router.post(
    "/signals",
    summary="Send a signal to the run that waits for it",
    description='200 `{"data": {"run_id"}}`: the run waiting for this signal resumes with `{"signal", "data"}` as '
    "the wait's result; 404 when no run waits for it (nothing is kept for a later wait). One run at most "
    'waits for a signal: a later wait fails its run, or takes the signal over with `onConflict: "replace"`.',
    responses={200: {"description": '{"data": {"run_id": ...}}'}, 400: {}, 401: {}, 404: {}, 413: {}},
)
async def send_signal(body: SignalRequest, request: Request) -> Response:
    engine = engine_of(request)
    if "\x00" in body.signal:
        return error(400, "invalid request: signal: contains a NUL character")
    if problem := data_problem(engine.settings.limits.max_event_bytes, body.data, "the signal's data"):
        return problem
    run_id = await engine.send_signal(body.signal, body.data)
    if run_id is None:
        return error(404, f"No signal found: no run waits for signal {body.signal!r}")
    return JSONAnswer({"data": {"run_id": run_id}})
