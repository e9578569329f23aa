"""The context of one transaction script: the transaction, "now", the engine's shared parts, the events
the script emits, and the notes it leaves for the log.

A script never records an event itself (that would re-enter ingestion from inside a run's transition):
it puts the event in its `Work`'s outbox (`Work.emit`), and whoever runs the script drains the outbox
into ingestion before the transaction commits (`queue.executor.run_script`), so the events are stored,
and start their runs, atomically with what emitted them.

A script never logs what it does: the transaction may still roll back, or run again. It leaves
`Note`s on its `Work` instead, and the executor writes them once the store has committed
(`Executor.transact_handed`). A note is a few references; its text is formatted only if the log
takes the line.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Any

from stepstone.protocol import durations
from stepstone.server.core.clock import to_datetime
from stepstone.server.core.ids import ULIDS
from stepstone.server.core.observe import Fact, FactKind
from stepstone.server.core.settings import EngineSettings
from stepstone.server.functions.registry import Catalog, Registry
from stepstone.server.store.base import (
    AppsTx,
    EventsTx,
    FlowTx,
    LocksTx,
    PausesTx,
    QueueTx,
    RetentionTx,
    RunsTx,
    SettingsTx,
    Tx,
)
from stepstone.server.store.records import QueueItemRecord, RunRecord

_MAX_ERROR_TEXT = 300


@dataclass(frozen=True, slots=True)
class Note:
    """One log line about a run or a function, to write after the commit.

    `fields` become the record's `extra` (`action`, `run_id`, `function_id` (the slug), ...);
    `function_uuid` lets the executor add the app's name from its catalog.
    """

    level: int
    message: str
    args: tuple[Any, ...]
    fields: dict[str, Any]
    function_uuid: str


class Due:
    """When a retry is due, written as `in 15s at 2026-12-05T10:00:15.000Z` (formatted on demand)."""

    __slots__ = ("at", "now")

    def __init__(self, at: int, now: int) -> None:
        self.at, self.now = at, now

    def __str__(self) -> str:
        return f"in {span(self.at - self.now)} at {durations.format_time(to_datetime(self.at))}"


def span(millis: int) -> str:
    """A duration as people write it: `850ms`, `15s`, `2m30s`, `1h`, `1d6h` (two units at most)."""
    if millis < 1000:
        return f"{max(millis, 0)}ms"
    seconds = millis // 1000
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts[:2])


def error_text(error: dict[str, Any] | None) -> str:
    """`Name: message` of an error body, the message cut to a few hundred characters."""
    if not error:
        return "Error"
    message = str(error.get("message") or error.get("error") or "")
    if len(message) > _MAX_ERROR_TEXT:
        message = message[:_MAX_ERROR_TEXT] + "…"
    name = str(error.get("name") or "Error")
    return f"{name}: {message}" if message else name


@dataclass(frozen=True)
class Services:
    """The engine's parts a script may use, the same for every script: the function catalog's cache,
    the settings, and the source of randomness (seeded in tests)."""

    registry: Registry
    settings: EngineSettings
    rng: random.Random = field(default_factory=random.Random)


@dataclass
class Work:
    """What a transaction script may use. `now` is the engine clock, read once for the script.

    A worker that passes `owner` may take up to `handoff_limit` new call items that are due now as
    *handoffs*: they are written already leased to it, and it runs them next without waiting for a
    poll or a claim (the next call of the run it is running; the first calls of the runs an event
    starts).
    """

    tx: Tx
    now: int
    services: Services
    owner: str | None = None
    lease_ms: int = 30_000
    handoff_limit: int = 1
    handoffs: list[QueueItemRecord] = field(default_factory=list)
    woke: bool = False  # an item due now was enqueued for other workers
    discovered: set[str] = field(default_factory=set)  # runs given a discovery call in this script
    notes: list[Note] = field(default_factory=list)  # written to the log once the script committed
    facts: list[Fact] = field(default_factory=list)  # handed to the observers once the script committed
    call_started: int | None = None  # applying an app's answer: when the call went out (engine clock)
    outbox: list[dict[str, Any]] = field(default_factory=list)  # events to record before the commit
    _catalog: Catalog | None = None
    _lease_until: int | None = None

    # The store, one concern at a time: a script names what it touches (`work.runs.update_run(...)`), and
    # the type checker holds it to that protocol. All are the same transaction.
    @property
    def apps(self) -> AppsTx:
        return self.tx

    @property
    def events(self) -> EventsTx:
        return self.tx

    @property
    def runs(self) -> RunsTx:
        return self.tx

    @property
    def queue(self) -> QueueTx:
        return self.tx

    @property
    def pauses(self) -> PausesTx:
        return self.tx

    @property
    def locks(self) -> LocksTx:
        return self.tx

    @property
    def flow(self) -> FlowTx:
        return self.tx

    @property
    def retention(self) -> RetentionTx:
        return self.tx

    @property
    def kv(self) -> SettingsTx:
        """The engine's own settings stored in the database (e.g. the dev clock's offset)."""
        return self.tx

    @property
    def settings(self) -> EngineSettings:
        return self.services.settings

    @property
    def rng(self) -> random.Random:
        return self.services.rng

    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = self.services.registry.catalog(self.tx)
        return self._catalog

    def known_catalog(self) -> Catalog:
        """The catalog this script read, else the last one this process built: no query, maybe stale
        (for checks that a later one repeats, e.g. a paused function's calls, held again when claimed)."""
        return self._catalog if self._catalog is not None else self.services.registry.last()

    def emit(self, *events: dict[str, Any]) -> None:
        """Record these events (wire payloads) before the transaction commits, as the engine's own."""
        self.outbox.extend(events)

    def new_id(self) -> str:
        return ULIDS.new(self.now)

    def lease_until(self) -> int:
        """When a lease taken now ends, on the database's clock (read once per script)."""
        if self._lease_until is None:
            self._lease_until = self.tx.lease_clock_ms() + self.lease_ms
        return self._lease_until

    def observe(self, kind: FactKind, run: RunRecord | None = None, *, fn: str = "", **fields: Any) -> None:
        """Tell the observers (metrics, traces) about `run` (or function `fn`) once the script committed."""
        if run is not None:
            self.facts.append(Fact(kind, fn=run.function_slug, run_id=run.id, at_ms=self.now, **fields))
        else:
            self.facts.append(Fact(kind, fn=fn, at_ms=self.now, **fields))

    def note_run(
        self, run: RunRecord, action: str, what: str, *args: Any, level: int = logging.INFO, **fields: Any
    ) -> None:
        """Note that `what` (a %-format of `args`) happened to `run`: `<function>: run <id> <what>`."""
        self.notes.append(
            Note(
                level,
                "%s: run %s " + what,
                (run.function_slug, run.id, *args),
                {
                    "action": action,
                    "run_id": run.id,
                    "function_id": run.function_slug,
                    "event_id": run.event_id,
                    "status": str(run.status),
                    **fields,
                },
                run.function_id,
            )
        )

    def note_attempt(
        self,
        run: RunRecord,
        step: str | None,
        attempt: int,
        max_attempts: int,
        error: dict[str, Any] | None,
        *,
        retry_at: int | None,
        hashed_id: str | None = None,
    ) -> None:
        """Note a failed attempt (0-based `attempt`) of a step, or of the function's own code (`step` None).

        With `retry_at` the next attempt is due then (`step.retrying`); without, the step failed for
        good (`step.failed`): no attempt left, or an error that is not retried.
        """
        text = error_text(error)
        number = attempt + 1
        # User text (the step id, the error) goes in as arguments, never into the format string.
        what = "attempt %d of %d failed: %s" if step is None else 'step "%s" failed (attempt %d of %d): %s'
        args: list[Any] = [number, max_attempts, text] if step is None else [step, number, max_attempts, text]
        action = "step.retrying" if retry_at is not None else "step.failed"
        if retry_at is not None:
            what += "; retrying %s"
            args.append(Due(retry_at, self.now))
        else:
            what += "; no attempts left" if number >= max_attempts else "; not retried"
        self.note_run(run, action, what, *args, step_id=step, attempt=number, error=text)
        self.observe(
            FactKind.ATTEMPT_FAILED,
            run,
            step_id=step,
            hashed_id=hashed_id,
            attempt=attempt,
            error=text,
            retry_at_ms=retry_at,
            started_ms=self.call_started,
        )

    def note_unreachable(self, run: RunRecord, error: dict[str, Any], retry_at: int, *, first: bool) -> None:
        """Note that the app could not be reached (at INFO the first time in an outage, then at DEBUG)."""
        text = error_text(error)
        what = "cannot reach the app: %s; trying again %s (not counted as an attempt)"
        level = logging.INFO if first else logging.DEBUG
        self.note_run(run, "app.unreachable", what, text, Due(retry_at, self.now), level=level, error=text)
