"""Health (`/health` ready, `/live` alive), Prometheus metrics (`/metrics`), and the dev-only routes
(`GET /dev`, moving the engine clock)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from stepstone.protocol import durations
from stepstone.protocol import headers as h
from stepstone.server.api.auth import check_signing_key
from stepstone.server.api.common import JSONAnswer, engine_of, error
from stepstone.server.core import clock

router = APIRouter(tags=["system"])


@router.get(
    "/health",
    summary="Ready: 200 when the store answers, its schema is current and the engine is not draining",
    description="For a readiness probe (Kubernetes `readinessProbe`, a load balancer's health check): 503 while "
    "the engine starts, once it drains (before it stops claiming work), or when its store does not answer.",
    responses={503: {"description": "starting, draining, or the store does not answer"}},
)
async def health(request: Request) -> Response:
    engine = engine_of(request)
    if not engine.ready:
        return error(503, "draining" if engine.draining else "starting")
    problem = await engine.store_problem()
    if problem is not None:
        return error(503, problem)
    return JSONAnswer({"status": 200, "message": "OK"})


@router.get(
    "/live",
    summary="Alive: 200 while the process answers (for a liveness probe)",
    description="Answers without touching the store: a database outage makes `/health` fail, not this, so an "
    "orchestrator does not restart engines that only wait for their database.",
)
async def live(request: Request) -> Response:
    return JSONAnswer({"status": 200, "message": "OK"})


@router.get(
    "/metrics",
    summary="Prometheus metrics (OpenMetrics when the scraper asks for it)",
    description="Counters of this engine process and gauges of the shared queue: docs/observability.md lists them. "
    "Outside dev mode it takes `Authorization: Bearer <signing key>` unless the engine runs with "
    "`--metrics-public`; 404 with `--no-metrics`.",
    responses={
        200: {"content": {"text/plain": {}}, "description": "the metrics in Prometheus's text format"},
        401: {"description": "no or a wrong Bearer key (outside dev mode, without --metrics-public)"},
        404: {"description": "metrics are off (--no-metrics)"},
    },
)
async def metrics(request: Request) -> Response:
    engine = engine_of(request)
    if engine.metrics is None:
        return error(404, "metrics are off: the engine runs with --no-metrics")
    if not engine.settings.metrics_public:
        check_signing_key(engine.settings, request.headers.get(h.AUTHORIZATION))
    body, content_type = await engine.scrape_metrics(request.headers.get("accept"))
    return Response(body, media_type=content_type)


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


# How far ahead of the real time the dev clock may run, so that every time the engine computes from
# it (a year-long sleep past it included) stays a valid date.
MAX_CLOCK_OFFSET = timedelta(days=100 * 365)


class ClockAdvance(BaseModel):
    """Move the engine clock forward: give `seconds` or a `duration` such as `"1h30m"`."""

    seconds: float | None = Field(
        default=None, ge=0, le=MAX_CLOCK_OFFSET.total_seconds(), allow_inf_nan=False, description="at most 100 years"
    )
    duration: str | None = Field(default=None, description='e.g. "10m", "1h30m", "2d" (at most 100 years)')


@router.post("/dev/clock/advance", summary="Dev mode: move the engine clock forward (every engine process)")
async def advance_clock(body: ClockAdvance, request: Request) -> Response:
    engine = engine_of(request)
    if not engine.settings.dev:
        return error(404, "not found")
    if not isinstance(engine.clock, clock.OffsetClock):
        return error(409, "this engine's clock cannot be moved: it is not the dev clock")
    try:
        seconds = (
            body.seconds if body.seconds is not None else durations.parse_duration(body.duration or "").total_seconds()
        )
    except ValueError as err:
        return error(400, str(err))
    millis = int(seconds * 1000)
    if engine.clock.offset_ms + millis > MAX_CLOCK_OFFSET / timedelta(milliseconds=1):
        days = engine.clock.offset_ms // 86_400_000
        return error(400, f"the dev clock runs at most 100 years ahead of the real time (it is {days} days ahead now)")
    offset = await engine.advance_clock(millis)
    now = durations.format_time(durations.from_millis(engine.clock.now_ms()))
    return JSONAnswer({"offset_ms": offset, "now": now})
