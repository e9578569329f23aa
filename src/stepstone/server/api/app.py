"""Assemble the engine's ASGI app: routes, error handling, the access log, the OpenAPI document."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepstone.protocol import headers as h
from stepstone.server.api import events, register, rest, sdk, system
from stepstone.server.api.common import error
from stepstone.server.engine import Engine

access_log = logging.getLogger("stepstone.access")
_ERROR = {"action": "http.error"}
FastPath = Callable[[bytes, dict[bytes, bytes]], Awaitable[Response]]  # (body, headers) -> answer
log = logging.getLogger("stepstone.api")
_EVENT_KEY_PATH = re.compile(r"^/e/[^/]+")

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "description": "the event name, e.g. `user/signup`"},
        "data": {"type": "object", "description": "any JSON object (null means {})"},
        "id": {"type": "string", "description": "your id: a second event with the same id within 24 h starts no run"},
        "ts": {"type": "integer", "description": "milliseconds since the epoch (default: when received)"},
        "user": {"type": "object"},
        "v": {"type": "string"},
    },
}


def redact_path(path: str) -> str:
    """Hide the event key in `/e/{key}` paths (access logs must never show a key)."""
    return _EVENT_KEY_PATH.sub("/e/<redacted>", path)


_CHECKPOINT_PATH = re.compile(r"^/v1/checkpoint/([^/]+)/async$")
_EVENTS_PATH = re.compile(r"^/e/([^/]+)$")


class ServerKindAndAccessLog:
    """Adds `x-inngest-server-kind` to every answer and writes one access-log line per request.

    Events and checkpoints (one request per step an SDK runs) are answered here, ahead of the
    framework's routing and middleware stack, which cost more than storing a step. Their routes
    stay declared for the OpenAPI document.
    """

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        self.kind = engine.settings.server_kind.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        self.engine.requests_in_flight += 1

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (h.SERVER_KIND.encode(), self.kind)]
            await send(message)

        try:
            fast = self._fast_path(scope)
            if fast is None:
                await self.app(scope, receive, send_with_header)
            else:
                await self._answer(fast, scope, receive, send_with_header)
        finally:
            self.engine.requests_in_flight -= 1
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %d %.1fms",
                    scope["method"],
                    redact_path(scope["path"]),
                    status,
                    (time.perf_counter() - started) * 1000,
                    extra={"action": "http.request"},
                )

    async def _answer(self, fast: FastPath, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            answer = await fast(await _body(receive), dict(scope["headers"]))
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], redact_path(scope["path"]), extra=_ERROR)
            answer = error(500, "internal error: the engine logged the details")
        await answer(scope, receive, send)

    def _fast_path(self, scope: Scope) -> FastPath | None:
        """The answer of an event or checkpoint request (from its body and headers), else None."""
        if scope["method"] != "POST":
            return None
        path = scope["path"]
        if (match := _EVENTS_PATH.match(path)) is not None:
            key = match.group(1)  # ASGI paths come percent-decoded
            return lambda body, headers: events.accept_events(self.engine, key, body, _header(headers, h.EVENT_ID_SEED))
        if (match := _CHECKPOINT_PATH.match(path)) is not None:
            run_id = match.group(1)
            return lambda body, headers: sdk.checkpoint_answer(
                self.engine, run_id, body, _header(headers, h.AUTHORIZATION)
            )
        return None


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _header(headers: dict[bytes, bytes], name: str) -> str | None:
    value = headers.get(name.encode())
    return value.decode("latin-1") if value is not None else None


def create_app(engine: Engine, *, manage_engine: bool = False, release_all_leases: bool = False) -> FastAPI:
    """The engine's HTTP API. With `manage_engine`, the app's lifespan starts and drains the engine."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_engine:
            await engine.start(release_all_leases=release_all_leases)
        try:
            yield
        finally:
            if manage_engine:
                await engine.stop()

    app = FastAPI(
        title="Stepstone",
        summary="Event-driven durable functions, wire-compatible with the Inngest SDKs.",
        version="0.1.0",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = engine
    for router in (events.router, register.router, sdk.router, rest.router, system.router):
        app.include_router(router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error(400, f"invalid request: {where}: {first.get('msg')}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception(
            "unexpected error on %s %s", request.method, redact_path(request.url.path), extra={"action": "http.error"}
        )
        return error(500, "internal error: the engine logged the details")

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original_openapi()
            schema.setdefault("components", {}).setdefault("schemas", {})["EventIn"] = EVENT_SCHEMA
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(ServerKindAndAccessLog, engine=engine)
    return app
