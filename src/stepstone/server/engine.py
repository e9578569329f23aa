"""The engine: one object that owns the store, the clock, the worker and the app syncer.

Several engines can live in one process (tests start three); nothing here is global.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from stepstone.protocol import config as wire
from stepstone.protocol import events as wire_events
from stepstone.protocol import opcodes
from stepstone.server.apps import discovery, registration
from stepstone.server.apps.syncer import Syncer, normalize_url
from stepstone.server.core import clock, observe, tracing
from stepstone.server.core.errors import EngineError
from stepstone.server.core.metrics import Metrics
from stepstone.server.core.settings import EngineSettings
from stepstone.server.core.transport import AiohttpTransport, Transport
from stepstone.server.execution import bulk, reruns, retention
from stepstone.server.execution.executor import Executor
from stepstone.server.execution.worker import Worker
from stepstone.server.functions import control
from stepstone.server.functions.registry import Registry
from stepstone.server.intake import ingest
from stepstone.server.queue.work import Work
from stepstone.server.runs import lifecycle, pauses
from stepstone.server.runs.transitions import CallPlan
from stepstone.server.store import migrations
from stepstone.server.store.base import Store, StoreError, Tx
from stepstone.server.store.observed import ObservedStore
from stepstone.server.store.records import (
    AppRecord,
    BulkJobRecord,
    FunctionRecord,
    ItemKind,
    QueueItemRecord,
    RunRecord,
    RunStatus,
    SkipRecord,
)

log = logging.getLogger("stepstone.engine")
CLOCK_OFFSET = "clock_offset_ms"


class RunNotFoundError(EngineError, LookupError):
    """No run has this id (or its function is no longer registered)."""


class RunEndedError(EngineError, RuntimeError):
    """The run already ended."""


class FunctionNotFoundError(EngineError, LookupError):
    """No active function has this id."""


class AppNotFoundError(EngineError, LookupError):
    """No listed app has this id or name."""


class SyncError(EngineError, RuntimeError):
    """An app did not sync: the message says why (it did not answer, refused, or could not register)."""


@dataclass
class Invocation:
    """What an invoke through the API did: the run it started, or why none started (yet)."""

    event_id: str  # the internal id of the `inngest/function.invoked` event recorded
    run: RunRecord | None  # None when flow control skipped or holds the event; Skipped for a singleton skip
    skipped: list[SkipRecord]  # rate limit, idempotency
    holds: list[tuple[str, str, int | None]]  # debounce, batch: (function slug, why, until)


class Engine:
    def __init__(
        self,
        store: Store,
        settings: EngineSettings,
        *,
        engine_clock: clock.Clock | None = None,
        transport: Transport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        # Metrics and traces watch the engine (`core.observe`): committed facts, calls, store transactions.
        self.observers = observe.Observers()
        self.metrics = Metrics() if settings.metrics else None
        if self.metrics is not None:
            self.observers.add(self.metrics)
        self.backend = store  # the store itself; `store` is it, measured for the observers
        self.store: Store = ObservedStore(store, self.observers)
        store = self.store
        self.settings = settings
        self.clock: clock.Clock = engine_clock or (clock.OffsetClock() if settings.dev else clock.SystemClock())
        self.tracer = tracing.from_environment(settings, self.clock)  # None unless OTEL_* variables ask for traces
        if self.tracer is not None:
            self.observers.add(self.tracer)
        self.registry = Registry()
        self.transport = transport or AiohttpTransport()
        self.executor = Executor(
            store,
            self.clock,
            self.registry,
            settings,
            self.transport,
            notify=self.wake,
            rng=rng,
            observer=self.observers,
        )
        self.worker = Worker(self.executor, slots=settings.workers)
        self.syncer = Syncer(settings, self.transport, settings.sync_urls)
        self.bulk = bulk.BulkRunner(self.executor)
        self.clock.subscribe(self.wake)
        self._tasks: list[asyncio.Task[Any]] = []
        self.ready = False
        self.draining = False  # stopping: not ready any more, finishing what is in flight
        self.requests_in_flight = 0  # HTTP requests being answered (counted by the API's outer layer)
        store.set_quiet_check(self.quiet)

    async def store_problem(self, timeout: float = 5.0) -> str | None:
        """Why the store cannot serve this engine now (no answer, a schema not current), or None."""
        try:
            status = await asyncio.wait_for(asyncio.to_thread(self.backend.schema_status), timeout)
        except TimeoutError:
            return f"the store did not answer within {timeout:g} s"
        except StoreError as err:  # its messages hold no secret (store.errors)
            return f"the store does not answer: {err}"
        if status.current > status.latest:
            return migrations.too_new(status.current, status.latest, "the database")
        if status.pending:
            return f"the database needs `stepstone db upgrade`: {status.describe()}"
        return None

    async def scrape_metrics(self, accept: str | None) -> tuple[bytes, str]:
        """The metrics for a scrape: the queue's gauges read from the store now, then every metric rendered."""
        metrics = self.metrics
        if metrics is None:
            raise RuntimeError("metrics are off")
        now = self.clock.now_ms()
        rows = await self.store.read(lambda tx: tx.queue_gauges(now))
        catalog = self.registry.last()
        metrics.set_queue(
            [(catalog.slug_of(function_id), is_call, leased, count) for function_id, is_call, leased, count in rows]
        )
        calls = sum(1 for item in self.worker.in_flight.values() if item.kind == ItemKind.CALL)
        metrics.set_engine(calls, len(self.worker.in_flight))
        # Rendering a few thousand lines takes milliseconds: not on the loop that drives the runs.
        return await asyncio.to_thread(metrics.exposition, accept)

    def quiet(self) -> bool:
        """At most one call to an app and one HTTP request in flight: a lone run, as good as idle."""
        return len(self.worker.in_flight) <= 1 and self.requests_in_flight <= 1

    def wake(self) -> None:
        self.worker.wake()

    async def start(self, *, release_all_leases: bool = False) -> None:
        """Start working the queue; `release_all_leases` when no other engine can hold one (SQLite)."""
        if release_all_leases:
            released = await self.executor.release_all(None)
            if released:
                log.info("released %d leases left by a previous engine", released, extra={"action": "engine.recovered"})
        await self.refresh_clock()
        self._tasks.append(asyncio.create_task(self.worker.run(), name="stepstone-worker"))
        self._tasks.append(asyncio.create_task(self._refresh_loop(), name="stepstone-clock"))
        self._tasks.append(asyncio.create_task(self.syncer.run(), name="stepstone-syncer"))
        if self.settings.dev and self.settings.discovery_ports:
            log.info(
                "no app named (-u, --app): looking for apps on 127.0.0.1 ports %s until one is registered "
                "(--no-discovery turns this off)",
                discovery.describe_ports(self.settings.discovery_ports),
                extra={"action": "discovery.started"},
            )
            scan = discovery.Discovery(self.settings, self.transport, self.store, self.syncer)
            self._tasks.append(asyncio.create_task(scan.run(), name="stepstone-discovery"))
        self._tasks.append(asyncio.create_task(self.store.listen(self.wake), name="stepstone-listen"))
        self._tasks.append(asyncio.create_task(retention.run_forever(self.executor), name="stepstone-retention"))
        self._tasks.append(asyncio.create_task(self.bulk.run_forever(), name="stepstone-bulk"))
        self.ready = True

    async def drain(self) -> None:
        """Answer not-ready (`/health`: draining), stop claiming, let work in flight finish for up to the drain
        timeout, and release what is left for another engine. The API keeps answering meanwhile: events are
        stored, and apps in the middle of a call still checkpoint."""
        self.ready = False
        self.draining = True
        await self.worker.stop(self.settings.drain_timeout)

    async def stop(self) -> None:
        """Drain (if not drained already), then stop the background tasks and close connections."""
        await self.drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.transport.close()
        if self.tracer is not None:  # the spans of the work just drained go out before the process ends
            await asyncio.to_thread(self.tracer.close)

    async def refresh_clock(self) -> None:
        if isinstance(self.clock, clock.OffsetClock):
            value = await self.store.read(lambda tx: tx.get_setting(CLOCK_OFFSET))
            self.clock.set_offset(int(value or 0))

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.poll_interval.total_seconds())
            try:
                await self.refresh_clock()
            except Exception:
                log.exception("could not read the clock offset", extra={"action": "engine.clock_failed"})

    async def advance_clock(self, millis: int) -> int:
        """Dev mode: move the engine clock forward for every engine sharing the store; return the offset."""
        if not isinstance(self.clock, clock.OffsetClock):
            raise RuntimeError("this engine's clock cannot be moved")

        def advance(work: Work) -> int:
            offset = int(work.kv.get_setting(CLOCK_OFFSET) or 0) + millis
            work.kv.set_setting(CLOCK_OFFSET, str(offset))
            return offset

        offset, _ = await self.executor.transact(advance)
        self.clock.set_offset(offset)
        return offset

    async def send_events(
        self, payloads: list[dict[str, Any]], internal_ids: list[str], delays: list[int] | None = None
    ) -> tuple[list[str], Callable[[], Awaitable[None]]]:
        """Store validated events and what they trigger (`delays` later); return their internal ids and `dispatch`.

        The transaction leases the first calls of the new runs to this engine's worker; awaiting
        `dispatch()` starts them. The event API awaits it once its answer is written, so a sender's
        `send` returns before the functions it triggered start, as with Inngest (the official SDKs'
        tests rely on that order). Calls not handed over woke the worker already
        (`Executor.transact_handed`); handed calls never dispatched stay leased until the lease ends.
        """

        record = functools.partial(
            ingest.record_events, payloads=payloads, source="api", internal_ids=internal_ids, delays=delays
        )
        stored, handed = await self.executor.transact_handed(
            record, owner=self.worker.owner, limit=self.worker.free_slots()
        )
        return [event.internal_id for event in stored], self._dispatcher(handed)

    def _dispatcher(self, handed: list[tuple[QueueItemRecord, CallPlan | None]]) -> Callable[[], Awaitable[None]]:
        """`dispatch()`: start the calls a transaction leased to this engine's worker (once the answer is out)."""

        async def dispatch() -> None:
            if not self.ready:  # stopping: the worker's stop releases these leases
                return
            for item, plan in handed:
                if plan is not None:
                    self.worker.start(item, plan)

        return dispatch

    async def register(self, request: wire.RegisterRequest) -> registration.SyncResult:
        """Validate and store an app's functions (raises `registry.ConfigError` with every problem)."""
        registration.validate(request)
        digest = registration.checksum(request)
        result, _ = await self.executor.transact(lambda work: registration.register(work, request, digest))
        self.wake()
        return result

    async def checkpoint(self, run_id: str, item_id: str, generation: int | None, ops: list[opcodes.Op]) -> bool:
        return await self.executor.checkpoint(run_id, item_id, generation, ops)

    async def cancel_run(self, run_id: str) -> RunRecord:
        def cancel(work: Work) -> RunRecord:
            run = work.runs.lock_run(run_id)
            if run is None:
                raise RunNotFoundError(run_id)
            if run.status.ended:
                raise RunEndedError(run_id)
            lifecycle.finalize(work, run, RunStatus.CANCELLED, output_json=None, reason="cancelled through the API")
            return run

        run, _ = await self.executor.transact(cancel)
        return run

    async def rerun(self, run_id: str, from_step: reruns.FromStep | None = None) -> RunRecord:
        """Start a new run with the events of `run_id`, from the start or from a step (`execution.reruns`).

        Raises `RunNotFoundError`, or `reruns.RerunError` for a step the run does not have.
        """
        try:
            run, _ = await self.executor.transact(lambda work: reruns.rerun(work, run_id, from_step))
        except reruns.RunGoneError as err:
            raise RunNotFoundError(str(err)) from err
        self.wake()
        return run

    async def start_bulk_job(self, request: bulk.BulkRequest) -> BulkJobRecord:
        """Store a bulk cancellation or replay and start working it in the background (`execution.bulk`).

        Raises `bulk.BulkTargetError` for an unknown app or function.
        """
        job, _ = await self.executor.transact(lambda work: bulk.create(work, request))
        self.bulk.wake()
        return job

    async def invoke(self, function_id: str, data: dict[str, Any]) -> tuple[Invocation, Callable[[], Awaitable[None]]]:
        """Start a run of a function by its id (as registered), through flow control as any event would.

        Records an `inngest/function.invoked` event aimed at the function (what `step.invoke` sends,
        without a parent waiting for the result). Raises `FunctionNotFoundError` for an unknown or
        archived function. As with `send_events`, the run's first call is leased to this engine's
        worker, and awaiting `dispatch()` starts it.
        """

        def record(work: Work) -> Invocation:
            fn = work.catalog().get(function_id)
            if fn is None:
                raise FunctionNotFoundError(function_id)
            payload = {"name": wire_events.FUNCTION_INVOKED, "data": {**data, "_inngest": {"fn_id": fn.slug}}}
            [event] = ingest.record_events(work, [payload], source="api")
            tx, internal_id = work.tx, event.internal_id
            started = tx.runs_for_event(internal_id)
            return Invocation(
                internal_id, started[0] if started else None, tx.list_skips(internal_id), tx.event_holds(internal_id)
            )

        found, handed = await self.executor.transact_handed(
            record, owner=self.worker.owner, limit=self.worker.free_slots()
        )

        return found, self._dispatcher(handed)

    async def send_signal(self, name: str, data: Any) -> str | None:
        """Resume the run waiting for the signal `name` with `data` (`runs.pauses.deliver_signal`): its id,
        or None when no run waits for it."""
        run_id, _ = await self.executor.transact(lambda work: pauses.deliver_signal(work, name, data))
        if run_id is not None:
            self.wake()
        return run_id

    async def pause_function(self, function_id: str, *, paused: bool) -> FunctionRecord:
        """Pause (or resume) a function by slug or id (`functions.control`); raises `FunctionNotFoundError`."""

        def switch(work: Work) -> FunctionRecord:
            fn = control.pause(work.tx, function_id, work.now) if paused else control.resume(work.tx, function_id)
            if fn is None:
                raise FunctionNotFoundError(function_id)
            work.catalog()  # this process sees the change at once
            return fn

        fn, _ = await self.executor.transact(switch)
        if not paused:
            self.wake()
        return fn

    async def remove_app(self, app_id: str) -> AppRecord:
        """Archive an app's functions and hide the app until it syncs again; raises `AppNotFoundError`."""

        def remove(work: Work) -> AppRecord:
            app = control.remove_app(work.tx, app_id, work.now)
            if app is None:
                raise AppNotFoundError(app_id)
            return app

        app, _ = await self.executor.transact(remove)
        return app

    async def sync_app(self, url: str, *, timeout: float = 10.0) -> tuple[AppRecord, list[FunctionRecord]]:
        """Sync the app served at `url` now (the PUT an `-u` URL gets) and return it once it registered.

        Raises `SyncError` saying why when the app did not answer within `timeout` seconds, refused the
        sync, or could not register its functions.
        """
        url = normalize_url(url)
        since = self.clock.now_ms()
        problem = await self.syncer.ping(url, timeout=timeout)
        if problem is not None:
            raise SyncError(problem)

        def read(tx: Tx) -> tuple[AppRecord | None, list[FunctionRecord]]:
            return synced_app(tx.list_apps(), url, since), tx.list_functions()

        app, functions = await self.store.read(read)
        if app is None:
            raise SyncError(
                f"the app at {url} answered the sync, but no app registered from that URL: "
                "check the serve origin it advertises"
            )
        return app, functions


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"})


def synced_app(candidates: list[AppRecord], url: str, since: int) -> AppRecord | None:
    """The app a sync of `url` registered: the one serving at that URL (loopback names alike),
    else the last one synced at or after `since` (an app that advertises another origin)."""
    wanted = _where(url)
    for app in candidates:
        if _where(app.url) == wanted:
            return app
    recent = [app for app in candidates if app.synced_at is not None and app.synced_at >= since]
    return max(recent, key=lambda app: app.synced_at or 0) if recent else None


def _where(url: str) -> tuple[str, int | None, str]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    return ("loopback" if host in _LOOPBACK else host, port, parts.path.rstrip("/"))
