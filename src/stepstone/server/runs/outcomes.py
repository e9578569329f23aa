"""What an app's answer to a call means, as a pure function of the answer.

200 (or another 2xx) is the function's output; 206 carries ops; 201 wraps a streamed answer; any
other status is a failed attempt, retryable unless `x-inngest-no-retry: true`. A 2xx without the
`x-inngest-sdk` header did not come from an SDK and is a failed attempt too (inngest:
pkg/execution/driver/httpdriver).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import orjson

from stepstone.protocol import headers as h
from stepstone.protocol import opcodes, signing
from stepstone.server.core import backoff
from stepstone.server.core.transport import AppResponse, TransportError


@dataclass(frozen=True)
class Completed:
    output_json: str
    request_version: int | None = None
    steps_used: str | None = None  # `headers.STEPS_USED` (Stepstone's SDK): see `runs.nondeterminism`


@dataclass(frozen=True)
class Ops:
    ops: list[opcodes.Op]
    no_retry: bool = False
    retry_at: int | None = None
    request_version: int | None = None
    steps_used: str | None = None
    # The ids of the ops of `opcodes.ENGINE_REQUESTS` the engine made the request of: their `data` is the answer
    # (`execution.gateway`); such an op that is not here was not carried out.
    carried_out: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Failed:
    """A failed attempt. `output_json` is what a failed run shows; `error` what system events carry."""

    output_json: str
    error: dict[str, Any]
    retryable: bool = True
    retry_at: int | None = None
    unreachable: bool = False  # nothing reached the app: does not use up the function's retries
    request_version: int | None = field(default=None)
    steps_used: str | None = None


Outcome = Completed | Ops | Failed

# How a call ended, as metrics label it: the function returned, it reported steps, it failed, or the app
# could not be reached (no answer, a refused connection, a timeout).
OUTCOME_NAMES = ("completed", "steps", "error", "unreachable")


def outcome_name(outcome: Outcome) -> str:
    if isinstance(outcome, Completed):
        return "completed"
    if isinstance(outcome, Ops):
        return "steps"
    return "unreachable" if outcome.unreachable else "error"


def _decode(body: bytes) -> Any:
    if not body:
        return None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", errors="replace")
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _version(response: AppResponse) -> int | None:
    try:
        return int(response.headers.get(h.REQUEST_VERSION, ""))
    except ValueError:
        return None


def engine_failure(name: str, message: str, *, retryable: bool = True, unreachable: bool = False) -> Failed:
    """A failed attempt the engine observed itself (no SDK error body)."""
    body = {"name": name, "message": message}
    return Failed(
        output_json=orjson.dumps(body).decode(),
        error={"error": message, "name": name, "message": message},
        retryable=retryable,
        unreachable=unreachable,
    )


def from_transport_error(err: TransportError) -> Failed:
    if err.kind == "too_large":
        return engine_failure("OutputTooLargeError", str(err), retryable=False)
    name = "AppUnreachableError" if err.kind == "connect" else "AppRequestError"
    return engine_failure(name, str(err), unreachable=err.kind == "connect")


def interpret(response: AppResponse, *, now_ms: int, signing_keys: tuple[str, ...]) -> Outcome:
    """Turn an app's answer into an outcome. With signing keys, the answer must be signed with one."""
    outcome = _interpret(response, now_ms=now_ms, signing_keys=signing_keys)
    used = response.headers.get(h.STEPS_USED)
    return outcome if used is None else dataclasses.replace(outcome, steps_used=used)


def _interpret(response: AppResponse, *, now_ms: int, signing_keys: tuple[str, ...]) -> Outcome:
    if signing_keys and not signing.verify_response(
        response.body, response.headers.get(h.SIGNATURE), signing_keys, now=None
    ):
        return engine_failure(
            "SignatureError", "the app's answer is not signed with the engine's signing key (check the app's keys)"
        )
    if response.status == 201:
        return _streamed(response, now_ms=now_ms)
    if 200 <= response.status < 300 and h.SDK not in response.headers:
        return engine_failure("NotAnSdkError", "The response did not come from an Inngest SDK")
    if response.status == 206:
        try:
            ops = opcodes.parse_ops(orjson.loads(response.body) if response.body else None)
        except (orjson.JSONDecodeError, opcodes.OpsInvalidError) as err:
            return engine_failure("InvalidOpsError", f"the app answered 206 without valid ops: {err}")
        return Ops(
            ops=ops,
            no_retry=response.headers.get(h.NO_RETRY, "").lower() == "true",
            retry_at=backoff.parse_retry_after(response.headers.get(h.RETRY_AFTER), now_ms=now_ms),
            request_version=_version(response),
        )
    if 200 <= response.status < 300:
        return Completed(orjson.dumps(_decode(response.body)).decode(), request_version=_version(response))
    return _error_status(response, now_ms=now_ms)


def _error_status(response: AppResponse, *, now_ms: int) -> Failed:
    body = _decode(response.body)
    summary: dict[str, Any] = {"error": f"invalid status code: {response.status}"}
    if isinstance(body, dict):
        summary["name"] = str(body.get("name") or "Error")
        summary["message"] = str(body.get("message") or body.get("error") or summary["error"])
        if body.get("stack"):
            summary["stack"] = str(body["stack"])
    else:
        summary["name"] = "Error"
        summary["message"] = str(body) if body else summary["error"]
    return Failed(
        output_json=orjson.dumps(body).decode(),
        error=summary,
        retryable=response.headers.get(h.NO_RETRY, "").lower() != "true",
        retry_at=backoff.parse_retry_after(response.headers.get(h.RETRY_AFTER), now_ms=now_ms),
        request_version=_version(response),
    )


def _streamed(response: AppResponse, *, now_ms: int) -> Outcome:
    try:
        wrapper = orjson.loads(response.body.strip())
        status = int(wrapper["status"])
        inner_headers = {str(k).lower(): str(v) for k, v in (wrapper.get("headers") or {}).items()}
        inner_body = wrapper.get("body")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return engine_failure("InvalidStreamError", "the app's streamed answer (201) is not a valid wrapper")
    raw = inner_body.encode() if isinstance(inner_body, str) else orjson.dumps(inner_body)
    merged = {**response.headers, **inner_headers}
    return interpret(AppResponse(status, merged, raw), now_ms=now_ms, signing_keys=())
