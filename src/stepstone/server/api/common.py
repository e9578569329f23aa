"""What every route shares: JSON answers, the error shape, headers, the engine handle, redacted paths."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from stepstone.server.engine import Engine

RawHeaders = Iterable[tuple[bytes, bytes]]  # an ASGI scope's `headers`: lowercase names, as received
_EVENT_KEY_PATH = re.compile(r"^/e/[^/]+")


class JSONAnswer(Response):
    """A JSON response encoded with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, message: str, **extra: Any) -> JSONAnswer:
    """The API's error body: `{"error": ..., "status": ...}` plus any extra fields."""
    return JSONAnswer({"error": message, "status": status, **extra}, status_code=status)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def header(headers: RawHeaders, name: bytes) -> str | None:
    """The first value of header `name` (lowercase), or None."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def redact_path(path: str) -> str:
    """Hide the event key in `/e/{key}` paths (logs must never show a key)."""
    return _EVENT_KEY_PATH.sub("/e/<redacted>", path)
