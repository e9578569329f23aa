"""`POST /fn/register`: an app registers (syncs) its functions."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from stepstone.protocol import config as wire
from stepstone.protocol import headers as h
from stepstone.server import apps
from stepstone.server.api.common import JSONAnswer, engine_of, error, require_signing_key
from stepstone.server.registry import ConfigError, parse_functions

router = APIRouter(tags=["sdk"], dependencies=[Depends(require_signing_key)])


@router.post(
    "/fn/register",
    summary="Register (sync) an app and its functions",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}},
    responses={200: {"description": '{"ok": true, "modified": bool, "app_id", "sync_id"}'}, 400: {}, 401: {}},
)
async def register(request: Request) -> Response:
    engine = engine_of(request)
    expected = request.headers.get(h.EXPECTED_SERVER_KIND)
    if expected and expected != engine.settings.server_kind:
        return error(400, f"Expected server kind {engine.settings.server_kind}, got {expected}")
    try:
        raw: Any = orjson.loads(await request.body())
    except orjson.JSONDecodeError as err:
        return error(400, f"Invalid request: the body is not JSON: {err}")
    if not isinstance(raw, dict):
        return error(400, "Invalid request: the body must be a JSON object")
    try:
        functions = parse_functions(raw.get("functions", []))
        sync = wire.RegisterRequest.model_validate({**raw, "functions": []})
        sync.functions = functions
        result = await engine.register(sync)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return error(400, f"Invalid request: {where}: {first['msg']}")
    except ConfigError as err:
        message = str(err)
        name = str(raw.get("appName") or raw.get("appname") or "")
        if name:
            url = str(raw.get("url", ""))
            await engine.executor.transact(lambda work: apps.record_error(work, name, url, message))
        return error(400, f"At least one function is invalid: {message}", problems=err.problems)
    return JSONAnswer({"ok": True, "modified": result.modified, "app_id": result.app_id, "sync_id": result.sync_id})
