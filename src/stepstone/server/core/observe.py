"""What the engine tells its observers (Prometheus metrics in `core.metrics`, OpenTelemetry traces in
`core.tracing`): facts about work that committed, calls to apps, claims, and store transactions.

Observers receive plain values, never records, so this module sits at the bottom of the rooms and
imports nothing of the server. A transaction script collects its `Fact`s on its `Work`
(`Work.observe`); the executor hands them to the observers once the store committed, so nothing
counts or traces a transaction that rolled back or ran again.

An observer must be cheap and must not raise: it runs on the engine's hot path. `Observers` fans
every call out to several and turns an observer's exception into one logged line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger("stepstone.observe")


class FactKind(StrEnum):
    EVENT_RECEIVED = "event.received"  # `status`: the event's name
    RUN_SCHEDULED = "run.scheduled"  # a run was created (Queued)
    RUN_STARTED = "run.started"  # its first call is going out
    RUN_ENDED = "run.ended"  # `status`: Completed, Failed, Cancelled, Skipped; `started_ms`: created at
    STEP_ENDED = "step.ended"  # a step's outcome was stored: `status` completed/failed/...; `started_ms`
    STEP_WAITING = "step.waiting"  # a sleep, wait or invoke began: `op`, `deadline_ms`
    ATTEMPT_FAILED = "attempt.failed"  # an attempt of a step (or of the function's code) failed; `retry_at_ms`
    CALL_SCHEDULED = "call.scheduled"  # a call to the app was enqueued (a retry counts again)
    FLOW_HELD = "flow.held"  # `status`: concurrency, throttle, rate_limit, debounce, batch, idempotency, ...
    SIGNAL_SENT = "signal.sent"  # `status`: resumed (a run waited for it: `fn`, `run_id`) or no_waiter


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing that happened in a committed transaction; the fields a kind does not use stay empty."""

    kind: FactKind
    fn: str = ""  # the function's id as registered (its slug)
    run_id: str = ""
    status: str = ""
    at_ms: int = 0  # when, on the engine clock
    started_ms: int | None = None  # when the run or step began (for durations and spans)
    step_id: str | None = None  # the step id as the user wrote it
    hashed_id: str | None = None
    op: str | None = None  # the step's opcode: StepRun, Sleep, WaitForEvent, InvokeFunction, ...
    attempt: int = 0  # 0-based
    error: str | None = None  # `Name: message`, cut short
    deadline_ms: int | None = None  # a sleep's wake time, a wait's or invoke's timeout
    retry_at_ms: int | None = None  # when a failed attempt is tried again (None: not retried)


@dataclass(frozen=True, slots=True)
class Call:
    """A call the engine makes to an app: one attempt at a run's next step (or at discovering it)."""

    fn: str  # the function's slug
    run_id: str
    item_id: str
    generation: int
    target: str  # the hashed step id the call targets; "" for a discovery call
    attempt: int  # 0-based
    url: str


@dataclass(frozen=True, slots=True)
class EngineRequest:
    """A request the engine made for a step of a call's answer (`step.ai.infer`, `step.fetch`)."""

    step_id: str  # as the user wrote it
    hashed_id: str
    kind: str  # "ai" (AIGateway) or "fetch" (Gateway)
    method: str
    url: str  # without its query or user info: credentials travel there
    status: int | None  # the answer's status; None when none came (or the op was invalid)
    error: str | None  # `Name: message` when the step's attempt failed
    perf_started: float  # `time.perf_counter()` when it went out
    seconds: float


# The call the current task is making, from just before the request until its outcome is stored: a
# transaction observed meanwhile belongs to it (the store's observer runs in the awaiting task).
CURRENT_CALL: ContextVar[Call | None] = ContextVar("stepstone_current_call", default=None)


class Observer:
    """Watches the engine; this base class ignores everything, subclasses override what they watch.

    `transaction` may be called from the store's threads; every other method on the event loop's thread.
    """

    def committed(self, facts: Sequence[Fact]) -> None:
        """Facts of a transaction that committed, in the order the script noted them."""

    def claimed(self, fn: str, waited_seconds: float) -> None:
        """A worker took a due queue item (claimed, or handed over): `waited_seconds` since it came due."""

    def call_started(self, call: Call, headers: dict[str, str]) -> None:
        """A call is about to go out; an observer may add headers (W3C `traceparent`)."""

    def call_ended(self, call: Call, seconds: float, outcome: str) -> None:
        """The app answered (or did not): `outcome` is one of `outcomes.OUTCOME_NAMES`."""

    def engine_request(self, call: Call, request: EngineRequest) -> None:
        """The engine made a request for a step of `call`'s answer (after `call_ended`, before the transaction)."""

    def transaction(self, kind: str, seconds: float, error: str | None) -> None:
        """A store transaction (`kind` "write" or "read") took `seconds`; `error` names a store error class."""


class Observers(Observer):
    """Several observers as one. An observer that raises is logged (once per method) and otherwise ignored."""

    def __init__(self, observers: Sequence[Observer] = ()) -> None:
        self.observers = list(observers)
        self._complained: set[tuple[int, str]] = set()

    def add(self, observer: Observer) -> None:
        self.observers.append(observer)

    def _failed(self, observer: Observer, method: str) -> None:
        key = (id(observer), method)
        if key not in self._complained:
            self._complained.add(key)
            log.exception(
                "%s.%s failed (reported once; the engine goes on)",
                type(observer).__name__,
                method,
                extra={"action": "observer.failed"},
            )

    def committed(self, facts: Sequence[Fact]) -> None:
        for observer in self.observers:
            try:
                observer.committed(facts)
            except Exception:
                self._failed(observer, "committed")

    def claimed(self, fn: str, waited_seconds: float) -> None:
        for observer in self.observers:
            try:
                observer.claimed(fn, waited_seconds)
            except Exception:
                self._failed(observer, "claimed")

    def call_started(self, call: Call, headers: dict[str, str]) -> None:
        for observer in self.observers:
            try:
                observer.call_started(call, headers)
            except Exception:
                self._failed(observer, "call_started")

    def call_ended(self, call: Call, seconds: float, outcome: str) -> None:
        for observer in self.observers:
            try:
                observer.call_ended(call, seconds, outcome)
            except Exception:
                self._failed(observer, "call_ended")

    def engine_request(self, call: Call, request: EngineRequest) -> None:
        for observer in self.observers:
            try:
                observer.engine_request(call, request)
            except Exception:
                self._failed(observer, "engine_request")

    def transaction(self, kind: str, seconds: float, error: str | None) -> None:
        for observer in self.observers:
            try:
                observer.transaction(kind, seconds, error)
            except Exception:
                self._failed(observer, "transaction")
