"""The production dashboard's login: `GET /login` (the form), `POST /login`, `POST /logout`.

`POST /login` takes a form (or JSON) with `name` (who, recorded in the audit log), `password` and
`next` (the page to go back to). The password is compared in constant time with what the engine
keeps of `--dashboard-password` (`core.passwords`); it is never logged, stored or echoed. A wrong
password is a 401 page that does not say which part was wrong; refusals are limited per client
address with GCRA (`LOGIN_LIMIT` a minute, the engine clock), past which the answer is 429 with
`Retry-After`. A right one sets the session cookie (`session`) and redirects (303) to `next`.

In dev mode there is no login (`/login` redirects to `/`); on a production engine without a
dashboard password these routes answer the "dashboard off" page.
"""

from __future__ import annotations

import html
import logging
import math
import unicodedata
from importlib import resources
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from stepstone.server.api import auth
from stepstone.server.api.common import engine_of
from stepstone.server.api.dashboard import session
from stepstone.server.core import gcra
from stepstone.server.engine import Engine

log = logging.getLogger("stepstone.dashboard")
PAGE = resources.files(__name__.rpartition(".")[0]) / "static" / "login.html"
LOGIN_LIMIT = 5  # refused logins per client address a minute, all at once at most
LOGIN_PERIOD_MS = 60_000
MAX_NAME = 64
MAX_BODY = 8 * 1024
REFUSED = "Login failed: the name or the password is not right."
RESERVED_NAMES = frozenset({auth.DEV_ACTOR, auth.API_ACTOR})  # in the audit log: dev mode, the signing key
NAME_NEEDED = "Give your name (not “dev” or “api”): the audit log records it with what you do."
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class LoginLimiter:
    """Refused logins per client address, as GCRA states in memory (one engine process each: with several
    engines an address gets `LOGIN_LIMIT` a minute from each). A right password is never held back by
    earlier refusals of other people behind the same address beyond the limit's window."""

    def __init__(self, limit: int = LOGIN_LIMIT, period_ms: int = LOGIN_PERIOD_MS) -> None:
        self.limit = limit
        self.period_ms = period_ms
        self.states: dict[str, int] = {}

    def decide(self, address: str, now_ms: int) -> gcra.Decision:
        """Whether `address` may try now (the state is only stored by `refused`)."""
        return gcra.decide(
            self.states.get(address), now=now_ms, period_ms=self.period_ms, limit=self.limit, burst=self.limit - 1
        )

    def refused(self, address: str, decision: gcra.Decision, now_ms: int) -> None:
        """Count a refused attempt; forget addresses whose state no longer matters (a TAT in the past)."""
        self.states[address] = decision.tat
        if len(self.states) > 1024:
            self.states = {key: tat for key, tat in self.states.items() if tat > now_ms}


def safe_next(target: str | None) -> str:
    """`target` when it is a path of this engine (not `//host`, not the login itself), else `/`."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\", "/login"))
        or len(target) > 2000
        or any(unicodedata.category(char).startswith("C") for char in target)
    ):
        return "/"
    return target


def clean_name(name: str) -> str:
    """The login name as recorded: trimmed, control characters removed."""
    return "".join(char for char in name.strip() if not unicodedata.category(char).startswith("C"))[:MAX_NAME]


def page(message: str = "", *, target: str = "/", name: str = "", status: int = 200) -> HTMLResponse:
    """The login form, with `message` (escaped, as every value put in it)."""
    text = PAGE.read_text(encoding="utf-8")
    for key, value in (("message", message), ("next", target), ("name", name)):
        text = text.replace("{{" + key + "}}", html.escape(value, quote=True))
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def read_form(body: bytes) -> dict[str, str]:
    """The fields of a login body: a form (`name=..&password=..`) or a JSON object."""
    if body.lstrip().startswith(b"{"):
        try:
            fields = orjson.loads(body)
        except orjson.JSONDecodeError:
            return {}
        return {key: value for key, value in fields.items() if isinstance(value, str)}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


async def show_login(request: Request) -> Response:
    password = session.password_of(request)
    if engine_of(request).settings.dev:
        return RedirectResponse("/", status_code=303)
    if password is None:
        return session.off_page()
    target = safe_next(request.query_params.get("next"))
    if session.current(request) is not None:
        return RedirectResponse(target, status_code=303)
    return page(target=target)


async def log_in(request: Request, limiter: LoginLimiter) -> Response:
    engine = engine_of(request)
    password = session.password_of(request)
    if engine.settings.dev:
        return RedirectResponse("/", status_code=303)
    if password is None or engine.settings.signing_key is None:
        return session.off_page()
    body = await request.body()
    fields = read_form(body) if len(body) <= MAX_BODY else {}
    target, name = safe_next(fields.get("next")), clean_name(fields.get("name", ""))
    address = request.client.host if request.client else "unknown"
    now = engine.clock.now_ms()
    decision = limiter.decide(address, now)
    if not decision.allowed:
        wait = max(1, math.ceil((decision.retry_at - now) / 1000))
        response = page(f"Too many failed logins: try again in {wait} s.", target=target, name=name, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    if not name or name in RESERVED_NAMES:
        return page(NAME_NEEDED, target=target, status=400)
    if not password.matches(fields.get("password", ""), engine.settings.signing_key):
        limiter.refused(address, decision, now)
        log.warning("dashboard login refused", extra={"action": "dashboard.login_refused", "client": address})
        return page(REFUSED, target=target, name=name, status=401)
    value, _ = session.new_cookie(password, name, now)
    log.info("dashboard login: %s", name, extra={"action": "dashboard.login", "actor": name, "client": address})
    success = RedirectResponse(target, status_code=303)
    session.set_cookie(success, value, request)
    return success


async def log_out(request: Request) -> Response:
    login = session.current(request)
    if login is not None:
        log.info("dashboard logout: %s", login.name, extra={"action": "dashboard.logout", "actor": login.name})
    response = RedirectResponse("/login" if session.password_of(request) else "/", status_code=303)
    session.clear_cookie(response, request)
    return response


def install(app: FastAPI, engine: Engine) -> None:
    """The login routes, with the dashboard (off with it)."""
    if not engine.settings.dashboard:
        return
    limiter = LoginLimiter()
    router = APIRouter(include_in_schema=False)

    async def post_login(request: Request) -> Response:
        return await log_in(request, limiter)

    router.add_api_route("/login", show_login, methods=["GET"])
    router.add_api_route("/login", post_login, methods=["POST"])
    router.add_api_route("/logout", log_out, methods=["POST"])
    app.include_router(router)
