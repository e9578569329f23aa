"""Endpoints the SDKs call during a run: `use_api` fetches (framework routes) and checkpoints (a hot route)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from stepstone.protocol import call, opcodes
from stepstone.protocol import events as wire_events
from stepstone.protocol import headers as h
from stepstone.server.api import auth
from stepstone.server.api.common import JSONAnswer, RawHeaders, engine_of, error, header
from stepstone.server.api.hot import HotRoute
from stepstone.server.engine import Engine
from stepstone.server.store.base import Tx

router = APIRouter(tags=["sdk"], dependencies=[Depends(auth.require_signing_key)])
_AUTHORIZATION = h.AUTHORIZATION.encode()


def _valid_run_id(run_id: str) -> bool:
    try:
        wire_events.ulid_millis(run_id)
    except ValueError:
        return False
    return True


@router.get("/v0/runs/{run_id}/batch", summary="A run's triggering events (for `use_api`)")
async def run_batch(run_id: str, request: Request) -> Response:
    if not _valid_run_id(run_id):
        return error(400, "invalid run id")

    def read(tx: Tx) -> list[str] | None:
        if tx.get_run(run_id) is None:
            return None
        return [event.payload_json for event in tx.get_events_by_seq(tx.run_event_seqs(run_id))]

    events = await engine_of(request).store.read(read)
    if events is None:
        return error(410, "run not found")
    return Response(b"[" + ",".join(events).encode() + b"]", media_type="application/json")


@router.get("/v0/runs/{run_id}/actions", summary="A run's step memos (for `use_api`)")
async def run_actions(run_id: str, request: Request) -> Response:
    if not _valid_run_id(run_id):
        return error(400, "invalid run id")

    def read(tx: Tx) -> list[tuple[str, str]] | None:
        if tx.get_run(run_id) is None:
            return None
        return tx.step_memos(run_id)

    memos = await engine_of(request).store.read(read)
    if memos is None:
        return error(410, "run not found")
    body = b"{" + b",".join(orjson.dumps(hashed) + b":" + memo.encode() for hashed, memo in memos) + b"}"
    return Response(body, media_type="application/json")


async def checkpoint(engine: Engine, run_id: str, body: bytes, headers: RawHeaders) -> JSONAnswer:
    """Store the steps of a checkpoint (the hot route `CHECKPOINT`)."""
    auth.check_signing_key(engine.settings, header(headers, _AUTHORIZATION))
    try:
        request = call.CheckpointRequest.model_validate_json(body)
        ops = [opcodes.Op.model_validate(raw) for raw in request.steps]
    except ValidationError as err:
        first: Any = err.errors()[0]
        return error(400, f"invalid checkpoint: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    if not await engine.checkpoint(run_id, request.qi_id, request.generation_id, ops):
        return error(409, "stale dispatch: this call no longer holds the run")
    return JSONAnswer({})


CHECKPOINT = HotRoute(
    "/v1/checkpoint/{run_id}/async",
    checkpoint,
    summary="Store steps an SDK ran inside a call that is still in flight",
    tags=["sdk"],
    responses={200: {}, 400: {}, 409: {"description": "the call is stale (its lease was lost)"}},
)
