"""Checkpoint mode: run several steps in one call request, reporting each to the engine as it ends.

It applies when the engine sends `ctx.fn_id`, targets no step, and does not ask for plans. After each
executed `step.run`, its `StepRun` op is held until the function's next move. Before the next step's
body runs, and before any answer but the function's return, it is POSTed to
`{api}/v1/checkpoint/{run_id}/async`; when the function returns, it goes in the answer instead,
followed by `RunComplete` (206), which saves a round trip per call, as the TypeScript SDK's buffered
steps do. A step's body thus never runs before the steps before it are stored; only the code between
steps runs ahead, and that code runs again on every replay anyway. A POST is answered:

- 2xx: the engine saved it; the function goes on in the same request;
- 409: the dispatch is stale (another request owns the run): stop, answer 400 with no retry;
- anything else, after a few quick retries: fall back to the classic protocol and answer 206 with
  the op, so the engine saves it from the answer instead.

Past `max_runtime` the request ends with a `DiscoveryRequest` op, so the engine calls again.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson

from stepstone.protocol import call as wire_call
from stepstone.protocol import opcodes, stepids
from stepstone.sdk import outcomes, transport
from stepstone.sdk.function import App

CHECKPOINT_ATTEMPTS = 3
DEFAULT_MAX_RUNTIME = timedelta(seconds=10)


class Ack(enum.Enum):
    SAVED = "saved"
    STALE = "stale"
    FAILED = "failed"


def applies(request: wire_call.CallRequest, target: str | None) -> bool:
    """Whether a call request may run in checkpoint mode."""
    ctx = request.ctx
    return bool(ctx.fn_id) and target is None and not ctx.disable_immediate_execution


def run_complete(output: Any) -> dict[str, Any]:
    """The op that ends a run with `output` (what the TypeScript SDK answers in checkpoint mode)."""
    return {"op": opcodes.Opcode.RUN_COMPLETE.value, "id": stepids.hash_step_id("complete"), "data": output}


class Checkpointer:
    """Reports executed steps of one call request to the engine."""

    def __init__(
        self,
        client: App,
        request: wire_call.CallRequest,
        *,
        max_runtime: timedelta = DEFAULT_MAX_RUNTIME,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ctx = request.ctx
        self._max_runtime = max_runtime.total_seconds()
        self._clock = clock
        self._started = clock()
        self.saved = 0
        self.held: dict[str, Any] | None = None

    def out_of_time(self) -> bool:
        """True once the request ran `max_runtime` and ran at least one step."""
        ran = self.saved > 0 or self.held is not None
        return ran and self._clock() - self._started >= self._max_runtime

    def hold(self, op: dict[str, Any]) -> None:
        """Keep a step's op until the function's next move: the next step's body, or its answer."""
        self.held = op

    def save_held(self) -> transport.Flow[outcomes.Outcome | None]:
        """POST the held op, if any. None when the function may go on; else how the request ends."""
        op, self.held = self.held, None
        if op is None:
            return None
        ack = yield from self.flow(op)
        return self.settle(ack, op)

    def answer(self, outcome: outcomes.Outcome) -> transport.Flow[outcomes.Outcome]:
        """The request's answer: a return carries the held step, then `RunComplete`; any other answer
        goes once the held step is saved."""
        if isinstance(outcome, outcomes.Completed):
            op, self.held = self.held, None
            return outcome if op is None else outcomes.Reported([op, run_complete(outcome.output)])
        ending = yield from self.save_held()
        return ending or outcome

    def rediscover(self, step_hashed_id: str) -> outcomes.Reported:
        """End the request and have the engine call again from the next step."""
        return outcomes.Reported([{"op": opcodes.Opcode.DISCOVERY_REQUEST.value, "id": step_hashed_id}])

    def flow(self, op: dict[str, Any]) -> transport.Flow[Ack]:
        """POST the op, retrying a few times quickly on anything but 2xx and 409."""
        ctx = self._ctx
        # The fields of `protocol.call.CheckpointRequest`, written directly: this runs once per step.
        body: dict[str, Any] = {"run_id": ctx.run_id, "fn_id": ctx.fn_id, "qi_id": ctx.qi_id, "steps": [op]}
        if ctx.request_id is not None:
            body["request_id"] = ctx.request_id
        if ctx.generation_id is not None:
            body["generation_id"] = ctx.generation_id
        body["ts"] = int(time.time() * 1000)
        call = transport.HttpCall(
            "POST",
            self._client.api_url(f"/v1/checkpoint/{ctx.run_id}/async"),
            headers=transport.sdk_headers(env=self._client.env),
            body=orjson.dumps(body),
        )
        keys = [self._client.signing_key, self._client.signing_key_fallback]
        for attempt in range(CHECKPOINT_ATTEMPTS):
            if attempt:
                yield transport.Pause(transport.backoff(attempt - 1))
            reply = yield from transport.authed(call, keys)
            if isinstance(reply, transport.HttpReply) and reply.is_success:
                return Ack.SAVED
            if isinstance(reply, transport.HttpReply) and reply.status_code == 409:
                return Ack.STALE
        return Ack.FAILED

    def settle(self, ack: Ack, op: dict[str, Any]) -> outcomes.Outcome | None:
        """None when the function may go on; else how the request ends."""
        if ack is Ack.SAVED:
            self.saved += 1
            return None
        if ack is Ack.STALE:
            return outcomes.Stale(f"the engine refused the checkpoint of step {op['displayName']!r} as stale")
        self._client.logger.warning(
            "checkpoint failed; reporting the step in the answer instead",
            extra={"action": "checkpoint_failed", "run_id": self._ctx.run_id, "step_id": op["id"]},
        )
        return outcomes.Reported([op])
