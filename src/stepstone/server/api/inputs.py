"""What a request meets before any route sees it: cross-site refusal, JSON bodies, a bounded size.

Every JSON endpoint reads its body as JSON whatever its Content-Type says (`curl -d` sends
`application/x-www-form-urlencoded`), except multipart bodies, refused with 415. A body that any
content type may carry is also one a web page can send to another site with a plain form, which
browsers do without asking the site first (no CORS preflight). So a state-changing request (POST,
PUT, PATCH, DELETE) that a browser marks as cross-site is refused with 403, in dev mode too: an
`Origin` other than the request's own scheme, host and port (`Origin: null` included), or
`Sec-Fetch-Site: cross-site`. Requests without those headers (curl, the SDKs, other servers) are not
sent by a browser and pass, and so do a page's requests to its own origin.

The checks read headers only: the hot router (`api.hot`) runs them first, for its own event and
checkpoint routes and for the framework's alike. A body is read up to `Limits.max_request_bytes` and no
further: past it, or when Content-Length already says so, the answer is 413 and the rest is never read.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepstone.server.api.common import JSONAnswer, error

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_JSON = b"application/json"


def screen(scope: Scope, max_bytes: int) -> JSONAnswer | None:
    """The refusal of a request read from its headers alone (403, 415, 413), or None to go on.

    A body declared with another content type than JSON, or with none, is relabelled
    `application/json` in `scope`, so that every route reads it as JSON, FastAPI body models included.
    """
    if scope["method"] not in STATE_CHANGING:
        return None
    origin = fetch_site = content_type = length = host = None
    for name, value in scope["headers"]:
        if name == b"origin":
            origin = value
        elif name == b"sec-fetch-site":
            fetch_site = value
        elif name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = value
        elif name == b"host":
            host = value
    if (fetch_site is not None and fetch_site.lower() == b"cross-site") or (
        origin is not None and not same_origin(origin, host, scope.get("scheme", "http"))
    ):
        return error(
            403, "cross-site request refused: a web page may change this engine only from the engine's own origin"
        )
    if content_type is None:
        scope["headers"] = [*scope["headers"], (b"content-type", _JSON)]
    else:
        kind = content_type.partition(b";")[0].strip().lower()
        if kind.startswith(b"multipart/"):
            return error(415, f"send the body as JSON (Content-Type: application/json), not {kind.decode('latin-1')}")
        if not _is_json(kind):
            scope["headers"] = [(name, _JSON if name == b"content-type" else value) for name, value in scope["headers"]]
    if length is not None and length.isdigit() and int(length) > max_bytes:
        return too_large(max_bytes)
    return None


def same_origin(origin: bytes, host: bytes | None, scheme: str) -> bool:
    """True when `origin` names the request's own scheme, host and port (`null` never does)."""
    if host is None:
        return False
    try:
        claimed = urlsplit(origin.decode("latin-1"))
        own = urlsplit("//" + host.decode("latin-1"))
        claimed_port = claimed.port or _DEFAULT_PORTS.get(claimed.scheme)
        own_port = own.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        return False
    return (
        claimed.scheme == scheme
        and claimed.hostname is not None
        and claimed.hostname == own.hostname
        and claimed_port == own_port
    )


def _is_json(kind: bytes) -> bool:
    return kind == _JSON or (kind.startswith(b"application/") and kind.endswith(b"+json"))


def too_large(max_bytes: int) -> JSONAnswer:
    return error(413, f"the request body is over the limit of {max_bytes} bytes")


async def read_body(receive: Receive, max_bytes: int) -> bytes | None:
    """The request's body, or None as soon as it passes `max_bytes` (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands over `body` (already read) in one message, then defers to `receive`."""
    delivered = False

    async def receive_again() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


async def forward(app: ASGIApp, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
    """Hand a screened request to `app`, a state-changing one with its body read up to `max_bytes` (else 413)."""
    if scope["method"] not in STATE_CHANGING:
        await app(scope, receive, send)
        return
    body = await read_body(receive, max_bytes)
    if body is None:
        await too_large(max_bytes)(scope, receive, send)
    else:
        await app(scope, replay(body, receive), send)
