"""`POST /fn/register`: an app registers (syncs) its functions.

A refused sync is logged at WARNING with the reason and the app (the 400 alone says nothing in the
access log); an accepted one at INFO when it changed something, at DEBUG when it changed nothing
(`-u` apps sync every few seconds).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from stepstone.protocol import config as wire
from stepstone.protocol import headers as h
from stepstone.server.api import auth
from stepstone.server.api.common import JSONAnswer, engine_of, error
from stepstone.server.apps import registration
from stepstone.server.functions.registry import ConfigError, parse_functions, sync_warnings

log = logging.getLogger("stepstone.sync")
router = APIRouter(tags=["sdk"], dependencies=[Depends(auth.require_signing_key)])


@router.post(
    "/fn/register",
    summary="Register (sync) an app and its functions",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}},
    responses={
        200: {"description": '{"ok": true, "modified": bool, "app_id", "sync_id", "warnings": [settings adjusted]}'},
        400: {},
        401: {},
    },
)
async def register(request: Request) -> Response:
    engine = engine_of(request)
    expected = request.headers.get(h.EXPECTED_SERVER_KIND)
    if expected and expected != engine.settings.server_kind:
        return _refused({}, f"Expected server kind {engine.settings.server_kind}, got {expected}")
    try:
        raw: Any = orjson.loads(await request.body())
    except orjson.JSONDecodeError as err:
        return _refused({}, f"Invalid request: the body is not JSON: {err}")
    if not isinstance(raw, dict):
        return _refused({}, "Invalid request: the body must be a JSON object")
    try:
        orjson.dumps(raw)
    except orjson.JSONEncodeError:  # the engine stores configs with orjson, which stops at 254 levels
        return _refused(raw, "Invalid request: the body is nested too deeply")
    try:
        functions = parse_functions(raw.get("functions", []))
        sync = wire.RegisterRequest.model_validate({**raw, "functions": []})
        sync.functions = functions
        result = await engine.register(sync)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return _refused(raw, f"Invalid request: {where}: {first['msg']}")
    except ConfigError as err:
        message = str(err)
        name = str(raw.get("appName") or raw.get("appname") or "")
        if name:
            url = str(raw.get("url", ""))
            await engine.executor.transact(lambda work: registration.record_error(work, name, url, message))
        return _refused(raw, f"At least one function is invalid: {message}", problems=err.problems)
    warnings = sync_warnings(sync.functions)
    _log_sync(sync, result.modified, warnings)
    answer = {"ok": True, "modified": result.modified, "app_id": result.app_id, "sync_id": result.sync_id}
    return JSONAnswer({**answer, "warnings": warnings})


def _app_fields(raw: dict[str, Any]) -> dict[str, str]:
    return {"app_id": str(raw.get("appName") or raw.get("appname") or ""), "url": str(raw.get("url") or "")}


def _refused(raw: dict[str, Any], message: str, **extra: Any) -> Response:
    """Answer 400 and say why in the log, naming the app and its URL when the body did."""
    fields = _app_fields(raw)
    log.warning(
        "sync refused (app %s, %s): %s",
        repr(fields["app_id"]) if fields["app_id"] else "unknown",
        fields["url"] or "no URL",
        message,
        extra={"action": "sync.refused", "error": message, **fields},
    )
    return error(400, message, **extra)


def _log_sync(sync: wire.RegisterRequest, modified: bool, warnings: list[str]) -> None:
    fields = {"action": "sync.ok", "app_id": sync.app_name, "url": sync.url}
    if modified:
        ids = [fn.id for fn in sync.functions]
        listed = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        log.info("app %r synced from %s: %d functions (%s)", sync.app_name, sync.url, len(ids), listed, extra=fields)
        for warning in warnings:
            log.warning("app %r: %s", sync.app_name, warning, extra={**fields, "action": "sync.adjusted"})
    else:  # the periodic sync of a `-u` app, every few seconds
        log.debug("app %r synced from %s, nothing changed", sync.app_name, sync.url, extra=fields)
