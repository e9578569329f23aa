"""POST in and out: read a call request into an `Invocation`, and turn an outcome into an answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pydantic

from stepstone.protocol import call as wire_call
from stepstone.protocol import durations, headers, opcodes, stepids
from stepstone.protocol.events import Event
from stepstone.sdk import errors, outcomes, transport
from stepstone.sdk.client import Stepstone
from stepstone.sdk.execution import Invocation
from stepstone.sdk.function import Function, Handler


@dataclass(frozen=True)
class Refusal:
    """A call request that cannot run; answered as is."""

    status: int
    body: dict[str, Any]

    @classmethod
    def of(cls, status: int, err: errors.StepstoneError) -> Refusal:
        return cls(status, {"code": err.code, "message": str(err), "name": type(err).__name__})


def prepare(
    client: Stepstone,
    functions: Sequence[Function],
    query: Mapping[str, str],
    body: bytes,
    request_headers: Mapping[str, str],
) -> transport.Flow[Invocation | Refusal]:
    """Find the function, parse the body and, when the engine asks (`use_api`), fetch the run's state."""
    fn_id = query.get("fnId") or ""
    found = find(client, functions, fn_id)
    if found is None:
        return Refusal.of(500, errors.FunctionNotFoundError(f"function {fn_id!r} is not served by this app"))
    try:
        request = wire_call.CallRequest.model_validate_json(body)
        events = [Event.model_validate(raw) for raw in request.events or [request.event]]
    except pydantic.ValidationError as err:
        return Refusal.of(400, errors.BodyInvalidError(f"not a call request: {_first_problem(err)}"))
    memos = request.steps
    if request.use_api or request.ctx.use_api:
        fetched = yield from fetch_state(client, request.ctx.run_id)
        if isinstance(fetched, Refusal):
            return fetched
        events, memos = fetched
    target = query.get("stepId") or None
    function, handler, output_type = found
    return Invocation(
        function=function,
        handler=handler,
        output_type=output_type,
        request=request,
        events=events,
        memos=memos,
        target=None if target == stepids.UNTARGETED else target,
        request_id=request_headers.get(headers.REQUEST_ID),
        job_id=request_headers.get(headers.JOB_ID),
        traceparent=request_headers.get(headers.TRACEPARENT),
    )


def find(
    client: Stepstone, functions: Sequence[Function], fn_id: str
) -> tuple[Function, Handler, object | None] | None:
    """The function serving `fn_id`; an id without the app prefix (old SDKs) is accepted too."""
    for candidate in (fn_id, f"{client.app_id}-{fn_id}"):
        for function in functions:
            found = function.handler_for(candidate)
            if found is not None:
                return function, found[0], found[1]
    return None


def fetch_state(client: Stepstone, run_id: str) -> transport.Flow[tuple[list[Event], dict[str, Any]] | Refusal]:
    """GET the run's events and memos (`/v0/runs/{run_id}/batch` and `/actions`)."""
    keys = [client.signing_key, client.signing_key_fallback]
    found: list[Any] = []
    for part, kind in (("batch", list), ("actions", dict)):
        call = transport.HttpCall("GET", client.api_url(f"/v0/runs/{run_id}/{part}"), transport.sdk_headers())
        reply = yield from transport.authed(call, keys)
        value = _json(reply)
        if not isinstance(value, kind):
            problem = reply if not isinstance(reply, transport.HttpReply) else f"status {reply.status_code}"
            return Refusal.of(500, errors.BodyInvalidError(f"could not fetch the run's {part}: {problem}"))
        found.append(value)
    try:
        return [Event.model_validate(raw) for raw in found[0]], found[1]
    except pydantic.ValidationError as err:
        return Refusal.of(500, errors.BodyInvalidError(f"the run's batch holds a bad event: {_first_problem(err)}"))


def _json(reply: transport.Reply) -> object:
    if not isinstance(reply, transport.HttpReply) or not reply.is_success:
        return None
    try:
        return reply.json()
    except ValueError:
        return None


def _first_problem(err: pydantic.ValidationError) -> str:
    problem = err.errors()[0]
    return f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"


def answer(outcome: outcomes.Outcome) -> tuple[int, Any, dict[str, str]]:
    """(status, body, headers) for an outcome."""
    if isinstance(outcome, outcomes.Completed):
        return 200, outcome.output, {}
    if isinstance(outcome, outcomes.Reported):
        failed = any(op.get("op") == opcodes.Opcode.STEP_FAILED.value for op in outcome.ops)
        return 206, outcome.ops, {headers.NO_RETRY: "true"} if failed else {}
    if isinstance(outcome, outcomes.Stale):
        return (
            400,
            {"code": "stale_dispatch", "message": outcome.message, "name": "StaleDispatch"},
            {headers.NO_RETRY: "true"},
        )
    err = outcome.error
    extra: dict[str, str] = {}
    if not errors.is_retriable(err):
        extra[headers.NO_RETRY] = "true"
    if isinstance(err, errors.RetryAfterError):
        extra[headers.RETRY_AFTER] = durations.format_time(err.retry_after)
    return 500, errors.error_body(err, outcome.stack), extra
