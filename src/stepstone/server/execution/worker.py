"""The queue worker: claims due items under a lease, runs them, and keeps their leases alive.

A worker claims as many items as it has free slots. While an app call is in flight its lease is
extended every third of the lease; a worker that dies stops extending, its leases run out and
any worker (after a restart, this one) claims the items again. It sleeps until an item comes
due, it is woken (new work, a clock jump), or a poll interval passes, whichever is first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import timedelta

from stepstone.server.core import clock
from stepstone.server.execution.executor import Executor
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Work
from stepstone.server.runs import transitions
from stepstone.server.runs.transitions import CallPlan
from stepstone.server.store.base import StoreError
from stepstone.server.store.records import ItemKind, QueueItemRecord

log = logging.getLogger("stepstone.worker")


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


class Worker:
    def __init__(self, executor: Executor, *, slots: int) -> None:
        self.executor = executor
        self.slots = slots
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.in_flight: dict[str, QueueItemRecord] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._cursor = queueing.Cursor()

    def wake(self) -> None:
        """Claim again now (thread-safe only from the event loop's thread)."""
        self._wake.set()

    async def run(self) -> None:
        extender = asyncio.create_task(self._extend_leases())
        try:
            while not self._stopping:
                free = self.slots - len(self.in_flight)
                next_due = None
                if free > 0:
                    try:
                        items, next_due = await self._claim(free)
                    except StoreError as err:  # the store cannot serve now: back off a poll interval, claim again
                        pause = self._sleep_seconds(None)
                        log.warning(
                            "could not claim queue items (%s); trying again in %g s",
                            err,
                            pause,
                            extra={"action": "worker.claim_failed"},
                        )
                        await asyncio.sleep(pause)
                        continue
                    for item, plan in items:
                        self.start(item, plan)
                    if len(items) == free:
                        continue
                await clock.sleep_until_woken(self._wake, self._sleep_seconds(next_due))
        finally:
            extender.cancel()

    def _sleep_seconds(self, next_due: int | None) -> float:
        poll = self.executor.settings.poll_interval.total_seconds()
        if next_due is None:
            return poll
        return max(0.0, min(poll, (next_due - self.executor.clock.now_ms()) / 1000))

    async def _claim(self, limit: int) -> tuple[list[tuple[QueueItemRecord, CallPlan | None]], int | None]:
        """Claim due items; a call's plan is read in the same transaction (a call whose run ended is dropped)."""

        def claim(work: Work) -> tuple[list[tuple[QueueItemRecord, CallPlan | None]], int | None]:
            items = queueing.claim(work, owner=self.owner, limit=limit, cursor=self._cursor)
            claimed: list[tuple[QueueItemRecord, CallPlan | None]] = []
            for item in items:
                plan = transitions.prepare_call(work, item) if item.kind == ItemKind.CALL else None
                if item.kind != ItemKind.CALL or plan is not None:
                    claimed.append((item, plan))
            return claimed, work.queue.next_due_at()

        result, _ = await self.executor.transact(claim)
        return result

    def free_slots(self) -> int:
        """How many more items this worker takes now (none while it stops)."""
        return 0 if self._stopping else max(0, self.slots - len(self.in_flight))

    def start(self, item: QueueItemRecord, plan: CallPlan | None) -> None:
        """Run a leased item (claimed, or handed over by the transaction that created it)."""
        self._observe_claim(item)
        self.in_flight[item.id] = item
        self._idle.clear()
        task = asyncio.create_task(self._process(item, plan))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _observe_claim(self, item: QueueItemRecord) -> None:
        executor = self.executor
        waited = max(executor.clock.now_ms() - item.run_at, 0) / 1000
        executor.observer.claimed(executor.registry.last().slug_of(item.function_id), waited)

    async def _process(self, item: QueueItemRecord, plan: CallPlan | None) -> None:
        current: QueueItemRecord | None = item
        try:
            while current is not None:
                if current.id != item.id:
                    self._observe_claim(current)
                    self.in_flight[current.id] = current
                try:
                    following = await self.executor.process(current, owner=self.owner, plan=plan)
                except StoreError as err:
                    log.warning(
                        "database trouble while running a queue item (%s); it will run again",
                        err,
                        extra={"action": "worker.item_failed", "item_id": current.id, "run_id": current.run_id},
                    )
                    await self._release(current)
                    following = None
                except Exception:
                    log.exception(
                        "engine error while running a queue item; it will be retried when its lease ends",
                        extra={"action": "worker.item_failed", "item_id": current.id, "run_id": current.run_id},
                    )
                    following = None
                self.in_flight.pop(current.id, None)
                current, plan = following if following is not None and not self._stopping else (None, None)
        finally:
            self.in_flight.pop(item.id, None)
            if not self.in_flight:
                self._idle.set()
            self._wake.set()

    async def _extend_leases(self) -> None:
        settings = self.executor.settings
        interval = settings.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            if not self.in_flight:
                continue
            try:
                await self.executor.renew_leases(self.owner, list(self.in_flight))
            except Exception:
                log.exception("could not extend leases", extra={"action": "worker.extend_failed"})

    async def _release(self, item: QueueItemRecord) -> None:
        """Best effort: let the item be claimed again now rather than when its lease ends."""
        with contextlib.suppress(StoreError):  # else the lease ends on its own
            await self.executor.release(item.id, self.owner)

    async def stop(self, timeout: timedelta) -> None:
        """Stop claiming, let in-flight items finish for up to `timeout`, then release the rest."""
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout.total_seconds())
        except TimeoutError:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        released = await self.executor.release_all(self.owner)
        if released:
            log.info("released %d leases", released, extra={"action": "worker.released"})
