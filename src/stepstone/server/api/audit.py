"""The audit log: every action taken through the REST API, recorded once it has been answered.

`AuditLog` is one ASGI layer with a table of the audited routes (`ROUTES`), so the endpoints carry no
audit code. For each audited request it records who (`request.state.actor`, set by the auth dependency:
the login, "dev" in dev mode, "api" for a key), what (the action and its target ids), when (the engine
clock) and how it ended (the status and a short outcome: the new run's id, the job's id, or the error).
It never records a request body: the target comes from the path and the answer, and an endpoint may
add a short detail (`request.state.audit_detail`, e.g. the names of the events sent). A request refused
before it could act (401, 403) is not an action and is not recorded. `GET /v1/audit` lists the records,
newest first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepstone.server.api import rest, views
from stepstone.server.api.common import JSONAnswer, engine_of
from stepstone.server.core.ids import ULIDS
from stepstone.server.engine import Engine
from stepstone.server.store.records import AuditRecord

log = logging.getLogger("stepstone.audit")
router = APIRouter(prefix="/v1", tags=["rest"], dependencies=rest.router.dependencies)

_MAX_BODY = 64 * 1024  # answers longer than this are not read for the outcome
_MAX_TEXT = 300
_MAX_LIMIT = 500
_NOT_ACTIONS = (401, 403)  # a caller refused before acting (no key, no session, a cross-site request)
Answer = dict[str, Any]


def _data(answer: Answer) -> dict[str, Any]:
    data = answer.get("data")
    return data if isinstance(data, dict) else {}


def _run_id(answer: Answer) -> str:
    run_id = _data(answer).get("run_id")
    if run_id:
        return f"run {run_id}"
    return f"no run started: event {answer.get('event_id')}" if answer.get("event_id") else ""


def _job_id(answer: Answer) -> str:
    return f"job {_data(answer).get('id')}" if _data(answer).get("id") else ""


def _event_ids(answer: Answer) -> str:
    ids = answer.get("ids")
    return "events " + ",".join(str(item) for item in ids) if isinstance(ids, list) and ids else ""


def _status(answer: Answer) -> str:
    status = _data(answer).get("status")
    return str(status) if status else "done"


@dataclass(frozen=True)
class AuditedRoute:
    """An audited route: `method path` (path parameters as `{name}`), the action's name, and how to read the
    target (a path parameter, or a field of the answer's `data`) and the outcome from the answer."""

    method: str
    path: str
    action: str
    outcome: Callable[[Answer], str]
    target_field: str | None = None  # read from the answer's `data` when the path names no target

    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")


def _app_name(answer: Answer) -> str:
    return f"app {_data(answer).get('name')}" if _data(answer).get("name") else ""


ROUTES = (
    AuditedRoute("DELETE", "/v1/runs/{run_id}", "run.cancel", _status),
    AuditedRoute("POST", "/v1/runs/{run_id}/rerun", "run.rerun", _run_id),
    AuditedRoute("POST", "/v2/runs/{run_id}/rerun", "run.rerun", _run_id),
    AuditedRoute("POST", "/v1/cancellations", "bulk.cancel", _job_id, target_field="function_id"),
    AuditedRoute("POST", "/v1/replays", "bulk.replay", _job_id, target_field="function_id"),
    AuditedRoute("POST", "/v1/functions/{function_id}/invoke", "function.invoke", _run_id),
    AuditedRoute("POST", "/v1/functions/{function_id}/pause", "function.pause", lambda _: "paused"),
    AuditedRoute("POST", "/v1/functions/{function_id}/resume", "function.resume", lambda _: "resumed"),
    AuditedRoute("POST", "/v1/events", "events.send", _event_ids),
    AuditedRoute("POST", "/v1/apps", "app.sync", _app_name, target_field="id"),
    AuditedRoute("DELETE", "/v1/apps/{app_id}", "app.remove", lambda _: "removed"),
)
_COMPILED = [(route, route.pattern()) for route in ROUTES]


def match(method: str, path: str) -> tuple[AuditedRoute, dict[str, str]] | None:
    """The audited route `method path` is, with its path parameters; None when it is not audited."""
    for route, pattern in _COMPILED:
        if route.method == method and (found := pattern.match(path)) is not None:
            return route, found.groupdict()
    return None


def _short(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def describe(route: AuditedRoute, params: dict[str, str], status: int, body: bytes, detail: str) -> tuple[str, str]:
    """(target, result) of an answered request: ids from the path and the answer, never the request's body."""
    try:
        answer = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        answer = {}
    answer = answer if isinstance(answer, dict) else {}
    target = ",".join(params.values())
    if not target and route.target_field:
        target = str(_data(answer).get(route.target_field) or "")
    if detail:
        target = f"{target} {detail}".strip()
    if status >= 400:
        result = str(answer.get("error") or f"HTTP {status}")
    else:
        result = route.outcome(answer) or f"HTTP {status}"
    return _short(target), _short(result)


class AuditLog:
    """The ASGI layer that records the audited routes' requests once they have been answered."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = match(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})  # shared with `request.state` downstream
        status, chunks, size = 500, [], 0

        async def capture(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and size < _MAX_BODY:
                chunk = message.get("body", b"")
                size += len(chunk)
                chunks.append(chunk)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            body = b"".join(chunks) if size <= _MAX_BODY else b""
            await self.record(found, state, status, body)

    async def record(
        self, found: tuple[AuditedRoute, dict[str, str]], state: dict[str, Any], status: int, body: bytes
    ) -> None:
        if status in _NOT_ACTIONS:
            return
        route, params = found
        actor = str(state.get("actor") or ("dev" if self.engine.settings.dev else "api"))
        target, result = describe(route, params, status, body, str(state.get("audit_detail") or ""))
        now = self.engine.clock.now_ms()
        entry = AuditRecord(ULIDS.new(now), now, actor, route.action, target, status, result)
        try:
            await self.engine.store.transact(lambda tx: tx.insert_audit(entry))
        except Exception:
            log.exception("could not record %s in the audit log", route.action, extra={"action": "audit.failed"})


def view(record: AuditRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "at": views.iso(record.at),
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "status": record.status,
        "result": record.result,
    }


@router.get(
    "/audit",
    summary="The audit log: actions taken through the REST API, newest first",
    description="Each record says who (`actor`: the login, `dev` in dev mode, `api` for a key), what (`action`, "
    "`target` ids), when (`at`, the engine clock) and the answer (`status`, and `result`: the new run or job, or "
    "the error). Paged with `cursor`.",
    responses={200: {"description": '{"data": [...], "cursor": next or null}'}, 400: {}, 401: {}},
)
async def list_audit(
    request: Request,
    cursor: str | None = Query(default=None, description=rest.EVENTS_CURSOR),
    limit: int = Query(default=50, ge=1, le=_MAX_LIMIT),
) -> Response:
    after = rest.run_cursor(cursor)  # audit ids are ULIDs, as run ids are
    records = await engine_of(request).store.read(lambda tx: tx.list_audit(cursor=after, limit=limit))
    next_cursor = records[-1].id if len(records) == limit else None
    return JSONAnswer({"data": [view(record) for record in records], "cursor": next_cursor})
