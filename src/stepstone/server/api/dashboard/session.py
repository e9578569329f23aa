"""Dashboard sessions: who may see the pages, and the CSRF token the pages send back.

A first, dev-mode-only version written by H3 (the pages) so that they can be served: H4 owns this file
and replaces it with the production login (signed HttpOnly cookies, CSRF tokens, rate-limited logins).
The interface the pages rely on: `page_guard(request)` and `csrf_token(request)`.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response


def page_guard(request: Request) -> Response | None:
    """A redirect to `/login` when the page needs a login first, else None (dev mode: no login)."""
    return None


def csrf_token(request: Request) -> str:
    """The token the pages send as `X-Stepstone-CSRF` on state-changing requests ("" without a session)."""
    return ""
