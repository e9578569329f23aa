"""Prometheus metrics: an `Observer` that counts what the engine did, in its own registry.

Every engine has its own `CollectorRegistry` (several engines live in one test process); nothing is
registered in prometheus-client's global registry. Names follow Inngest's where Inngest has them
(`inngest_function_run_*`, `inngest_sdk_req_*`, `inngest_steps_*`, `inngest_queue_depth`, with its
`fn` label), so dashboards and alerts written for Inngest carry over; Stepstone's own are under
`stepstone_`. docs/observability.md lists them all.

Counters count what committed: the facts a transaction script noted reach `committed` only after the
store committed. Each engine process exports its own counters (add them up with `sum()`); the gauges
that describe the shared queue (`inngest_queue_depth`, `inngest_steps_scheduled`,
`inngest_steps_running`) are read from the store when scraped, and every engine exports the same
value (aggregate them with `max()`). Label values are bounded: function ids, statuses, reasons, and
at most `MAX_EVENT_NAMES` event names; never run ids or event data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from stepstone.server.core.observe import Call, EngineRequest, Fact, FactKind, Observer

M = TypeVar("M", Counter, Gauge, Histogram)
MAX_EVENT_NAMES = 200  # event names with a label of their own; the others count as `other`
PROMOTE_AFTER = 10  # events of a name, counted as `other`, before it may get a label of its own
MAX_CANDIDATES = 10_000  # names being counted towards a label; more are `other` and not counted
OTHER = "other"

# Seconds; the long tails matter: a queue can back up for minutes, a run can sleep for days.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 10, 60, 300, 3600)
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 10, 60, 300, 3600)
DURATION_BUCKETS = (0.01, 0.1, 0.5, 1, 5, 10, 60, 300, 3600, 6 * 3600, 86_400, 7 * 86_400)
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5)


class Cached(Generic[M]):
    """A labelled metric whose children are kept by label values: `labels()` validates and locks each time,
    a dict lookup does not (the difference is most of what metrics cost a step)."""

    __slots__ = ("children", "metric")

    def __init__(self, metric: M) -> None:
        self.metric: M = metric
        self.children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = self.metric.labels(*values)
        return child


class Metrics(Observer):
    """The engine's metrics; `exposition()` renders them for a scrape."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        fn = ("fn",)
        self.runs_scheduled = Counter("inngest_function_run_scheduled", "Runs created (queued)", fn, registry=registry)
        self.runs_started = Counter(
            "inngest_function_run_started", "Runs whose first call to the app went out", fn, registry=registry
        )
        self.runs_ended = Counter(
            "inngest_function_run_ended",
            "Runs that ended, by status (Completed, Failed, Cancelled)",
            ("fn", "status"),
            registry=registry,
        )
        self.steps_scheduled = Gauge(
            "inngest_steps_scheduled",
            "Calls to apps due now and not yet claimed (the whole store: aggregate with max())",
            fn,
            registry=registry,
        )
        self.steps_running = Gauge(
            "inngest_steps_running",
            "Calls to apps claimed by an engine (the whole store: aggregate with max())",
            fn,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "inngest_queue_depth",
            "Queue items due now and not yet claimed: calls and timers (the whole store: aggregate with max())",
            registry=registry,
        )
        self.sdk_scheduled = Counter(
            "inngest_sdk_req_scheduled", "Calls to apps enqueued (each retry again)", fn, registry=registry
        )
        self.sdk_started = Counter("inngest_sdk_req_started", "Calls to apps sent", fn, registry=registry)
        self.sdk_ended = Counter(
            "inngest_sdk_req_ended",
            "Calls to apps answered or given up, by outcome (completed, steps, error, unreachable)",
            ("fn", "status"),
            registry=registry,
        )
        self.queue_latency = Histogram(
            "stepstone_queue_latency_seconds",
            "From when a queue item came due to when an engine took it",
            fn,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.call_seconds = Histogram(
            "stepstone_app_call_seconds",
            "Calls to apps, from sending to the answer, by outcome",
            ("fn", "outcome"),
            buckets=CALL_BUCKETS,
            registry=registry,
        )
        self.engine_request_seconds = Histogram(
            "stepstone_engine_request_seconds",
            "Requests the engine made for steps (step.ai.infer: kind ai, step.fetch: kind fetch), by outcome: "
            "ok (stored as the step's output) or error (a failed attempt)",
            ("fn", "kind", "outcome"),
            buckets=CALL_BUCKETS,
            registry=registry,
        )
        self.step_duration = Histogram(
            "stepstone_step_duration_seconds",
            "Steps, from start to stored outcome (a step the app ran: its call; a sleep or wait: its wait)",
            fn,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.run_duration = Histogram(
            "stepstone_run_duration_seconds",
            "Runs, from created to ended, by status",
            ("fn", "status"),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.store_seconds = Histogram(
            "stepstone_store_transaction_seconds",
            "Store transactions (write) and reads, waiting for the database included",
            ("kind",),
            buckets=STORE_BUCKETS,
            registry=registry,
        )
        self.events_received = Counter(
            "stepstone_events_received",
            f"Events received (sent to the event API, cron ticks, invokes), by name: the busiest names, "
            f"{MAX_EVENT_NAMES} at most, each once it has been received {PROMOTE_AFTER} times; the rest as '{OTHER}'",
            ("name",),
            registry=registry,
        )
        self.flow_held = Counter(
            "stepstone_flow_held",
            "Events or calls flow control held or dropped, by reason (concurrency, throttle, rate_limit, "
            "debounce, batch, idempotency, singleton, paused)",
            ("fn", "reason"),
            registry=registry,
        )
        self.signals = Counter(
            "stepstone_signals",
            "Signals sent (POST /v1/signals), by outcome: resumed (a run waited for it) or no_waiter",
            ("outcome",),
            registry=registry,
        )
        self.store_errors = Counter(
            "stepstone_store_errors",
            "Store transactions that failed, by kind (unavailable, conflict, schema, unstorable, other)",
            ("kind",),
            registry=registry,
        )
        self.calls_in_flight = Gauge(
            "stepstone_calls_in_flight", "Calls to apps this engine is making now", registry=registry
        )
        self.leases_held = Gauge(
            "stepstone_leases_held", "Queue items this engine holds a lease on now", registry=registry
        )
        self._event_names: set[str] = set()  # names with a label of their own (kept: a counter never moves)
        self._candidates: dict[str, int] = {}  # names counted as `other` so far, and how many times
        self._call_seconds = Cached(self.call_seconds)
        self._events_received = Cached(self.events_received)
        self._flow_held = Cached(self.flow_held)
        self._queue_latency = Cached(self.queue_latency)
        self._run_duration = Cached(self.run_duration)
        self._runs_ended = Cached(self.runs_ended)
        self._runs_scheduled = Cached(self.runs_scheduled)
        self._runs_started = Cached(self.runs_started)
        self._sdk_ended = Cached(self.sdk_ended)
        self._sdk_scheduled = Cached(self.sdk_scheduled)
        self._sdk_started = Cached(self.sdk_started)
        self._step_duration = Cached(self.step_duration)
        self._store_errors = Cached(self.store_errors)
        self._store_seconds = Cached(self.store_seconds)
        self._steps_scheduled = Cached(self.steps_scheduled)
        self._steps_running = Cached(self.steps_running)

    # Observer
    def committed(self, facts: Sequence[Fact]) -> None:
        for fact in facts:
            kind = fact.kind
            if kind == FactKind.CALL_SCHEDULED:
                self._sdk_scheduled(fact.fn).inc()
            elif kind == FactKind.STEP_ENDED:
                if fact.started_ms is not None:
                    self._step_duration(fact.fn).observe(max(fact.at_ms - fact.started_ms, 0) / 1000)
            elif kind == FactKind.RUN_SCHEDULED:
                self._runs_scheduled(fact.fn).inc()
            elif kind == FactKind.RUN_STARTED:
                self._runs_started(fact.fn).inc()
            elif kind == FactKind.RUN_ENDED:
                self._run_ended(fact)
            elif kind == FactKind.EVENT_RECEIVED:
                self._events_received(self._event_label(fact.status)).inc()
            elif kind == FactKind.FLOW_HELD:
                self._flow_held(fact.fn, fact.status).inc()
            elif kind == FactKind.SIGNAL_SENT:
                self.signals.labels(fact.status).inc()

    def _run_ended(self, fact: Fact) -> None:
        if fact.status == "Skipped":  # a singleton's skip: counted as held, it never was a run that ran
            return
        self._runs_ended(fact.fn, fact.status).inc()
        if fact.started_ms is not None:
            self._run_duration(fact.fn, fact.status).observe(max(fact.at_ms - fact.started_ms, 0) / 1000)

    def _event_label(self, name: str) -> str:
        """`name` once it is among the busiest, else `other`: a name gets its own label (for good, so that its
        counter and `other` only ever grow) when it has been received `PROMOTE_AFTER` times while labels are
        left. Busy names get there first; names sent once each (an id in the name) stay `other`."""
        if name in self._event_names:
            return name
        if len(self._event_names) >= MAX_EVENT_NAMES:
            return OTHER
        candidates = self._candidates
        seen = candidates.get(name, 0) + 1
        if seen > PROMOTE_AFTER:
            del candidates[name]
            self._event_names.add(name)
            if len(self._event_names) >= MAX_EVENT_NAMES:
                candidates.clear()  # no label left to give
            return name
        if seen > 1 or len(candidates) < MAX_CANDIDATES:
            candidates[name] = seen
        return OTHER

    def claimed(self, fn: str, waited_seconds: float) -> None:
        self._queue_latency(fn).observe(waited_seconds)

    def call_started(self, call: Call, headers: dict[str, str]) -> None:
        self._sdk_started(call.fn).inc()

    def call_ended(self, call: Call, seconds: float, outcome: str) -> None:
        self._sdk_ended(call.fn, outcome).inc()
        self._call_seconds(call.fn, outcome).observe(seconds)

    def engine_request(self, call: Call, request: EngineRequest) -> None:
        outcome = "ok" if request.error is None else "error"
        self.engine_request_seconds.labels(call.fn, request.kind, outcome).observe(request.seconds)

    def transaction(self, kind: str, seconds: float, error: str | None) -> None:
        self._store_seconds(kind).observe(seconds)
        if error is not None:
            self._store_errors(error).inc()

    # Scrape time
    def set_queue(self, rows: Iterable[tuple[str, bool, bool, int]]) -> None:
        """The queue gauges from `(fn, is_call, leased, count)` rows (`Tx.queue_gauges`); functions that have
        nothing queued now show 0 once they showed something (a series does not vanish between scrapes)."""
        depth = 0
        scheduled: dict[str, int] = {}
        running: dict[str, int] = {}
        for fn, is_call, leased, count in rows:
            if leased:
                running[fn] = running.get(fn, 0) + count
                continue
            depth += count
            if is_call:
                scheduled[fn] = scheduled.get(fn, 0) + count
        self.queue_depth.set(depth)
        for gauge, values in ((self._steps_scheduled, scheduled), (self._steps_running, running)):
            shown = {labels[0] for labels in gauge.children}  # every series this gauge has had
            for fn in shown | values.keys():
                gauge(fn).set(values.get(fn, 0))

    def set_engine(self, calls_in_flight: int, leases_held: int) -> None:
        self.calls_in_flight.set(calls_in_flight)
        self.leases_held.set(leases_held)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The metrics in the format the scraper asked for (OpenMetrics when its `Accept` says so)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
