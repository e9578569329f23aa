"""The browser dashboard: its pages' HTML shell and static assets, served by the engine at `/`.

The dashboard is a client-side app in plain ES modules (`static/`, no build step): every page answers the
same `index.html`, whose `app.js` reads the path and draws the page from the REST API (`/v1`, same origin).
It reads and changes state only through that API. Sessions and CSRF tokens come from `session`.
"""

from __future__ import annotations

import html
import os
from importlib import resources

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from stepstone.server.api.dashboard import session
from stepstone.server.engine import Engine

STATIC = resources.files(__name__) / "static"
PAGES = (
    "/",
    "/apps",
    "/functions",
    "/functions/{function_id}",
    "/runs",
    "/runs/{run_id}",
    "/events",
    "/events/{event_id}",
    "/audit",
    "/overview",
)
# Scripts, styles and requests from this origin only: event data and outputs shown are untrusted.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Assets(StaticFiles):
    """The static files, revalidated on each load (`no-cache` with their ETag): no hashed names, no stale pages."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def shell(request: Request) -> Response:
    """`index.html` with this session's CSRF token, or the login redirect."""
    if (redirect := session.page_guard(request)) is not None:
        return redirect
    template = (STATIC / "index.html").read_text(encoding="utf-8")
    page = template.replace("{{csrf}}", html.escape(session.csrf_token(request), quote=True))
    return HTMLResponse(page, headers=SECURITY_HEADERS)


def install(app: FastAPI, engine: Engine) -> None:
    """Serve the dashboard on `app` (the pages, and `/assets/`), unless the engine's settings turn it off."""
    if not engine.settings.dashboard:
        return
    app.mount("/assets", Assets(directory=str(STATIC)), name="dashboard-assets")
    router = APIRouter(include_in_schema=False)

    async def page(request: Request) -> Response:
        return shell(request)

    for path in PAGES:
        router.add_api_route(path, page, methods=["GET"])
    app.include_router(router)
