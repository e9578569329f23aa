"""Executing one call request: what the sync and async executions share.

`execution_sync.SyncExecution` runs a plain function, `execution_async.AsyncExecution` an async one.
Both are a `Runner`: it holds the replay state and the checkpointer, and turns step results and errors
into ops and the function's end into an outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from stepstone.protocol import call as wire_call
from stepstone.protocol import opcodes
from stepstone.protocol.events import Event
from stepstone.sdk import checkpoint, context, errors, outcomes, serialization, tracing
from stepstone.sdk.function import Function, Handler
from stepstone.sdk.replay import Action, Replay, StepCall, format_stack

DEFAULT_MAX_RUNTIME = checkpoint.DEFAULT_MAX_RUNTIME


@dataclass(frozen=True)
class Options:
    """How calls are executed.

    Attributes:
        checkpoint: Use checkpoint mode when the engine allows it (default True).
        max_runtime: Stop checkpointing and ask to be called again after this long (default 10 s).
        target_wait: How long a targeted call waits for its target step to be reached (default 10 s).
        clock: Monotonic seconds, for `max_runtime`.
    """

    checkpoint: bool = True
    max_runtime: timedelta = DEFAULT_MAX_RUNTIME
    target_wait: timedelta = timedelta(seconds=10)
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Invocation:
    """A parsed call request, ready to run."""

    function: Function
    handler: Handler
    output_type: object | None
    request: wire_call.CallRequest
    events: list[Event]
    memos: dict[str, Any]
    target: str | None
    request_id: str | None = None
    job_id: str | None = None
    traceparent: str | None = None  # the engine's W3C trace context (`sdk.tracing`)
    # Filled by the execution: the stored steps the call used, in order (`Replay.used`).
    used: list[list[Any]] = field(default_factory=list)


class Runner:
    """What both executions share: replay state, checkpointing, and turning results into ops."""

    def __init__(self, invocation: Invocation, options: Options) -> None:
        self.invocation = invocation
        self.client = invocation.function.client
        self.logger = self.client.logger
        request = invocation.request
        self.run_id = request.ctx.run_id
        self.replay = Replay(request, invocation.memos, target=invocation.target)
        self.replay.used = invocation.used
        self.checkpointer: checkpoint.Checkpointer | None = None
        if options.checkpoint and checkpoint.applies(request, invocation.target):
            self.checkpointer = checkpoint.Checkpointer(
                self.client, request, max_runtime=options.max_runtime, clock=options.clock
            )
        self.logger_for_user = context.ReplayLogger(self.logger, lambda: self.replay.replaying)
        self.attempt_changed: Callable[[int], None] = lambda attempt: None

    def ran(self, call: StepCall, value: object) -> tuple[dict[str, Any], Any]:
        """The StepRun op of a step's output, and the output as a replay would return it."""
        data = serialization.to_json(self.client.serializer, value, None, f"step {call.step_id.user_id!r}")
        return call.op(data=data), self.client.serializer.deserialize(data, call.output_type)

    def run_failed(self, call: StepCall, err: Exception) -> dict[str, Any]:
        """The StepError (attempts remain) or StepFailed op of a step that raised `err`."""
        opcode = self.replay.failure_opcode() if errors.is_retriable(err) else opcodes.Opcode.STEP_FAILED
        self.logger.error(
            "step %r raised %s", call.step_id.user_id, type(err).__name__, exc_info=err, extra=self._log(call)
        )
        return call.op(opcode, error=errors.error_body(err, format_stack(err)))

    def saved(self) -> None:
        """A step ran (checkpointed, or held until the function's next move): the next starts at attempt 0."""
        self.replay.step_ran()
        self.attempt_changed(0)

    def output(self, value: object) -> outcomes.Outcome:
        if self.replay.target is not None and not self.replay.target_reached:
            return self.failed(self.replay.unreached())
        what = f"function {self.invocation.function.local_id!r}"
        return outcomes.Completed(
            serialization.to_json(self.client.serializer, value, self.invocation.output_type, what)
        )

    def failed(self, err: BaseException) -> outcomes.Failed:
        self.logger.error("function %r failed", self.invocation.function.id, exc_info=err, extra=self._log(None))
        return outcomes.Failed(err, format_stack(err))

    def _log(self, call: StepCall | None) -> dict[str, Any]:
        extra = {"action": "step_failed" if call else "function_failed", "run_id": self.run_id}
        return extra | ({"step_id": call.step_id.user_id} if call else {})

    def traced(self, call: StepCall) -> AbstractContextManager[None]:
        """The engine's span of this step attempt as the current OpenTelemetry context, while it runs."""
        return tracing.step_context(self.invocation.traceparent, self.run_id, call.hashed, self.replay.attempt)

    def context_fields(self) -> dict[str, Any]:
        invocation = self.invocation
        return {
            "event": invocation.events[0],
            "events": invocation.events,
            "run_id": self.run_id,
            "attempt": invocation.request.ctx.attempt,
            "logger": self.logger_for_user,
            "request_id": invocation.request_id or invocation.request.ctx.request_id,
            "job_id": invocation.job_id,
        }


def bubbles(err: Exception) -> bool:
    """Errors raised in a step.run callback that fail the function, not the step (as the official SDK)."""
    return isinstance(err, errors.NonRetriableError | errors.RetryAfterError)


def report_op(call: StepCall, action: Action) -> dict[str, Any]:
    if action is Action.PLAN:
        return call.op(opcodes.Opcode.STEP_PLANNED, data=None)
    return call.op()
