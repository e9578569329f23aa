"""What every route shares: JSON answers, the error shape, authentication, the engine handle."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import HTTPException, Request
from starlette.responses import Response

from stepstone.protocol import headers as h
from stepstone.protocol import signing
from stepstone.server.engine import Engine


class JSONAnswer(Response):
    """A JSON response encoded with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, message: str, **extra: Any) -> JSONAnswer:
    """The API's error body: `{"error": ..., "status": ...}` plus any extra fields."""
    return JSONAnswer({"error": message, "status": status, **extra}, status_code=status)


class APIError(HTTPException):
    """Raise from a route to answer `error(status, message)`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status_code=status, detail=message)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def bearer_ok(header: str | None, keys: tuple[str, ...]) -> bool:
    """True when `header` is `Bearer <one of the keys, plain or hashed>`."""
    scheme, _, token = (header or "").partition(" ")
    return scheme.lower() == "bearer" and bool(token) and signing.bearer_matches(token, keys)


async def require_signing_key(request: Request) -> None:  # async: FastAPI runs sync dependencies in threads
    """Outside dev mode, `Authorization: Bearer <signing key or its hash>` (as Inngest's API wants)."""
    engine = engine_of(request)
    if not engine.settings.dev and not bearer_ok(request.headers.get(h.AUTHORIZATION), engine.settings.signing_keys):
        raise APIError(401, "Authentication failed: send Authorization: Bearer <signing key>")
