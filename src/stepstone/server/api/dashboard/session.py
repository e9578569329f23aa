"""Dashboard sessions: who may see the pages and call the REST API with a cookie, and their CSRF tokens.

In `stepstone dev` there is no login: every page is open and the REST API needs no key. In
`stepstone start` the dashboard needs `--dashboard-password` (without one its pages answer a 404 saying
how to turn it on); a login (`api.dashboard.login`) sets a session cookie:

- its value is `<payload>.<mac>` (both base64url): the payload is JSON `{"n": login name, "s": session id,
  "e": expiry in unix ms}`, the MAC an HMAC-SHA256 under `DashboardPassword.session_key`. Nothing is
  stored server-side, so a session made by one engine works on every engine started with the same
  signing key and password (a load balancer needs no stickiness), and a new password ends every session;
- HttpOnly, SameSite=Strict, Path=/, Secure when the request came over https, valid for `LIFETIME`
  (the engine clock); `POST /logout` clears it from the browser (a copied cookie stays valid until
  it expires, or the password changes);
- its CSRF token is an HMAC of the session id (so it is not in the cookie): the pages get it in
  `<meta name="stepstone-csrf">` and send it as `X-Stepstone-CSRF` on every state-changing request,
  which `check_csrf` compares in constant time. `api.inputs` already refuses a state-changing request a
  browser marks as cross-site (`Origin`, `Sec-Fetch-Site`); `check_csrf` checks those headers again
  for cookie callers, who must also send the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import orjson
from fastapi import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from stepstone.server.api.common import engine_of
from stepstone.server.api.errors import APIError
from stepstone.server.api.inputs import STATE_CHANGING, same_origin
from stepstone.server.core.passwords import DashboardPassword

COOKIE = "stepstone_session"
CSRF_HEADER = "x-stepstone-csrf"
LIFETIME = timedelta(hours=12)
_SESSION, _CSRF = b"session\x00", b"csrf\x00"  # what each MAC is of
CSRF_REFUSED = (
    "cross-site request refused: a dashboard session's state-changing request needs the X-Stepstone-CSRF "
    "header from the page's <meta name=\"stepstone-csrf\"> and the engine's own origin"
)
OFF_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Dashboard off · Stepstone</title></head>
<body><main>
<h1>The dashboard is off</h1>
<p>This production engine serves its dashboard only behind a password: start it with
<code>--dashboard-password</code> (or the environment variable <code>STEPSTONE_DASHBOARD_PASSWORD</code>).
The REST API at <a href="/docs">/docs</a> works with the signing key.</p>
</main></body>
</html>
"""


@dataclass(frozen=True)
class Session:
    """A logged-in browser: who (the name given at login, recorded in the audit), until when, its CSRF token."""

    name: str
    expires_ms: int
    csrf: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, label: bytes, data: bytes) -> bytes:
    return hmac.new(key, label + data, hashlib.sha256).digest()


def _csrf(key: bytes, session_id: str) -> str:
    return _b64(_mac(key, _CSRF, session_id.encode()))


def password_of(request: Request) -> DashboardPassword | None:
    """The login of a production engine's dashboard (None: off, or dev mode, which needs none)."""
    settings = engine_of(request).settings
    return None if settings.dev else settings.dashboard_password


def new_cookie(password: DashboardPassword, name: str, now_ms: int) -> tuple[str, Session]:
    """A session cookie's value for `name`, made at `now_ms`, and the session it stands for."""
    session_id = _b64(secrets.token_bytes(16))
    expires_ms = now_ms + int(LIFETIME.total_seconds() * 1000)
    payload = orjson.dumps({"n": name, "s": session_id, "e": expires_ms})
    value = _b64(payload) + "." + _b64(_mac(password.session_key, _SESSION, payload))
    return value, Session(name, expires_ms, _csrf(password.session_key, session_id))


def parse_cookie(password: DashboardPassword, value: str, now_ms: int) -> Session | None:
    """The session a cookie's value stands for, or None: not signed by this password's key, malformed, expired."""
    encoded, _, mac = value.partition(".")
    try:
        payload, claimed = _unb64(encoded), _unb64(mac)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(_mac(password.session_key, _SESSION, payload), claimed):
        return None
    fields = orjson.loads(payload)  # signed by us: the shape is ours
    if fields["e"] <= now_ms:
        return None
    return Session(fields["n"], fields["e"], _csrf(password.session_key, fields["s"]))


def current(request: Request) -> Session | None:
    """The request's valid session (production engines with a dashboard password only), else None."""
    password = password_of(request)
    value = request.cookies.get(COOKIE)
    if password is None or not value:
        return None
    return parse_cookie(password, value, engine_of(request).clock.now_ms())


def check_csrf(request: Request, session: Session) -> None:
    """Raise `APIError(403)` unless a state-changing request of a cookie caller carries the session's CSRF
    token and comes from the engine's own origin (when the browser says where it comes from)."""
    if request.method not in STATE_CHANGING:
        return
    token = request.headers.get(CSRF_HEADER, "")
    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    own_origin = origin is None or same_origin(origin.encode(), host.encode() if host else None, request.url.scheme)
    if (
        not hmac.compare_digest(token.encode(), session.csrf.encode())
        or (fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"))
        or not own_origin
    ):
        raise APIError(403, CSRF_REFUSED)


def set_cookie(response: Response, value: str, request: Request) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")


def off_page() -> Response:
    """What a production engine without a dashboard password answers for the dashboard's pages."""
    return HTMLResponse(OFF_PAGE, status_code=404, headers={"Cache-Control": "no-store"})


def login_redirect(request: Request) -> Response:
    """To `/login`, coming back to this page after it."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def page_guard(request: Request) -> Response | None:
    """None when the page may be shown (dev mode, or a valid session); else the login redirect, or the
    "dashboard off" page on a production engine without a dashboard password."""
    if engine_of(request).settings.dev:
        return None
    if password_of(request) is None:
        return off_page()
    return None if current(request) is not None else login_redirect(request)


def csrf_token(request: Request) -> str:
    """The token the pages send as `X-Stepstone-CSRF` on state-changing requests ("" without a session)."""
    session = current(request)
    return "" if session is None else session.csrf
