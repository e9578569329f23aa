"""Reruns over REST: the body `POST /v1/runs/{run_id}/rerun` and `POST /v2/runs/{run_id}/rerun` take.

`{"from_step": {"step_id": "...", "input": [...]}}` (or Inngest's camelCase `fromStep` / `stepId`), or no
body for a rerun from the start. The step id is the one the user wrote, `id:n` for the n-th repeat of an
id (a run's steps show it as `display_id`); `input` is the step's arguments as a JSON array.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from starlette.responses import Response

from stepstone.server.api import views
from stepstone.server.api.common import JSONAnswer, engine_of
from stepstone.server.execution.reruns import FromStep

SUMMARY = "Start a new run of the same function with the same events, from the start or from a step"
DESCRIPTION = (
    "No body: the new run starts from the beginning. With `from_step`, it reuses the stored results of the "
    "steps that finished before that step and runs from that step on; `input` (a JSON array) replaces the "
    "step's arguments (TypeScript SDK apps only). The new run has `original_run_id`. 200 "
    '`{"data": <run>}`; 400 for a step the run does not have; 404 for an unknown run.'
)
RESPONSES: dict[int | str, dict[str, Any]] = {200: {"description": '{"data": <run>}'}, 400: {}, 401: {}, 404: {}}


class FromStepBody(BaseModel):
    """The step a rerun starts from."""

    model_config = ConfigDict(extra="forbid")

    step_id: str = Field(
        min_length=1,
        max_length=1024,
        validation_alias=AliasChoices("step_id", "stepId"),
        description="the step id as written in the code, `id:n` for its n-th repeat (the step's `display_id`)",
    )
    input: list[Any] | None = Field(default=None, description="the step's arguments instead of its own")


class RerunBody(BaseModel):
    """What `POST /v1/runs/{run_id}/rerun` takes (optional)."""

    model_config = ConfigDict(extra="forbid")

    from_step: FromStepBody | None = Field(default=None, validation_alias=AliasChoices("from_step", "fromStep"))


async def start_rerun(run_id: str, body: RerunBody | None, request: Request) -> Response:
    """Start the rerun and answer the new run (RunNotFoundError: 404, RerunError: 400, in `api.errors`)."""
    from_step = None
    if body is not None and body.from_step is not None:
        given = body.from_step.input
        from_step = FromStep(body.from_step.step_id, None if given is None else orjson.dumps(given).decode())
        request.state.audit_detail = f"from step {from_step.step_id}" + (" with a new input" if given else "")
    run = await engine_of(request).rerun(run_id, from_step)
    return JSONAnswer({"data": views.run(run)})
