"""Run a function in-process, with no engine: `await testing.run(fn, event)`.

The real execution code runs call after call, the way the engine would drive it: `step.run` outputs
and sleeps are memoized automatically, planned steps are called one by one, and failed steps and
function errors are retried up to the function's retries. `wait_for_event`, `wait_for_signal`, `fetch`
and `invoke` need a stub (`step_stubs={"step-id": value}`: a signal's stub is its data, a fetch's a
`stepstone.FetchResponse`; `testing.TIMEOUT` makes a wait time out), or `UnstubbedStepError` is raised.
A stubbed `step.run` returns its stub without running.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import inspect
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stepstone.protocol import call as wire_call
from stepstone.protocol import opcodes
from stepstone.protocol.events import Event
from stepstone.sdk import errors, execution, execution_async, execution_sync, outcomes
from stepstone.sdk.function import Function
from stepstone.sdk.step import FetchResponse

DEFAULT_RETRIES = 4
MAX_CALLS = 1000
TIMEOUT = object()  # a stub for wait_for_event or wait_for_signal: the wait timed out


class Status(enum.StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True)
class Result:
    """How a run ended.

    Attributes:
        status: COMPLETED or FAILED.
        output: The function's output (JSON, as the engine would store it), or None.
        error: The exception that failed the run, or None.
    """

    status: Status
    output: Any = None
    error: BaseException | None = None


class Simulation:
    """The engine's side of the loop: builds each call request and absorbs each outcome."""

    def __init__(self, fn: Function, events: Event | list[Event], step_stubs: Mapping[str, object] | None) -> None:
        self.fn = fn
        self.events = events if isinstance(events, list) else [events]
        if not self.events:
            raise ValueError("give at least one event")
        self.stubs = dict(step_stubs or {})
        self.memos: dict[str, Any] = {}
        self.stack: list[str] = []
        self.planned: deque[str] = deque()
        self.attempt = 0
        self.max_attempts = (fn.retries if fn.retries is not None else DEFAULT_RETRIES) + 1
        self.target: str | None = None

    def next_call(self) -> execution.Invocation:
        self.target = self.planned[0] if self.planned else None
        request = wire_call.CallRequest(
            event=self.events[0].model_dump(mode="json"),
            events=[event.model_dump(mode="json") for event in self.events],
            steps=dict(self.memos),
            ctx=wire_call.CallContext(
                run_id="test-run",
                attempt=self.attempt,
                max_attempts=self.max_attempts,
                stack=wire_call.Stack(stack=list(self.stack)),
                disable_immediate_execution=True,  # plan every step.run, so stubs apply before running
            ),
        )
        return execution.Invocation(
            function=self.fn,
            handler=self.fn.handler,
            output_type=self.fn.output_type,
            request=request,
            events=list(self.events),
            memos=dict(self.memos),
            target=self.target,
        )

    def absorb(self, outcome: outcomes.Outcome) -> Result | None:
        """Record what the call reported; a Result once the run is over."""
        if isinstance(outcome, outcomes.Completed):
            return Result(Status.COMPLETED, output=outcome.output)
        if isinstance(outcome, outcomes.Failed):
            return self._retry_or_fail(outcome.error)
        if isinstance(outcome, outcomes.Stale):
            return Result(Status.FAILED, error=RuntimeError(outcome.message))
        for op in outcome.ops:
            result = self._absorb_op(op, outcome.error)
            if result is not None:
                return result
        return None

    def _absorb_op(self, op: dict[str, Any], error: BaseException | None) -> Result | None:
        kind, hashed, user_id = opcodes.parse_opcode(op["op"]), op["id"], op["displayName"]
        if self.planned and self.planned[0] == hashed and kind is not opcodes.Opcode.STEP_ERROR:
            self.planned.popleft()
        if user_id in self.stubs and kind is not opcodes.Opcode.STEP_ERROR:
            self._save(hashed, _stub_memo(kind, self.stubs[user_id], op))
        elif kind is opcodes.Opcode.STEP_PLANNED:
            self.planned.append(hashed)
        elif kind is opcodes.Opcode.STEP_RUN:
            self._save(hashed, {"data": op.get("data")})
        elif kind is opcodes.Opcode.SLEEP:
            self._save(hashed, None)
        elif kind is opcodes.Opcode.STEP_FAILED:
            self._save(hashed, {"error": op.get("error")})
        elif kind is opcodes.Opcode.STEP_ERROR:
            self.attempt += 1
        else:
            raise errors.UnstubbedStepError(user_id)
        return None

    def _save(self, hashed: str, memo: object) -> None:
        self.memos[hashed] = memo
        self.stack.append(hashed)
        self.attempt = 0

    def _retry_or_fail(self, error: BaseException) -> Result | None:
        if errors.is_retriable(error) and self.attempt + 1 < self.max_attempts:
            self.attempt += 1
            return None
        return Result(Status.FAILED, error=error)


def _stub_memo(kind: opcodes.Opcode, stub: object, op: dict[str, Any]) -> object:
    if kind is opcodes.Opcode.WAIT_FOR_SIGNAL:
        return None if stub is TIMEOUT else {"data": {"signal": (op.get("opts") or {}).get("signal"), "data": stub}}
    if kind is opcodes.Opcode.WAIT_FOR_EVENT:
        if stub is TIMEOUT or stub is None:
            return None
        return stub.model_dump(mode="json") if isinstance(stub, Event) else stub
    if kind is opcodes.Opcode.SLEEP:
        return None
    if isinstance(stub, FetchResponse):
        return {"data": dataclasses.asdict(stub)}
    return {"data": stub}


async def run(fn: Function, events: Event | list[Event], *, step_stubs: Mapping[str, object] | None = None) -> Result:
    """Run `fn` for `events` to its end, in-process; see the module docstring.

    Raises:
        UnstubbedStepError: a wait_for_event or invoke step has no stub.
    """
    simulation = Simulation(fn, events, step_stubs)
    for _ in range(MAX_CALLS):
        invocation = simulation.next_call()
        if inspect.iscoroutinefunction(fn.handler):
            outcome = await execution_async.run_async(invocation, execution.Options(checkpoint=False))
        else:
            outcome = execution_sync.run_sync(invocation, execution.Options(checkpoint=False))
        result = simulation.absorb(outcome)
        if result is not None:
            return result
    raise RuntimeError(f"the function did not end within {MAX_CALLS} calls")


def run_sync(fn: Function, events: Event | list[Event], *, step_stubs: Mapping[str, object] | None = None) -> Result:
    """`run`, blocking (an async function runs on a fresh event loop)."""
    return asyncio.run(run(fn, events, step_stubs=step_stubs))
