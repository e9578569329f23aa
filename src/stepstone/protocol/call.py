"""The call request: what the engine POSTs to an app to run (a part of) a function."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stepstone.protocol import stepids


class Stack(BaseModel):
    model_config = ConfigDict(extra="ignore")

    stack: list[str] | None = Field(default_factory=list)
    current: int = 0


class CallContext(BaseModel):
    """`ctx` of a call request.

    `attempt` counts per step (each new step or discovery starts at 0); `max_attempts` is the
    function's retries + 1. `fn_id` present and no step targeted lets an SDK checkpoint steps.
    """

    model_config = ConfigDict(extra="ignore")

    run_id: str
    fn_id: str = ""
    step_id: str = stepids.UNTARGETED
    attempt: int = 0
    max_attempts: int | None = None
    stack: Stack = Field(default_factory=Stack)
    disable_immediate_execution: bool = False
    use_api: bool = False
    env: str = ""
    qi_id: str = ""
    request_id: str | None = None
    generation_id: int | None = None


class CallRequest(BaseModel):
    """The whole body of a call request (SDK side parse; the engine writes it directly)."""

    model_config = ConfigDict(extra="ignore")

    event: dict[str, Any]
    events: list[dict[str, Any]] | None = None
    steps: dict[str, Any] = Field(default_factory=dict)
    ctx: CallContext
    use_api: bool = False
    version: int = -1
    defers: dict[str, Any] = Field(default_factory=dict)


class CheckpointRequest(BaseModel):
    """`POST /v1/checkpoint/{run_id}/async`: steps an SDK ran inside one call, reported as they end."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    fn_id: str = ""
    qi_id: str = ""
    request_id: str | None = None
    generation_id: int | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list)
    ts: int | None = None
