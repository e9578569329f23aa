"""A hand-driven app: each call is answered by a test's script, to produce what a real SDK would not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SDK_HEADERS = {"x-inngest-sdk": "scripted:v1", "content-type": "application/json"}
Script = Callable[[dict[str, Any], Request], Awaitable[Response]]


def ops(*items: dict[str, Any]) -> Response:
    return Response(orjson.dumps(list(items)), status_code=206, headers=SDK_HEADERS)


def done(value: Any) -> Response:
    return Response(orjson.dumps(value), status_code=200, headers=SDK_HEADERS)


def registration(url: str, *, fn_id: str = "fn", event: str = "scripted/go", retries: int = 0) -> dict[str, Any]:
    slug = f"scripted-{fn_id}"
    return {
        "url": url,
        "appName": "scripted",
        "sdk": "scripted:v1",
        "v": "0.1",
        "functions": [
            {
                "id": slug,
                "name": fn_id,
                "triggers": [{"event": event}],
                "steps": {
                    "step": {
                        "id": "step",
                        "name": "step",
                        "runtime": {"type": "http", "url": f"{url}?fnId={slug}&stepId=step"},
                        "retries": {"attempts": retries},
                    }
                },
            }
        ],
    }


def build(script: Script) -> Starlette:
    async def call(request: Request) -> Response:
        return await script(orjson.loads(await request.body()), request)

    return Starlette(routes=[Route("/api/inngest", call, methods=["POST"])])
