"""Who may call what, checked in one place for the hot router's handlers and the framework routes alike.

Outside dev mode:
- `POST /e/{event_key}` takes one of the engine's event keys (`check_event_key`);
- the SDK endpoints (`/fn/register`, checkpoints, `use_api` reads) take
  `Authorization: Bearer <signing key or its hash>`, as Inngest's API does (`check_signing_key`);
- the REST API (`/v1`, `/v2`) takes that key too, or a dashboard session cookie
  (`api.dashboard.session`) whose state-changing requests also carry the session's CSRF token.

A refusal raises `APIError` (401; 403 for a cookie caller without the CSRF token), which the error
table (`api.errors`) answers. A hot handler calls the check as its first line; a framework route gets
it as a dependency: `require_signing_key` (SDK routes) or `require_caller` (REST routes).

Both dependencies set `request.state.actor`, who the audit log records: "dev" in dev mode, "api" for
the signing key, the login name for a dashboard session.
"""

from __future__ import annotations

from fastapi import Request

from stepstone.protocol import headers as h
from stepstone.protocol import signing
from stepstone.server.api.common import engine_of
from stepstone.server.api.dashboard import session
from stepstone.server.api.errors import APIError
from stepstone.server.core.settings import EngineSettings

SIGNING_KEY_REFUSED = "Authentication failed: send Authorization: Bearer <signing key>"
EVENT_KEY_REFUSED = "Event key not found"
DEV_ACTOR = "dev"  # who acts in dev mode
API_ACTOR = "api"  # who acts with the signing key


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
    settings = engine_of(request).settings
    check_signing_key(settings, request.headers.get(h.AUTHORIZATION))
    request.state.actor = DEV_ACTOR if settings.dev else API_ACTOR


async def require_caller(request: Request) -> None:
    """The REST API's dependency: dev mode, the signing key, or (without an `Authorization` header) a
    dashboard session, with its CSRF token on state-changing requests; sets `request.state.actor`."""
    settings = engine_of(request).settings
    authorization = request.headers.get(h.AUTHORIZATION)
    # A request that names a key is judged by its key alone; the cookie counts only without one.
    login = None if settings.dev or authorization else session.current(request)
    if login is None:
        check_signing_key(settings, authorization)
        request.state.actor = DEV_ACTOR if settings.dev else API_ACTOR
    else:
        session.check_csrf(request, login)
        request.state.actor = login.name
