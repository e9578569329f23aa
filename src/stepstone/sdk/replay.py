"""Replay: what to do when user code reaches a step. One decision path for async and sync functions.

A call request carries the memos of the steps done so far. Each time the function reaches a step:

- its memo is there: hand the memo back to user code (replay);
- the engine targets another step (`stepId` not `step`): skip it;
- it is a new `step.run` found alone, and immediate execution is allowed: run it;
- it is a new `step.run` found with others, in `group.parallel`, or while the engine asks for plans:
  plan it (`StepPlanned`);
- it is any other new step (sleep, wait, invoke): report it as itself.
"""

from __future__ import annotations

import contextvars
import enum
import os
import sys
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stepstone.protocol import call as wire_call
from stepstone.protocol import opcodes, stepids
from stepstone.sdk import errors

_SDK_DIR = os.path.dirname(os.path.abspath(__file__))
_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__))

# True while a `step.run` callback runs: a step reached then is nested, which is an error.
in_step: contextvars.ContextVar[bool] = contextvars.ContextVar("stepstone_in_step", default=False)


class ParallelMode(enum.StrEnum):
    """How the engine continues after the steps of a `group.parallel` end."""

    WAIT = "wait"
    """Continue once every step of the group has ended (the default)."""
    RACE = "race"
    """Continue after each step ends, so branches run on independently."""


# The mode of the `group.parallel` being run, or None outside of one.
current_parallel: contextvars.ContextVar[ParallelMode | None] = contextvars.ContextVar(
    "stepstone_parallel", default=None
)


class Action(enum.Enum):
    RUN = "run"
    PLAN = "plan"
    REPORT = "report"
    SKIP = "skip"


@dataclass(frozen=True)
class Memo:
    """A step's stored outcome: `data`, or `error` when the step failed for good."""

    data: Any = None
    error: dict[str, Any] | None = None


def parse_memo(raw: object) -> Memo:
    """Read a memo: `{"data": X}`, `{"error": {...}}`, `null`, or a bare value (a matched event)."""
    if isinstance(raw, dict) and raw and set(raw) <= {"data", "error"}:
        error = raw.get("error")
        if error is not None:
            return Memo(error=error if isinstance(error, dict) else {"message": str(error)})
        return Memo(data=raw.get("data"))
    return Memo(data=raw)


@dataclass
class StepCall:
    """One step as user code reached it."""

    step_id: stepids.StepId
    opcode: opcodes.Opcode
    name: str
    read: Callable[[Memo], Any]
    opts: dict[str, Any] | None = None
    handler: Callable[..., Any] | None = None
    args: tuple[Any, ...] = ()
    output_type: object | None = None
    parallel: ParallelMode | None = None

    @property
    def hashed(self) -> str:
        return self.step_id.hashed

    @property
    def is_run(self) -> bool:
        return self.opcode is opcodes.Opcode.STEP_RUN

    def op(self, opcode: opcodes.Opcode | None = None, **payload: Any) -> dict[str, Any]:
        """The wire op for this step (`opcode` overrides the step's own, e.g. StepPlanned)."""
        opts = dict(self.opts) if self.opts else None
        if self.parallel is ParallelMode.RACE:
            opts = {**(opts or {}), "parallelMode": ParallelMode.RACE.value}
        user_id = self.step_id.user_id
        op = {
            "id": self.hashed,
            "op": (opcode or self.opcode).value,
            "name": self.name,
            "displayName": user_id,
            "opts": opts,
            "userland": {"id": user_id, "index": self.step_id.index or None},
        }
        return op | payload


def source_line() -> str:
    """`file:line` of the user code that reached the step being looked up: the first frame outside the SDK,
    or "" when that is the standard library (a step started in a task, e.g. a `group.parallel` lambda's)."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_SDK_DIR):
        frame = frame.f_back
    if frame is None or frame.f_code.co_filename.startswith(_STDLIB_DIR):
        return ""
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def read_error(memo: Memo) -> errors.StepError:
    error = memo.error or {}
    return errors.StepError(
        message=str(error.get("message") or error.get("error") or ""),
        name=str(error.get("name") or "Error"),
        stack=error.get("stack"),
    )


def format_stack(err: BaseException) -> str:
    return "".join(traceback.format_exception(err))


class Replay:
    """The state of one call request as user code goes through its steps."""

    def __init__(
        self,
        request: wire_call.CallRequest,
        memos: dict[str, Any],
        *,
        target: str | None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.memos = dict(memos)
        self.target = target
        self.ids = stepids.StepIdCounter()
        self.replaying = bool(self.memos)
        self.attempt = request.ctx.attempt
        self.max_attempts = request.ctx.max_attempts
        self.immediate = not request.ctx.disable_immediate_execution
        self.target_reached = False
        self.now = now or (lambda: datetime.now(UTC))
        # The stored steps this call used, in order: [hashed id, opcode, "file:line", parallel] (`headers.STEPS_USED`).
        self.used: list[list[Any]] = []

    def lookup(self, call: StepCall) -> Memo | None:
        """Pop the memo of `call`, if any; reaching a step without one ends the replay."""
        if call.hashed == self.target:
            self.target_reached = True
        if call.hashed in self.memos:
            raw = self.memos.pop(call.hashed)
            self.replaying = bool(self.memos)
            self.used.append([call.hashed, call.opcode.value, source_line(), call.parallel is not None])
            return parse_memo(raw)
        self.replaying = False
        return None

    def decide(self, call: StepCall, *, alone: bool) -> Action:
        """What to do with a step that has no memo; `alone` = no other new step was found with it."""
        if self.target is not None:
            if call.hashed != self.target:
                return Action.SKIP
            return Action.RUN if call.is_run else Action.REPORT
        if not call.is_run:
            return Action.REPORT
        if alone and call.parallel is None and self.immediate:
            return Action.RUN
        return Action.PLAN

    def failure_opcode(self) -> opcodes.Opcode:
        """StepError while attempts remain, else StepFailed."""
        if self.max_attempts is None or self.attempt + 1 < self.max_attempts:
            return opcodes.Opcode.STEP_ERROR
        return opcodes.Opcode.STEP_FAILED

    def step_ran(self) -> None:
        """A step ran and was checkpointed: later steps of this request are first attempts."""
        self.attempt = 0

    def unreached(self) -> errors.StepUnexpectedError:
        target = self.target or ""
        return errors.StepUnexpectedError(
            f"the engine targeted step {target} but this call never reached it; is the function deterministic?",
            target,
        )
