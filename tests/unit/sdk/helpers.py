"""Build call requests by hand and read the answers, as the engine would."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from stepstone.protocol import stepids
from stepstone.sdk import execution
from stepstone.sdk.comm import CommHandler, CommRequest, CommResponse
from stepstone.sdk.function import Function

URL = "http://app.test/api/inngest"


def body(
    *,
    steps: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    **ctx: Any,
) -> bytes:
    event = event or {"name": "app/go", "data": {"x": 1}, "id": "ev1", "ts": 1700000000000}
    context = {
        "run_id": "run1",
        "attempt": 0,
        "stack": {"stack": list(steps or {})},
        "disable_immediate_execution": False,
    }
    return json.dumps(
        {"event": event, "events": events or [event], "steps": steps or {}, "ctx": context | ctx, "use_api": False}
    ).encode()


def request(fn_id: str, raw: bytes, *, step_id: str = "step", headers: dict[str, str] | None = None) -> CommRequest:
    return CommRequest("POST", URL, headers or {}, raw, {"fnId": fn_id, "stepId": step_id})


def handler(client: Any, functions: Sequence[Function], **options: Any) -> CommHandler:
    return CommHandler(client, functions, framework="test", options=execution.Options(**options))


async def call(h: CommHandler, fn: Function, *, step_id: str = "step", **kwargs: Any) -> CommResponse:
    return await h.handle(request(fn.id, body(**kwargs), step_id=step_id))


def call_sync(h: CommHandler, fn: Function, *, step_id: str = "step", **kwargs: Any) -> CommResponse:
    return h.handle_sync(request(fn.id, body(**kwargs), step_id=step_id))


def ops(response: CommResponse) -> list[dict[str, Any]]:
    assert response.status == 206, (response.status, response.body)
    result: list[dict[str, Any]] = json.loads(response.body)
    return result


def data(response: CommResponse) -> Any:
    return json.loads(response.body)


def hashed(user_id: str, index: int = 0) -> str:
    return stepids.hash_step_id(user_id, index)


def memo_of(op: dict[str, Any]) -> Any:
    """The memo the engine would store for a reported op."""
    if op["op"] == "StepRun":
        return {"data": op.get("data")}
    if op["op"] == "StepFailed":
        return {"error": op["error"]}
    return None
