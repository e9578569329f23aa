"""What executing one call request ends with; `comm` turns each into an HTTP answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Completed:
    """The function returned (200); `output` is already a JSON value."""

    output: Any


@dataclass(frozen=True)
class Reported:
    """Ops to report (206). `error` is the step's exception when an op is StepError/StepFailed."""

    ops: list[dict[str, Any]]
    error: BaseException | None = None


@dataclass(frozen=True)
class Failed:
    """The function failed (500); `stack` is the traceback text."""

    error: BaseException
    stack: str | None = None


@dataclass(frozen=True)
class Stale:
    """The engine refused a checkpoint as a stale dispatch (409): stop, and ask for no retry (400)."""

    message: str


Outcome = Completed | Reported | Failed | Stale
