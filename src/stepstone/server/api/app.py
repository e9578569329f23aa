"""Assemble the engine's ASGI app: the access log, the hot router, the framework routes, the OpenAPI document.

A request meets, in order: `ServerKindAndAccessLog` (the `x-inngest-server-kind` header, the access log),
the hot router (`api.hot`: screens every request, answers events and checkpoints), then FastAPI's
routes. Both answer exceptions from one table (`api.errors`) and check auth in one place (`api.auth`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepstone.protocol import headers as h
from stepstone.server.api import audit, bulk, dashboard, errors, events, hot, register, rest, sdk, stats, system
from stepstone.server.api.common import redact_path
from stepstone.server.api.dashboard import login
from stepstone.server.engine import Engine

access_log = logging.getLogger("stepstone.access")
SWAGGER_ASSETS = str(resources.files("fastapi_offline") / "static")  # Swagger UI's dist files
HOT_ROUTES = (events.SEND_EVENTS, sdk.CHECKPOINT)  # answered by the hot router, declared to the framework


class ServerKindAndAccessLog:
    """Adds `x-inngest-server-kind` to every answer, counts the requests in flight and writes one
    access-log line per request (the event key redacted)."""

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
            await self.app(scope, receive, send_with_header)
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
    for route in HOT_ROUTES:
        hot.declare(app, route)
    for router in (register.router, sdk.router, rest.router, system.router):
        app.include_router(router)
    for router in (rest.router_v2, bulk.router, audit.router, stats.router):  # reruns (v2), bulk, audit, charts
        app.include_router(router)
    dashboard.install(app, engine)  # the pages at `/` (unless settings.dashboard is off)
    login.install(app, engine)  # `/login`, `/logout` (with the dashboard)
    errors.install(app)

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original_openapi()
            schema.setdefault("components", {}).setdefault("schemas", {})["EventIn"] = events.EVENT_SCHEMA
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    # Middleware added last runs first: the access log, then the hot router, then the routes above.
    app.add_middleware(audit.AuditLog, engine=engine)  # records the audited routes' answers (`api.audit`)
    app.add_middleware(hot.HotRouter, engine=engine, routes=HOT_ROUTES)
    app.add_middleware(ServerKindAndAccessLog, engine=engine)
    return app
