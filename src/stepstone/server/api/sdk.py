"""Endpoints the SDKs call during a run: `use_api` fetches and checkpoints."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from stepstone.protocol import call, opcodes
from stepstone.protocol import events as wire_events
from stepstone.protocol import headers as h
from stepstone.server.api.common import JSONAnswer, bearer_ok, engine_of, error, require_signing_key
from stepstone.server.engine import Engine
from stepstone.server.store.base import Tx

router = APIRouter(tags=["sdk"], dependencies=[Depends(require_signing_key)])


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


async def checkpoint_answer(engine: Engine, run_id: str, body: bytes, authorization: str | None) -> JSONAnswer:
    """Store the steps of a checkpoint. Shared by the route below and the app's fast path."""
    if not engine.settings.dev and not bearer_ok(authorization, engine.settings.signing_keys):
        return error(401, "Authentication failed: send Authorization: Bearer <signing key>")
    try:
        request = call.CheckpointRequest.model_validate_json(body)
        ops = [opcodes.Op.model_validate(raw) for raw in request.steps]
    except ValidationError as err:
        first: Any = err.errors()[0]
        return error(400, f"invalid checkpoint: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    if not await engine.checkpoint(run_id, request.qi_id, request.generation_id, ops):
        return error(409, "stale dispatch: this call no longer holds the run")
    return JSONAnswer({})


@router.post(
    "/v1/checkpoint/{run_id}/async",
    summary="Store steps an SDK ran inside a call that is still in flight",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}},
    responses={200: {}, 400: {}, 409: {"description": "the call is stale (its lease was lost)"}},
)
async def checkpoint(run_id: str, request: Request) -> Response:
    return await checkpoint_answer(
        engine_of(request), run_id, await request.body(), request.headers.get(h.AUTHORIZATION)
    )
