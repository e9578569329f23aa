"""Requests the engine makes for a step: `step.ai.infer` (the `AIGateway` op) and `step.fetch` (`Gateway`).

The app answers a call with such an op instead of making the request itself, so that it holds no
process while a model answers. The executor makes the request between the call and the transaction
that stores the call's answer, and hands the op on carried out (`carry_out`): with the answer as its
`data`, or turned into a failed step (`StepError`, retried as the function's retries allow, or
`StepFailed` when retrying cannot help). The transitions store it as a finished step and call the app
again, which reads the answer from the step's memo. If the engine stops during the request, the call's
lease ends, the app is called again and answers with the same op: nothing needs storing first.

What is stored, as Inngest stores it (docs/protocol.md): for `step.ai.infer` the provider's JSON answer
(a status over 299 is a failed attempt, `AIGatewayError`); for `step.fetch` `{url, status_code, headers,
body}` whatever the status (`GatewayError` only when no answer came).

The op's credentials (`auth_key`, its headers, a key in the URL's query) stay in memory: the stored step
keeps no opts, and errors and the stored `url` show the URL without its query or user info.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from stepstone.protocol import opcodes
from stepstone.server.core.errors import EngineError
from stepstone.server.core.observe import EngineRequest
from stepstone.server.core.transport import AppResponse, Transport, TransportError

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
USER_AGENT = "Stepstone"
ANTHROPIC_VERSION = "2023-06-01"
NO_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})  # a fetch `Response` with a body cannot have them
SHOWN_BODY_BYTES = 500


class GatewayError(EngineError):
    """The request could not be made, or failed; `name` is the step error's name."""

    def __init__(self, name: str, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.name = name
        self.retryable = retryable


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def shown_url(url: str) -> str:
    """The URL as errors and stored results show it: without its query (an API key may be there) or user info."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an invalid URL)"
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, f"{host}:{port}" if port else host, parts.path, "", ""))


def _url(opts: Mapping[str, Any]) -> str:
    url = opts.get("url")
    if not isinstance(url, str) or not url:
        raise GatewayError("InvalidStepError", "the step names no URL to request", retryable=False)
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:
        valid = False
    if not valid:
        raise GatewayError("InvalidStepError", f"not an http(s) URL: {shown_url(url)}", retryable=False)
    return url


def _headers(opts: Mapping[str, Any]) -> dict[str, str]:
    given = opts.get("headers") or {}
    if not isinstance(given, Mapping):
        raise GatewayError("InvalidStepError", "the step's headers are not an object", retryable=False)
    return {str(name): str(value) for name, value in given.items()}


def _merge(defaults: dict[str, str], given: dict[str, str]) -> dict[str, str]:
    """`defaults`, then the op's own headers, which replace a default of the same name (in any case)."""
    names = {name.lower() for name in given}
    return {**{k: v for k, v in defaults.items() if k.lower() not in names}, **given}


def ai_request(opts: Mapping[str, Any]) -> Request:
    """The request `step.ai.infer` asks for: its JSON body POSTed, authenticated as its `format` wants."""
    url = _url(opts)
    key = str(opts.get("auth_key") or "")
    fmt = str(opts.get("format") or "openai-chat")
    defaults = {"content-type": "application/json", "user-agent": USER_AGENT}
    if fmt == "anthropic":  # the API refuses a request without a version; the SDKs' adapters usually send one
        defaults["anthropic-version"] = ANTHROPIC_VERSION
    if key and fmt == "anthropic":
        defaults["x-api-key"] = key
    elif key and fmt == "bedrock":
        defaults["authorization"] = key
    elif key and fmt == "gemini":
        parts = urlsplit(url)
        if not any(name == "key" for name, _ in parse_qsl(parts.query)):
            url = urlunsplit(parts._replace(query=urlencode([*parse_qsl(parts.query), ("key", key)])))
    elif key:  # openai-chat and the formats that authenticate alike (grok, azure-openai, openai-responses...)
        defaults["authorization"] = f"Bearer {key}"
    body = opts.get("body")
    return Request("POST", url, _merge(defaults, _headers(opts)), orjson.dumps(body if body is not None else {}))


def fetch_request(opts: Mapping[str, Any]) -> Request:
    """The request `step.fetch` asks for: its method, headers and body (a string) as given."""
    url = _url(opts)
    method = str(opts.get("method") or "GET").upper()
    if method not in METHODS:
        raise GatewayError("InvalidStepError", f"unsupported HTTP method {method!r}", retryable=False)
    body = opts.get("body")
    if body is not None and not isinstance(body, str):
        body = orjson.dumps(body).decode()
    return Request(method, url, _merge({"user-agent": USER_AGENT}, _headers(opts)), (body or "").encode())


def _transport_message(err: TransportError, url: str) -> str:
    """What went wrong, naming the URL as `shown_url` does (the transport's own message holds the whole URL)."""
    shown = shown_url(url)
    if err.kind == "timeout":
        return f"{shown} did not answer in time"
    if err.kind == "too_large":
        return f"the answer of {shown} is over the size limit"
    if err.kind == "connect":
        return f"cannot connect to {shown}"
    return f"the request to {shown} failed before an answer came"


def ai_result(url: str, response: AppResponse) -> Any:
    """The provider's JSON answer, or the error its status or body makes."""
    if not 200 <= response.status < 300:
        detail = response.body[:SHOWN_BODY_BYTES].decode("utf-8", errors="replace")
        raise GatewayError("AIGatewayError", f"{shown_url(url)} answered {response.status}: {detail}".rstrip(": "))
    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError:
        raise GatewayError("AIGatewayError", f"the answer of {shown_url(url)} is not JSON") from None


def fetch_result(url: str, response: AppResponse) -> dict[str, Any]:
    """What `step.fetch` stores, as the TypeScript SDK reads it back into a `Response`."""
    body = None if response.status in NO_BODY_STATUSES else response.body.decode("utf-8", errors="replace")
    return {"url": shown_url(url), "status_code": response.status, "headers": dict(response.headers), "body": body}


async def carry_out(
    transport: Transport, op: opcodes.Op, *, timeout: float, max_bytes: int
) -> tuple[opcodes.Op, EngineRequest]:
    """Make the request `op` asks for: the op with the answer as `data`, or a failed step op; and what was
    done, for the observers (its URL without query: no credentials)."""
    opts = op.opts or {}
    ai = op.op == opcodes.Opcode.AI_GATEWAY
    url, method, status = str(opts.get("url") or ""), "POST" if ai else str(opts.get("method") or "GET"), None
    started = time.perf_counter()
    try:
        request = ai_request(opts) if ai else fetch_request(opts)
        url, method = request.url, request.method
        try:
            response = await transport.request(
                request.method, request.url, request.body, request.headers, timeout=timeout, max_bytes=max_bytes
            )
        except TransportError as err:
            name = "AIGatewayError" if ai else "GatewayError"
            raise GatewayError(name, _transport_message(err, url)) from None
        status = response.status
        data = ai_result(url, response) if ai else fetch_result(url, response)
        done, problem = op.model_copy(update={"data": data, "opts": None}), None  # the credentials go no further
    except GatewayError as err:
        failed = opcodes.Opcode.STEP_ERROR if err.retryable else opcodes.Opcode.STEP_FAILED
        error = opcodes.ErrorBody(name=err.name, message=str(err))
        done, problem = op.model_copy(update={"op": failed, "error": error, "opts": None}), f"{err.name}: {err}"
    seconds = time.perf_counter() - started
    shown = shown_url(url) if url else ""
    kind = "ai" if ai else "fetch"
    return done, EngineRequest(op.user_id, op.id, kind, method.upper(), shown, status, problem, started, seconds)


async def carry_out_all(
    transport: Transport, ops: list[opcodes.Op], *, timeout: float, max_bytes: int
) -> tuple[list[opcodes.Op], frozenset[str], list[EngineRequest]]:
    """`ops` with every engine request among them carried out, at once; the ids of those that succeeded; and
    the requests made."""
    indexes = [index for index, op in enumerate(ops) if op.op in opcodes.ENGINE_REQUESTS]
    if not indexes:
        return ops, frozenset(), []
    done = await asyncio.gather(
        *(carry_out(transport, ops[index], timeout=timeout, max_bytes=max_bytes) for index in indexes)
    )
    result = list(ops)
    for index, (op, _) in zip(indexes, done, strict=True):
        result[index] = op
    succeeded = frozenset(op.id for op, _ in done if op.op in opcodes.ENGINE_REQUESTS)
    return result, succeeded, [request for _, request in done]
