"""Errors the SDK raises, and the control-flow signals it uses internally.

Every error derives from one root, and each carries the wire `code` it is reported with::

    StepstoneError                      code "unknown"
    ├── NonRetriableError               raise to fail the run now (500 + x-inngest-no-retry)
    │   └── OutputUnserializableError   a step or function returned something that is not JSON
    ├── RetryAfterError                 raise to retry no sooner than a given time (500 + retry-after)
    ├── StepError                       a step failed for good; raised where its memo is replayed
    ├── StepNestedError                 a `step.*` call inside a `step.run` callback
    ├── StepUnexpectedError             a targeted call never reached its target step
    ├── SendEventsError                 the event API refused events (carries the ids it accepted)
    ├── EventKeyUnspecifiedError        sending in production mode without an event key
    ├── SigningKeyMissingError          serving in production mode without a signing key
    ├── FunctionConfigInvalidError      bad options given to `create_function`
    ├── FunctionNotFoundError           a call named a function this app does not serve
    ├── BodyInvalidError                a request body the SDK cannot read
    ├── RegistrationFailedError         the engine refused a sync
    └── UnstubbedStepError              `stepstone.testing` met a step it cannot fake

Control-flow signals derive from `BaseException`, not from `StepstoneError`, so that a user's
`except Exception` around a step cannot swallow them: `Interrupt` and its subclasses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


class StepstoneError(Exception):
    """Root of every error the Stepstone SDK raises.

    Attributes:
        code: The wire error code (`"unknown"` unless a subclass says otherwise).
        is_retriable: Whether the engine may retry after this error.
    """

    code: str = "unknown"
    is_retriable: bool = True

    @property
    def message(self) -> str:
        """The error message."""
        return str(self)


class NonRetriableError(StepstoneError):
    """Raise to fail the run at once, without retries.

    Raised inside a `step.run` callback it is not a step error: it fails the whole function, as
    the official Python SDK does.

    Args:
        message: What went wrong.
    """

    code = "non_retriable_error"
    is_retriable = False

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "")


class OutputUnserializableError(NonRetriableError):
    """A step or function returned a value that cannot be written as JSON."""

    code = "output_unserializable"


class RetryAfterError(StepstoneError):
    """Raise to have the engine retry no sooner than `retry_after`.

    Args:
        message: What went wrong.
        retry_after: A delay (`timedelta` or int milliseconds) or a time (`datetime`; naive means local).

    Attributes:
        retry_after: The absolute UTC time from which a retry is allowed.
    """

    code = "retry_after_error"

    def __init__(self, message: str | None, retry_after: timedelta | datetime | int) -> None:
        super().__init__(message or "")
        if isinstance(retry_after, datetime):
            moment = retry_after if retry_after.tzinfo else retry_after.astimezone()
        else:
            delay = retry_after if isinstance(retry_after, timedelta) else timedelta(milliseconds=retry_after)
            moment = datetime.now(UTC) + delay
        self.retry_after: datetime = moment.astimezone(UTC)


class StepError(StepstoneError):
    """A step failed for good (retries exhausted, or an invoked function failed or timed out).

    Raised where the failed step is replayed, so the function can catch it and carry on.

    Args:
        message: The original error's message.
        name: The original error's class name.
        stack: The original error's traceback, when known.

    Attributes:
        name: The original error's class name (e.g. `"ZeroDivisionError"`).
        stack: The original error's traceback text, or None.
    """

    code = "step_errored"
    is_retriable = False

    def __init__(self, message: str, name: str, stack: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.stack = stack


class StepNestedError(StepstoneError):
    """A `step.*` method was called inside a `step.run` callback; steps cannot nest."""

    code = "step_nested"
    is_retriable = False


class StepUnexpectedError(StepstoneError):
    """The engine targeted a step that this call never reached (a non-deterministic function?).

    Attributes:
        step_id: The hashed id of the targeted step.
    """

    code = "step_unexpected"

    def __init__(self, message: str, step_id: str) -> None:
        super().__init__(message)
        self.step_id = step_id


class SendEventsError(StepstoneError):
    """The event API answered with an error.

    Attributes:
        ids: The ids of the events accepted before the failure.
    """

    code = "send_event_failed"

    def __init__(self, message: str, ids: list[str]) -> None:
        super().__init__(message)
        self.ids = ids


class SendSignalError(StepstoneError):
    """The engine refused a signal, or could not be reached (a signal no run waits for is not an error)."""

    code = "send_signal_failed"


class EventKeyUnspecifiedError(StepstoneError):
    """Sending events in production mode needs an event key."""

    code = "event_key_unspecified"


class SigningKeyMissingError(StepstoneError):
    """Serving functions in production mode needs a signing key."""

    code = "signing_key_unspecified"


class FunctionConfigInvalidError(StepstoneError):
    """`create_function` was given options the engine would refuse.

    Attributes:
        fn_id: The function's id as the user wrote it.
    """

    code = "function_config_invalid"
    is_retriable = False

    def __init__(self, message: str, fn_id: str = "") -> None:
        super().__init__(message)
        self.fn_id = fn_id


class FunctionNotFoundError(StepstoneError):
    """A call named a function that this app does not serve."""

    code = "function_not_found"


class BodyInvalidError(StepstoneError):
    """A request or response body could not be read."""

    code = "body_invalid"


class RegistrationFailedError(StepstoneError):
    """The engine refused a sync.

    Attributes:
        status: The engine's HTTP status (500 when it could not be reached).
    """

    code = "registration_failed"

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class UnstubbedStepError(StepstoneError):
    """`stepstone.testing` reached a step it cannot fake (wait_for_event, invoke) and no stub was given.

    Attributes:
        step_id: The step id as the user wrote it.
    """

    code = "unstubbed_step"

    def __init__(self, step_id: str) -> None:
        super().__init__(f"step {step_id!r} needs a stub: pass step_stubs={{{step_id!r}: <value>}}")
        self.step_id = step_id


def error_body(err: BaseException, stack: str | None) -> dict[str, Any]:
    """The wire form of an error: `{"name", "message", "stack", "code"}`."""
    if isinstance(err, StepError):
        return {"name": err.name, "message": err.message, "stack": err.stack, "code": err.code}
    code = err.code if isinstance(err, StepstoneError) else "unknown"
    return {"name": type(err).__name__, "message": str(err), "stack": stack, "code": code}


def is_retriable(err: BaseException) -> bool:
    """Whether the engine may retry after `err` (any error but a StepstoneError is retriable)."""
    return err.is_retriable if isinstance(err, StepstoneError) else True


class Interrupt(BaseException):
    """Control flow: stop the user's function here. Never escapes the SDK."""


class ReportInterrupt(Interrupt):
    """A sync function reached ops to report (206); `ops` are their wire dicts.

    Attributes:
        ops: The op dicts to answer with.
        error: The step's exception when an op is a StepError/StepFailed.
    """

    def __init__(self, ops: list[dict[str, Any]], error: BaseException | None = None) -> None:
        super().__init__()
        self.ops = ops
        self.error = error


class SkipInterrupt(Interrupt):
    """A sync function reached a new step while the engine targets another one."""

    def __init__(self, step_id: str) -> None:
        super().__init__(step_id)
        self.step_id = step_id


class EndInterrupt(Interrupt):
    """A sync function must stop with a ready outcome (stale dispatch, max runtime)."""

    def __init__(self, outcome: object) -> None:
        super().__init__()
        self.outcome = outcome
