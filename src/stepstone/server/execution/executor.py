"""The executor: runs one queue item — a call to the app, or a timer — through its transitions.

A call reads what it needs and checks its lease in one transaction, sends the request, and
applies the answer in a second transaction. Between the two the worker holds only the lease:
no database transaction stays open while the app works.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from stepstone.protocol import opcodes
from stepstone.server.core import clock, observe
from stepstone.server.core.settings import EngineSettings
from stepstone.server.core.transport import Transport, TransportError
from stepstone.server.execution import calls, gateway
from stepstone.server.functions.registry import Registry
from stepstone.server.intake import batching, crons, debouncing, ingest
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Note, Services, Work
from stepstone.server.runs import outcomes, pauses, transitions
from stepstone.server.runs.transitions import CallPlan
from stepstone.server.store.base import Store, Tx
from stepstone.server.store.records import ItemKind, QueueItemRecord

T = TypeVar("T")
log = logging.getLogger("stepstone.executor")
runs_log = logging.getLogger("stepstone.runs")

_TIMERS: dict[ItemKind, Callable[[Work, QueueItemRecord], None]] = {
    ItemKind.WAKE: transitions.wake,
    ItemKind.PAUSE_TIMEOUT: pauses.expire,
    ItemKind.START_TIMEOUT: transitions.run_timeout,
    ItemKind.FINISH_TIMEOUT: transitions.run_timeout,
    ItemKind.CRON: crons.tick,
    ItemKind.DEBOUNCE: debouncing.fire,
    ItemKind.BATCH: batching.fire,
}


Handed = tuple[QueueItemRecord, CallPlan | None]
Next = Handed | None


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


def run_script(script: Callable[[Work], T], work: Work) -> T:
    """Run `script`, then record the events it emitted (and theirs, in turn) in the same transaction."""
    result = script(work)
    ingest.drain(work)
    return result


class Executor:
    """Runs transaction scripts with a fresh `Work`, and drives calls to apps."""

    def __init__(
        self,
        store: Store,
        engine_clock: clock.Clock,
        registry: Registry,
        settings: EngineSettings,
        transport: Transport,
        *,
        notify: Callable[[], None] = lambda: None,
        rng: random.Random | None = None,
        observer: observe.Observer | None = None,
    ) -> None:
        self.store = store
        self.clock = engine_clock
        self.registry = registry
        self.settings = settings
        self.transport = transport
        self.notify = notify
        self.rng = rng or random.Random()
        self.services = Services(registry, settings, self.rng)
        self.observer = observer or observe.Observer()
        # Calls in flight: when the step the app runs now began (the call's start, then each checkpoint's time)
        self.call_marks: dict[str, int] = {}
        # Calls in flight: what they are and the context their observers saw (a checkpoint's transaction
        # runs in a copy of it, so that its trace span is the call's child like the call's own transactions)
        self._call_contexts: dict[str, tuple[observe.Call, contextvars.Context]] = {}
        self._app_slots: dict[str, asyncio.Semaphore] = {}

    async def transact(
        self, script: Callable[[Work], T], *, owner: str | None = None, call_started: int | None = None
    ) -> tuple[T, Next]:
        """Run `script` in a transaction; return its result and the call it handed to `owner`, if any.

        `call_started`: the script applies an app's answer to a call that went out then (engine clock).
        """
        result, handed = await self.transact_handed(script, owner=owner, limit=1, call_started=call_started)
        return result, (handed[0] if handed else None)

    async def transact_handed(
        self, script: Callable[[Work], T], *, owner: str | None, limit: int, call_started: int | None = None
    ) -> tuple[T, list[Handed]]:
        """Run `script` in a transaction; up to `limit` due calls it enqueues are handed to `owner`, each with
        its plan read in the same transaction (None when its run already ended), once the outbox is drained:
        the runs the emitted events started may hand over calls too."""

        # The notes travel back with the result: a script that rolled back, or ran again, leaves none.
        def run(tx: Tx) -> tuple[T, list[Handed], bool, list[Note], list[observe.Fact]]:
            work = Work(
                tx=tx,
                now=self.clock.now_ms(),
                services=self.services,
                owner=owner,
                lease_ms=_ms(self.settings.lease),
                handoff_limit=limit,
                call_started=call_started,
            )
            result = run_script(script, work)
            handed = [(item, transitions.prepare_call(work, item)) for item in work.handoffs]
            if work.woke:
                tx.notify_work()
            return result, handed, work.woke, work.notes, work.facts

        result, handed, woke, notes, facts = await self.store.transact(run)  # returns once committed
        if woke:
            self.notify()
        if notes:
            self.write_notes(notes)
        if facts:
            self.observer.committed(facts)
        return result, handed

    async def checkpoint(self, run_id: str, item_id: str, generation: int | None, ops: list[opcodes.Op]) -> bool:
        """Store steps an SDK ran inside a call still in flight (`transitions.apply_checkpoint`); False when
        the call is stale. The steps ran since the call began, or since its previous checkpoint."""
        marks = self.call_marks
        applied = self.transact(
            lambda work: transitions.apply_checkpoint(work, run_id, item_id, generation, ops),
            call_started=marks.get(item_id),
        )
        in_flight = self._call_contexts.get(item_id)
        if in_flight is not None and in_flight[0].run_id == run_id and generation in (None, in_flight[0].generation):
            accepted, _ = await asyncio.create_task(applied, context=in_flight[1].copy())
        else:
            accepted, _ = await applied
        if accepted and item_id in marks:
            marks[item_id] = self.clock.now_ms()
        return accepted

    async def renew_leases(self, owner: str, item_ids: list[str]) -> None:
        """Extend `owner`'s leases on these items by the lease period."""
        lease_ms = _ms(self.settings.lease)
        await self.store.transact(lambda tx: queueing.renew(tx, owner, item_ids, lease_ms))

    async def release(self, item_id: str, owner: str) -> None:
        """Let the item be claimed again now."""
        await self.store.transact(lambda tx: queueing.release(tx, item_id, owner))

    async def release_all(self, owner: str | None) -> int:
        """Release every lease `owner` holds (None: all leases); returns how many."""
        return await self.store.transact(lambda tx: queueing.release_all(tx, owner))

    def write_notes(self, notes: list[Note]) -> None:
        """Log what a committed script noted, with the app's name (from the cached catalog) as `app_id`."""
        for note in notes:
            if runs_log.isEnabledFor(note.level):
                app = self.registry.app_name(note.function_uuid)
                extra = {**note.fields, "app_id": app} if app else note.fields
                runs_log.log(note.level, note.message, *note.args, extra=extra)

    async def process(self, item: QueueItemRecord, *, owner: str, plan: CallPlan | None = None) -> Next:
        """Run one leased item; return the next item this worker should run (already leased), if any.

        When the next item is a call, its plan is read in the same transaction that created it, so a
        step costs one write transaction, not two.
        """
        if item.kind == ItemKind.CALL:
            return await self._call(item, owner, plan)
        timer = _TIMERS[item.kind]

        _, following = await self.transact(lambda work: timer(work, item), owner=owner)
        return following

    def _slots(self, app_id: str) -> asyncio.Semaphore:
        slots = self._app_slots.get(app_id)
        if slots is None:
            slots = self._app_slots[app_id] = asyncio.Semaphore(self.settings.app_concurrency)
        return slots

    async def _call(self, item: QueueItemRecord, owner: str, plan: CallPlan | None) -> Next:
        if plan is None:
            plan, _ = await self.transact(lambda work: transitions.prepare_call(work, item))
        if plan is None:
            return None
        body = calls.build_body(plan, item, self.settings)
        headers = calls.build_headers(plan, item, body, self.settings)
        url = calls.call_url(plan.function.url, item.target)
        call = observe.Call(plan.function.slug, plan.run.id, item.id, item.generation, item.target, item.attempt, url)
        token = observe.CURRENT_CALL.set(call)
        try:
            return await self._observed_call(item, owner, plan, call, url, body, headers)
        finally:
            observe.CURRENT_CALL.reset(token)

    async def _observed_call(
        self,
        item: QueueItemRecord,
        owner: str,
        plan: CallPlan,
        call: observe.Call,
        url: str,
        body: bytes,
        headers: dict[str, str],
    ) -> Next:
        self.observer.call_started(call, headers)
        started = time.perf_counter()
        self.call_marks[item.id] = self.clock.now_ms()
        self._call_contexts[item.id] = (call, contextvars.copy_context())
        try:
            outcome = await self._send(plan.function.record.app_id, url, body, headers)
        finally:
            mark = self.call_marks.pop(item.id)
            del self._call_contexts[item.id]
        self.observer.call_ended(call, time.perf_counter() - started, outcomes.outcome_name(outcome))
        if isinstance(outcome, outcomes.Ops):  # `step.ai.infer`, `step.fetch`: the engine makes their requests
            ops, carried_out, requests = await gateway.carry_out_all(
                self.transport,
                outcome.ops,
                timeout=self.settings.app_request_timeout.total_seconds(),
                max_bytes=self.settings.limits.max_response_bytes,
            )
            for request in requests:
                self.observer.engine_request(call, request)
            outcome = dataclasses.replace(outcome, ops=ops, carried_out=carried_out)
        if isinstance(outcome, outcomes.Failed):
            # The run's log line (`step.retrying`, `run.failed`) follows once the outcome is stored.
            log.debug(
                "call failed: %s: %s",
                outcome.error.get("name"),
                outcome.error.get("message"),
                extra={"action": "call.failed", "run_id": plan.run.id, "function_id": plan.function.slug},
            )

        def apply(work: Work) -> None:
            transitions.apply_outcome(work, item, plan, outcome)
            if item.constrained:
                work.woke = True  # a concurrency slot may have freed: every engine claims again

        _, following = await self.transact(apply, owner=owner, call_started=mark)
        return following

    async def _send(self, app_id: str, url: str, body: bytes, headers: dict[str, str]) -> outcomes.Outcome:
        limits = self.settings.limits
        async with self._slots(app_id):
            try:
                response = await self.transport.request(
                    "POST",
                    url,
                    body,
                    headers,
                    timeout=self.settings.app_request_timeout.total_seconds(),
                    max_bytes=limits.max_response_bytes,
                )
            except TransportError as err:
                return outcomes.from_transport_error(err)
        keys = () if self.settings.dev else self.settings.signing_keys
        return outcomes.interpret(response, now_ms=self.clock.now_ms(), signing_keys=keys)
