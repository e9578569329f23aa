"""What a function receives: `Context` (async functions) and `ContextSync` (plain functions)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stepstone.protocol.events import Event
from stepstone.sdk.group import Group, GroupSync
from stepstone.sdk.step import Step, StepSync

Logger = logging.Logger | logging.LoggerAdapter[Any]


class ReplayLogger(logging.LoggerAdapter[Any]):
    """A logger that stays silent while the function replays memoized steps.

    Each call request runs the function from the top; without this, a line logged before a step
    would appear once per request. Logging resumes when execution reaches code not run before.
    """

    def __init__(self, logger: Logger, is_replaying: Callable[[], bool]) -> None:
        super().__init__(logger, {})
        self._is_replaying = is_replaying

    def isEnabledFor(self, level: int) -> bool:
        return not self._is_replaying() and super().isEnabledFor(level)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        # LoggerAdapter would replace the caller's `extra` with its own; keep the caller's.
        return msg, kwargs


@dataclass
class Context:
    """The context of an async function run.

    Attributes:
        event: The event that started the run (the first of `events`).
        events: Every event of the run (more than one with `batch_events`).
        run_id: The run's id.
        attempt: The current step's attempt, 0-based (retries are >= 1).
        logger: A logger that is silent while memoized steps replay.
        step: The step methods (`await ctx.step.run(...)`).
        group: Step grouping (`await ctx.group.parallel(...)`).
        request_id: The engine's id of this call request, when sent.
        job_id: The engine's queue job id, when sent.
    """

    event: Event
    events: list[Event]
    run_id: str
    attempt: int
    logger: ReplayLogger
    step: Step
    group: Group
    request_id: str | None = None
    job_id: str | None = None


@dataclass
class ContextSync:
    """The context of a plain (non-async) function run; the same fields as `Context`.

    Attributes:
        event: The event that started the run (the first of `events`).
        events: Every event of the run (more than one with `batch_events`).
        run_id: The run's id.
        attempt: The current step's attempt, 0-based (retries are >= 1).
        logger: A logger that is silent while memoized steps replay.
        step: The step methods (`ctx.step.run(...)`).
        group: Step grouping (`ctx.group.parallel(...)`).
        request_id: The engine's id of this call request, when sent.
        job_id: The engine's queue job id, when sent.
    """

    event: Event
    events: list[Event]
    run_id: str
    attempt: int
    logger: ReplayLogger
    step: StepSync
    group: GroupSync
    request_id: str | None = None
    job_id: str | None = None
