"""Opcodes: what an app answers (status 206) to say which step it reached, and step memos.

An app answers a call with 200 (the function returned; the body is its output), 206 (a JSON array
of ops, or one op object), or an error status. The engine stores each step's outcome as a *memo*
and sends all memos back on the next call, keyed by hashed step id.
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class Opcode(enum.StrEnum):
    NONE = "None"
    STEP = "Step"
    STEP_RUN = "StepRun"
    STEP_ERROR = "StepError"
    STEP_FAILED = "StepFailed"
    STEP_PLANNED = "StepPlanned"
    SLEEP = "Sleep"
    WAIT_FOR_EVENT = "WaitForEvent"
    INVOKE_FUNCTION = "InvokeFunction"
    AI_GATEWAY = "AIGateway"
    GATEWAY = "Gateway"
    WAIT_FOR_SIGNAL = "WaitForSignal"
    RUN_COMPLETE = "RunComplete"
    SYNC_RUN_COMPLETE = "SyncRunComplete"
    DISCOVERY_REQUEST = "DiscoveryRequest"
    DEFER_ADD = "DeferAdd"
    DEFER_ABORT = "DeferAbort"


# Ops that are not steps of the run: they name no stored step and do not count towards the step limit.
NOT_STEPS = frozenset({Opcode.NONE, Opcode.RUN_COMPLETE, Opcode.SYNC_RUN_COMPLETE, Opcode.DISCOVERY_REQUEST})

# Steps whose HTTP request the engine makes for the app (`step.ai.infer`, `step.fetch`).
ENGINE_REQUESTS = frozenset({Opcode.AI_GATEWAY, Opcode.GATEWAY})

_BY_LOWER = {member.value.lower(): member for member in Opcode}


def parse_opcode(text: str) -> Opcode:
    """Match an opcode name exactly or case-insensitively (`AiGateway` is `AIGateway`).

    Raises:
        ValueError: no such opcode.
    """
    try:
        return _BY_LOWER[text.lower()]
    except KeyError:
        raise ValueError(f"unknown opcode {text!r}") from None


class ErrorBody(BaseModel):
    """An error as apps report it and memos store it."""

    model_config = ConfigDict(extra="allow")

    name: str = "Error"
    message: str = ""
    stack: str | None = None


class Userland(BaseModel):
    id: str
    index: int | None = None


class Op(BaseModel):
    """One generator opcode from an app's 206 answer."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    op: Opcode
    id: str
    name: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")
    opts: dict[str, Any] | None = None
    data: Any = None
    error: ErrorBody | None = None
    userland: Userland | None = None
    timing: dict[str, Any] | None = None

    @field_validator("op", mode="before")
    @classmethod
    def _opcode(cls, value: object) -> Opcode:
        if isinstance(value, Opcode):
            return value
        if not isinstance(value, str):
            raise ValueError("`op` must be a string")
        return parse_opcode(value)

    @property
    def user_id(self) -> str:
        """The step id as the user wrote it, as well as the op tells."""
        if self.userland is not None:
            return self.userland.id
        return self.display_name or self.name or self.id

    @property
    def user_index(self) -> int:
        if self.userland is not None and self.userland.index:
            return self.userland.index
        return 0

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class OpsInvalidError(ValueError):
    """An app's 206 body was not a valid list of ops."""


def parse_ops(body: object) -> list[Op]:
    """Parse a decoded 206 body: an array of ops or a single op object.

    Raises:
        OpsInvalidError: the body is not ops (the engine treats this as a failed attempt).
    """
    items = body if isinstance(body, list) else [body]
    if isinstance(body, list) and not body:
        return [Op(op=Opcode.NONE, id="")]
    ops = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise OpsInvalidError(f"op {position} is not a JSON object")
        try:
            ops.append(Op.model_validate(item))
        except ValidationError as err:
            problem = err.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "op"
            raise OpsInvalidError(f"op {position}: {where}: {problem['msg']}") from None
    return ops


# Memo shapes (what `steps[<hashed id>]` holds in a call request).
def memo_data(value: object) -> dict[str, Any]:
    """A step that produced `value` (step.run, invoke, send_event)."""
    return {"data": value}


def memo_error(error: dict[str, Any]) -> dict[str, Any]:
    """A step that failed for good, or an invoke that failed or timed out."""
    return {"error": error}


INVOKE_TIMEOUT_ERROR: dict[str, Any] = {
    "error": "InngestInvokeTimeoutError: Timed out waiting for invoked function to complete",
    "name": "InngestInvokeTimeoutError",
    "message": "Timed out waiting for invoked function to complete",
}

# Step kinds as `opts.type` names them (TS) and as run records show them.
STEP_TYPE_SEND_EVENT = "step.sendEvent"
