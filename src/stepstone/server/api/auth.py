"""Who may call what, checked in one place for the hot router's handlers and the framework routes alike.

Outside dev mode:
- `POST /e/{event_key}` takes one of the engine's event keys (`check_event_key`);
- the SDK endpoints (`/fn/register`, checkpoints, `use_api` reads) and the REST API take
  `Authorization: Bearer <signing key or its hash>`, as Inngest's API does (`check_signing_key`).

A refusal raises `APIError(401)`, which the error table (`api.errors`) answers. A hot handler calls
the check as its first line; a framework route gets it as the dependency `require_signing_key`.
"""

from __future__ import annotations

from fastapi import Request

from stepstone.protocol import headers as h
from stepstone.protocol import signing
from stepstone.server.api.common import engine_of
from stepstone.server.api.errors import APIError
from stepstone.server.core.settings import EngineSettings

SIGNING_KEY_REFUSED = "Authentication failed: send Authorization: Bearer <signing key>"
EVENT_KEY_REFUSED = "Event key not found"


def bearer_ok(header: str | None, keys: tuple[str, ...]) -> bool:
    """True when `header` is `Bearer <one of the keys, plain or hashed>`."""
    scheme, _, token = (header or "").partition(" ")
    return scheme.lower() == "bearer" and bool(token) and signing.bearer_matches(token, keys)


def check_signing_key(settings: EngineSettings, authorization: str | None) -> None:
    """Raise `APIError(401)` unless in dev mode or `authorization` carries a signing key (or its hash)."""
    if not settings.dev and not bearer_ok(authorization, settings.signing_keys):
        raise APIError(401, SIGNING_KEY_REFUSED)


def check_event_key(settings: EngineSettings, event_key: str) -> None:
    """Raise `APIError(401)` (with no ids stored) unless in dev mode or `event_key` is one of the engine's."""
    if not settings.dev and event_key not in settings.event_keys:
        raise APIError(401, EVENT_KEY_REFUSED, ids=[])


async def require_signing_key(request: Request) -> None:  # async: FastAPI runs sync dependencies in threads
    """`check_signing_key` as a framework dependency."""
    check_signing_key(engine_of(request).settings, request.headers.get(h.AUTHORIZATION))
