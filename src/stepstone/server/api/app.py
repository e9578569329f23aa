"""Assemble the engine's ASGI app: routes, error handling, the access log, the OpenAPI document."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepstone.protocol import headers as h
from stepstone.server.api import events, inputs, register, rest, sdk, system
from stepstone.server.api.common import error
from stepstone.server.engine import Engine
from stepstone.server.store.base import UnstorableValueError

access_log = logging.getLogger("stepstone.access")
_ERROR = {"action": "http.error"}
FastPath = Callable[[bytes, dict[bytes, bytes]], Awaitable[Response]]  # (body, headers) -> answer
log = logging.getLogger("stepstone.api")
_EVENT_KEY_PATH = re.compile(r"^/e/[^/]+")
SWAGGER_ASSETS = str(resources.files("fastapi_offline") / "static")  # Swagger UI's dist files

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
    stay declared for the OpenAPI document. Every request first meets `inputs.screen` (cross-site,
    content type, size), and a body is read only up to the size limit.
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
            await self._dispatch(scope, receive, send_with_header)
        finally:
            self.engine.requests_in_flight -= 1
            if access_log.isEnabledFor(logging.INFO):
                path, millis = redact_path(scope["path"]), round((time.perf_counter() - started) * 1000, 1)
                # A sync logs what it changed (`stepstone.sync`); `-u` apps sync again every few seconds.
                level = logging.DEBUG if status == 200 and path == "/fn/register" else logging.INFO
                access_log.log(
                    level,
                    "%s %s %d %.1fms",
                    scope["method"],
                    path,
                    status,
                    millis,
                    extra={
                        "action": "http.request",
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "duration_ms": millis,
                    },
                )

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse what the headers rule out, then answer on a fast path or hand over to the routes."""
        limit = self.engine.settings.limits.max_request_bytes
        refused = inputs.screen(scope, limit)
        if refused is not None:
            await refused(scope, receive, send)
            return
        fast = self._fast_path(scope)
        if fast is None and scope["method"] not in inputs.STATE_CHANGING:
            await self.app(scope, receive, send)
            return
        body = await inputs.read_body(receive, limit)
        if body is None:
            await inputs.too_large(limit)(scope, receive, send)
        elif fast is None:
            await self.app(scope, inputs.replay(body, receive), send)
        else:
            await self._answer(fast, body, scope, receive, send)

    async def _answer(self, fast: FastPath, body: bytes, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            answer = await fast(body, dict(scope["headers"]))
        except UnstorableValueError as err:
            answer = unstorable(err)
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


def unstorable(err: UnstorableValueError) -> Response:
    return error(400, f"invalid request: a value cannot be stored: {err}")


def _header(headers: dict[bytes, bytes], name: str) -> str | None:
    value = headers.get(name.encode())
    return value.decode("latin-1") if value is not None else None


def serve_docs(app: FastAPI) -> None:
    """`/docs`: Swagger UI on assets served from `/docs/assets/` (a package's files, no CDN: it works offline)."""
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs/assets/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},  # else the page asks an online validator
        )


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
        docs_url=None,  # served by `serve_docs`, with local assets
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = engine
    serve_docs(app)
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

    @app.exception_handler(UnstorableValueError)
    async def unstorable_value(_: Request, exc: UnstorableValueError) -> Response:
        return unstorable(exc)

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
