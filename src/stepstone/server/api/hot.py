"""The hot router: events and checkpoints, answered ahead of the framework.

Every `send` of an SDK POSTs `/e/{event_key}`, and every step an SDK runs in checkpoint mode POSTs
`/v1/checkpoint/{run_id}/async`. FastAPI's routing, dependency resolution and middleware cost more
than storing a step, so these requests are answered here, in plain ASGI. `create_app` mounts the
router as the first stop of every HTTP request after the access log:

1. `inputs.screen` refuses what the headers rule out (cross-site 403, multipart 415, a declared 413);
2. a POST to a hot route has its body read up to the size limit (413 past it) and its handler's answer;
   an exception the handler raises is answered by the error table (`errors.answer`);
3. anything else goes on to the framework routes (a state-changing request's body read up to the limit
   first: `inputs.forward`).

A handler takes `(engine, the path's one parameter, body, raw headers)` and checks auth as its first
line (`api.auth`). Each hot route is also declared to the framework (`declare`), as the documented
declaration of the endpoint: the OpenAPI document describes it, the framework's routing answers its
other methods (405) and a trailing slash (307), and a request that reaches it (an app assembled without
this router) is answered by the same handler, with the same auth and the same error table.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from stepstone.server.api import errors, inputs
from stepstone.server.api.common import RawHeaders, engine_of
from stepstone.server.engine import Engine

Handler = Callable[[Engine, str, bytes, RawHeaders], Awaitable[Response]]
_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class HotRoute:
    """A `POST` endpoint the hot router answers: `path` has one parameter, such as `/e/{event_key}`."""

    path: str
    handler: Handler  # its name is the endpoint's name (and OpenAPI operation id)
    summary: str
    tags: list[str]
    responses: dict[int | str, dict[str, Any]]
    request_body: dict[str, Any] = field(default_factory=lambda: {"type": "object"})  # the JSON body's schema

    @property
    def parameter(self) -> str:
        names: list[str] = _PARAMETER.findall(self.path)
        [name] = names
        return name

    def pattern(self) -> re.Pattern[str]:
        """The path as a regular expression; the parameter is one path segment (ASGI paths come percent-decoded)."""
        before, _, after = _PARAMETER.split(self.path)
        return re.compile(f"^{re.escape(before)}([^/]+){re.escape(after)}$")


class HotRouter:
    """The ASGI layer that answers the hot routes, and screens every request before the framework sees it."""

    def __init__(self, app: ASGIApp, engine: Engine, routes: Sequence[HotRoute]) -> None:
        self.app = app
        self.engine = engine
        self.routes = [(route.pattern(), route.handler) for route in routes]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.engine.settings.limits.max_request_bytes
        refused = inputs.screen(scope, limit)
        if refused is not None:
            await refused(scope, receive, send)
            return
        found = self.match(scope["method"], scope["path"])
        if found is None:
            await inputs.forward(self.app, scope, receive, send, limit)
            return
        body = await inputs.read_body(receive, limit)
        if body is None:
            answer: Response = inputs.too_large(limit)
        else:
            handler, parameter = found
            try:
                answer = await handler(self.engine, parameter, body, scope["headers"])
            except Exception as exc:
                answer = errors.answer(exc, scope["method"], scope["path"])
        await answer(scope, receive, send)

    def match(self, method: str, path: str) -> tuple[Handler, str] | None:
        """The handler of a hot route and its path parameter, or None for the framework's routes."""
        if method != "POST":
            return None
        for pattern, handler in self.routes:
            if (found := pattern.match(path)) is not None:
                return handler, found.group(1)
        return None


def declare(app: FastAPI, route: HotRoute) -> None:
    """Declare `route` to the framework: documented in OpenAPI, answered by the same handler if reached."""
    name, handler = route.parameter, route.handler

    async def endpoint(request: Request) -> Response:
        return await handler(
            engine_of(request), request.path_params[name], await request.body(), request.scope["headers"]
        )

    app.add_api_route(
        route.path,
        endpoint,
        methods=["POST"],
        name=handler.__name__,
        summary=route.summary,
        tags=list(route.tags),
        responses=route.responses,
        openapi_extra={
            "parameters": [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "title": name.replace("_", " ").title()},
                }
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": route.request_body}}},
        },
    )
