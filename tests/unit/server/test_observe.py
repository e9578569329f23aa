"""The observers' plumbing: the metrics' bounded labels, a failing observer, the measured store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stepstone.server.core.metrics import MAX_EVENT_NAMES, OTHER, PROMOTE_AFTER, Metrics
from stepstone.server.core.observe import Call, Fact, FactKind, Observer, Observers
from stepstone.server.store.errors import StoreUnavailable
from stepstone.server.store.observed import ObservedStore


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text, _ = metrics.exposition(None)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def events(*names: str) -> list[Fact]:
    return [Fact(FactKind.EVENT_RECEIVED, status=name) for name in names]


def received(metrics: Metrics) -> dict[str, float]:
    return {
        labels[0][1]: count
        for (name, labels), count in samples(metrics).items()
        if name == "stepstone_events_received_total"
    }


def test_a_busy_event_name_gets_its_own_label_and_names_sent_once_stay_other() -> None:
    metrics = Metrics()
    metrics.committed(events(*(f"user/{n}.signed-up" for n in range(500))))  # an id in the name: one-offs
    metrics.committed(events(*["shop/order.placed"] * (PROMOTE_AFTER + 5)))
    assert received(metrics) == {OTHER: 500 + PROMOTE_AFTER, "shop/order.placed": 5}
    assert sum(received(metrics).values()) == 500 + PROMOTE_AFTER + 5  # every event counted once


def test_labels_stop_at_the_cap_and_counters_only_grow() -> None:
    metrics = Metrics()
    for n in range(MAX_EVENT_NAMES + 3):
        metrics.committed(events(*[f"app/event-{n}"] * (PROMOTE_AFTER + 1)))
    found = received(metrics)
    assert len(found) == MAX_EVENT_NAMES + 1  # 200 names and `other`
    assert "app/event-0" in found and f"app/event-{MAX_EVENT_NAMES}" not in found
    before = found[OTHER]
    metrics.committed(events("app/event-0", f"app/event-{MAX_EVENT_NAMES}"))
    after = received(metrics)
    assert after["app/event-0"] == 2 and after[OTHER] == before + 1


def test_durations_come_from_the_facts_times_and_skipped_runs_are_not_ended_runs() -> None:
    metrics = Metrics()
    metrics.committed(
        [
            Fact(FactKind.RUN_ENDED, fn="f", status="Completed", at_ms=90_000, started_ms=30_000),
            Fact(FactKind.RUN_ENDED, fn="f", status="Skipped", at_ms=1, started_ms=1),
            Fact(FactKind.STEP_ENDED, fn="f", at_ms=3_000, started_ms=500),
        ]
    )
    found = samples(metrics)
    assert found[("stepstone_run_duration_seconds_sum", (("fn", "f"), ("status", "Completed")))] == 60
    assert ("inngest_function_run_ended_total", (("fn", "f"), ("status", "Skipped"))) not in found
    assert found[("stepstone_step_duration_seconds_sum", (("fn", "f"),))] == 2.5


class Broken(Observer):
    def committed(self, facts: Sequence[Fact]) -> None:
        raise RuntimeError("broken observer")


def test_an_observer_that_raises_is_logged_once_and_the_others_still_see_everything(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    observers = Observers([Broken(), metrics])
    with caplog.at_level(logging.ERROR, logger="stepstone.observe"):
        for _ in range(3):
            observers.committed([Fact(FactKind.RUN_SCHEDULED, fn="f")])
    assert samples(metrics)[("inngest_function_run_scheduled_total", (("fn", "f"),))] == 3
    assert [record.message for record in caplog.records] == [
        "Broken.committed failed (reported once; the engine goes on)"
    ]


def test_call_outcomes_are_counted_by_function_and_status() -> None:
    metrics = Metrics()
    call = Call("f", "run", "item", 1, "", 0, "http://app")
    metrics.call_started(call, {})
    metrics.call_ended(call, 0.2, "unreachable")
    found = samples(metrics)
    assert found[("inngest_sdk_req_started_total", (("fn", "f"),))] == 1
    assert found[("inngest_sdk_req_ended_total", (("fn", "f"), ("status", "unreachable")))] == 1
    assert found[("stepstone_app_call_seconds_count", (("fn", "f"), ("outcome", "unreachable")))] == 1


class Failing:
    async def transact(self, script: Callable[[Any], Any]) -> Any:
        raise StoreUnavailable("the store is closed")

    async def read(self, script: Callable[[Any], Any]) -> Any:
        return script(None)


async def test_the_observed_store_measures_reads_and_counts_failed_transactions_by_kind() -> None:
    metrics = Metrics()
    store = ObservedStore(Failing(), metrics)  # type: ignore[arg-type]
    assert await store.read(lambda tx: 7) == 7
    with pytest.raises(StoreUnavailable):
        await store.transact(lambda tx: None)
    found = samples(metrics)
    assert found[("stepstone_store_transaction_seconds_count", (("kind", "read"),))] == 1
    assert found[("stepstone_store_transaction_seconds_count", (("kind", "write"),))] == 1
    assert found[("stepstone_store_errors_total", (("kind", "unavailable"),))] == 1
