"""Pausing a function, as transaction scripts on both stores: its calls are held out of every claim's reach
(those waiting at the pause, those enqueued while it is paused, and one that slipped past both), each gets
its due time back on resume, and its events record a "function paused" skip."""

from __future__ import annotations

from typing import Any

from stepstone.protocol import config as wire
from stepstone.server.apps import registration as apps
from stepstone.server.functions import control, describe
from stepstone.server.intake import ingest
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Work
from stepstone.server.store.records import HELD_AT, ItemKind, QueueItemRecord, RunQuery, RunStatus
from tests.unit.server.test_transitions import NOW, Scripts, registration


def claim(work: Work) -> list[QueueItemRecord]:
    return queueing.claim(work, owner="w1", limit=10, cursor=queueing.Cursor())


async def registered(store: Any) -> tuple[Scripts, str]:
    scripts = Scripts(store)
    request = registration()
    await scripts(lambda work: apps.register(work, request, apps.checksum(request)))
    fn = await store.read(lambda tx: tx.get_function("app-fn"))
    return scripts, fn.id


async def send(scripts: Scripts) -> str:
    [event] = await scripts(lambda work: ingest.record_events(work, [{"name": "a/go", "data": {}}], source="api"))
    return event.internal_id


async def test_waiting_calls_are_held_at_the_pause_and_due_again_at_the_resume(store: Any) -> None:
    scripts, _ = await registered(store)
    await send(scripts)
    assert (await scripts(lambda work: control.pause(work.tx, "app-fn", work.now))).paused_at == NOW
    assert await scripts(claim) == []
    [run] = await store.read(lambda tx: tx.list_runs(RunQuery()))
    assert run.status == RunStatus.QUEUED
    why = await scripts(lambda work: queueing.why_queued(work.tx, run, now=work.now, config=None, paused=True))
    assert why == "function paused"
    assert (await scripts(lambda work: control.resume(work.tx, "app-fn"))).paused_at is None
    [item] = await scripts(claim)
    assert item.run_id == run.id and item.run_at == NOW and item.score == NOW


async def test_an_event_for_a_paused_function_is_recorded_as_skipped(store: Any) -> None:
    scripts, _ = await registered(store)
    await scripts(lambda work: control.pause(work.tx, "app-fn", work.now))
    event_id = await send(scripts)
    assert [skip.reason for skip in await store.read(lambda tx: tx.list_skips(event_id))] == ["function paused"]
    assert await store.read(lambda tx: tx.runs_for_event(event_id)) == []


async def test_a_call_enqueued_while_paused_is_held_and_never_handed_over(store: Any) -> None:
    scripts, function_id = await registered(store)

    def pause(work: Work) -> None:  # as `Engine.pause_function` does: this process's catalog sees it at once
        control.pause(work.tx, "app-fn", work.now)
        work.catalog()

    await scripts(pause)

    def enqueue(work: Work) -> list[QueueItemRecord]:
        work.owner = "w1"
        item = QueueItemRecord(id="i1", kind=ItemKind.CALL, run_at=NOW, run_id="r1", function_id=function_id)
        assert queueing.enqueue(work, item)
        return work.handoffs

    assert await scripts(enqueue) == []
    held = await store.read(lambda tx: tx.get_queue_item("i1"))
    assert held.run_at == HELD_AT and held.lease_owner is None
    await scripts(lambda work: control.resume(work.tx, "app-fn"))
    assert (await store.read(lambda tx: tx.get_queue_item("i1"))).run_at == NOW


async def test_a_call_that_slipped_past_the_pause_is_held_when_claimed(store: Any) -> None:
    scripts, function_id = await registered(store)

    def slip(work: Work) -> None:  # paused by another engine while this one enqueued with an older catalog
        work.tx.set_function_paused(function_id, work.now)
        work.tx.bump_functions_version()
        work.tx.enqueue(QueueItemRecord(id="i2", kind=ItemKind.CALL, run_at=NOW, score=NOW, function_id=function_id))

    await scripts(slip)
    assert await scripts(claim) == []
    held = await store.read(lambda tx: tx.get_queue_item("i2"))
    assert held.run_at == HELD_AT and held.lease_owner is None
    await scripts(lambda work: control.resume(work.tx, "app-fn"))
    assert [item.id for item in await scripts(claim)] == ["i2"]


async def test_pausing_twice_or_an_unknown_function_changes_nothing(store: Any) -> None:
    scripts, _ = await registered(store)
    await scripts(lambda work: control.pause(work.tx, "app-fn", work.now))
    scripts.now = NOW + 1000
    assert (await scripts(lambda work: control.pause(work.tx, "app-fn", work.now))).paused_at == NOW
    assert await scripts(lambda work: control.pause(work.tx, "nope", work.now)) is None
    assert await scripts(lambda work: control.resume(work.tx, "nope")) is None


def test_flow_control_in_words() -> None:
    config = wire.FunctionConfig.model_validate(
        {
            "id": "fn",
            "steps": {"step": {"runtime": {"url": "http://app"}}},
            "retries": 1,
            "concurrency": [{"limit": 5, "key": "event.data.account_id"}, {"limit": 1, "scope": "env", "key": '"x"'}],
            "throttle": {"limit": 10, "period": "1m", "burst": 2},
            "rateLimit": {"limit": 1, "period": "1h", "key": "event.data.user.id"},
            "debounce": {"period": "5s", "timeout": "1m"},
            "batchEvents": {"maxSize": 100, "timeout": "5s"},
            "priority": {"run": "event.data.plan == 'pro' ? 60 : 0"},
            "cancel": [{"event": "app/cancel", "if": "async.data.id == event.data.id", "timeout": "1h"}],
            "timeouts": {"start": "10s", "finish": "1h"},
            "singleton": {"mode": "skip", "key": "event.data.user_id"},
        }
    )
    assert describe.flow(config) == [
        "runs on batches of up to 100 events, or after 5s",
        "at most 1 run per 1h per user.id (rate limit: more are skipped)",
        "starts 5s after the last event, at most 1m after the first (debounce)",
        "one run at a time per user_id (singleton: skips new runs)",
        "at most 5 steps at once per account_id",
        'at most 1 step at once per `"x"` across the environment',
        "at most 10 runs per 1m, bursts of 2 more (throttle)",
        "priority: runs start earlier by `event.data.plan == 'pro' ? 60 : 0` seconds",
        "cancelled by the event app/cancel where `async.data.id == event.data.id` within 1h",
        "cancelled if not started within 10s",
        "cancelled if not finished within 1h",
        "1 retry per step",
    ]
    assert describe.stats({"Completed": 3, "Failed": 1})["failure_rate"] == 0.25
    assert describe.stats({})["failure_rate"] is None
