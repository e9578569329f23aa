"""Health and the dev-only routes (`GET /dev`, moving the engine clock)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from stepstone.protocol import durations
from stepstone.server.api.common import JSONAnswer, engine_of, error

router = APIRouter(tags=["system"])


@router.get("/health", summary="200 when the engine is ready to take events")
async def health(request: Request) -> Response:
    if not engine_of(request).ready:
        return error(503, "starting")
    return JSONAnswer({"status": 200, "message": "OK"})


@router.get("/dev", summary="Dev mode: what this engine is running (404 outside dev mode)")
async def dev_info(request: Request) -> Response:
    engine = engine_of(request)
    if not engine.settings.dev:
        return error(404, "not found")
    return JSONAnswer(
        {
            "mode": "dev",
            "store": engine.store.describe(),
            "now": durations.format_time(durations.from_millis(engine.clock.now_ms())),
            "sync_urls": engine.syncer.urls,
        }
    )


class ClockAdvance(BaseModel):
    """Move the engine clock forward: give `seconds` or a `duration` such as `"1h30m"`."""

    seconds: float | None = Field(default=None, ge=0)
    duration: str | None = None


@router.post("/dev/clock/advance", summary="Dev mode: move the engine clock forward (every engine process)")
async def advance_clock(body: ClockAdvance, request: Request) -> Response:
    engine = engine_of(request)
    if not engine.settings.dev:
        return error(404, "not found")
    try:
        seconds = (
            body.seconds if body.seconds is not None else durations.parse_duration(body.duration or "").total_seconds()
        )
    except ValueError as err:
        return error(400, str(err))
    offset = await engine.advance_clock(int(seconds * 1000))
    now = durations.format_time(durations.from_millis(engine.clock.now_ms()))
    return JSONAnswer({"offset_ms": offset, "now": now})
