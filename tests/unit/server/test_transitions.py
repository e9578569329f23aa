"""Run transitions as transaction scripts, on a real SQLite store with a fake clock."""

from __future__ import annotations

import random

import orjson

from stepstone.protocol import config as wire
from stepstone.protocol import opcodes
from stepstone.protocol.stepids import hash_step_id
from stepstone.server.apps import registration as apps
from stepstone.server.core.settings import EngineSettings, Limits
from stepstone.server.execution.executor import run_script
from stepstone.server.functions.registry import Registry
from stepstone.server.intake import ingest
from stepstone.server.queue import queueing
from stepstone.server.queue.work import Services, Work
from stepstone.server.runs import transitions
from stepstone.server.runs.outcomes import Completed, Ops
from stepstone.server.store.base import Tx
from stepstone.server.store.records import ItemKind, QueueItemRecord, RunQuery, RunStatus

NOW = 1_767_225_600_000


class Scripts:
    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self.store = store
        self.registry = Registry()
        self.settings = EngineSettings()
        self.now = NOW

    async def __call__(self, script):  # type: ignore[no-untyped-def]
        def run(tx: Tx):  # type: ignore[no-untyped-def]
            return run_script(script, Work(tx, self.now, Services(self.registry, self.settings, random.Random(1))))

        return await self.store.transact(run)


def registration() -> wire.RegisterRequest:
    return wire.RegisterRequest.model_validate(
        {
            "url": "http://app/api",
            "appName": "app",
            "functions": [
                {
                    "id": "app-fn",
                    "name": "fn",
                    "triggers": [{"event": "a/go"}],
                    "steps": {"step": {"runtime": {"url": "http://app/api?fnId=app-fn&stepId=step"}}},
                }
            ],
        }
    )


async def start_run(scripts: Scripts) -> QueueItemRecord:
    request = registration()
    await scripts(lambda work: apps.register(work, request, apps.checksum(request)))
    await scripts(lambda work: ingest.record_events(work, [{"name": "a/go", "data": {}}], source="api"))
    [item] = await scripts(
        lambda work: queueing.claim_free(work.tx, now=work.now, lease_now=0, lease_until=10, owner="w1", limit=5)
    )
    return item


async def test_an_answer_from_a_fenced_worker_is_dropped(store) -> None:
    scripts = Scripts(store)
    stale = await start_run(scripts)
    plan = await scripts(lambda work: transitions.prepare_call(work, stale))
    assert plan is not None
    # The lease ran out; another worker claimed the item again (generation 2).
    [fresh] = await scripts(
        lambda work: queueing.claim_free(work.tx, now=work.now, lease_now=11, lease_until=99, owner="w2", limit=5)
    )
    assert fresh.generation == stale.generation + 1
    await scripts(lambda work: transitions.apply_outcome(work, stale, plan, Completed('"late"')))
    run = await store.read(lambda tx: tx.get_run(plan.run.id))
    assert run is not None and run.status == RunStatus.RUNNING and run.output_json is None
    assert await store.read(lambda tx: tx.get_queue_item(fresh.id)) is not None
    await scripts(lambda work: transitions.apply_outcome(work, fresh, plan, Completed('"on time"')))
    run = await store.read(lambda tx: tx.get_run(plan.run.id))
    assert run is not None and run.status == RunStatus.COMPLETED and run.output_json == '"on time"'


async def test_a_stale_checkpoint_is_refused(store) -> None:
    scripts = Scripts(store)
    item = await start_run(scripts)
    op = opcodes.Op(op=opcodes.Opcode.STEP_RUN, id=hash_step_id("a"), name="a", data=1)
    ok = await scripts(
        lambda work: transitions.apply_checkpoint(work, item.run_id or "", item.id, item.generation, [op])
    )
    stale = await scripts(
        lambda work: transitions.apply_checkpoint(work, item.run_id or "", item.id, item.generation - 1, [op])
    )
    assert ok and not stale


async def test_a_step_answered_with_run_complete_is_stored_and_the_run_ends(store) -> None:
    scripts = Scripts(store)
    scripts.settings = EngineSettings(limits=Limits(max_steps_per_run=1))
    item = await start_run(scripts)
    plan = await scripts(lambda work: transitions.prepare_call(work, item))
    enqueued: list[QueueItemRecord] = []

    def apply(work: Work) -> None:
        answer = Ops(
            [
                opcodes.Op(op=opcodes.Opcode.STEP_RUN, id=hash_step_id("a"), name="a", data=1),
                opcodes.Op(op=opcodes.Opcode.RUN_COMPLETE, id=hash_step_id("complete"), data=2),
            ]
        )
        original = work.tx.enqueue
        work.tx.enqueue = lambda queued: (enqueued.append(queued), original(queued))[1]  # type: ignore[method-assign]
        transitions.apply_outcome(work, item, plan, answer)

    await scripts(apply)
    run = await store.read(lambda tx: tx.get_run(plan.run.id))
    # RunComplete is not a step: the one step stays within a limit of one.
    assert run is not None and run.status == RunStatus.COMPLETED and run.output_json == "2"
    assert await store.read(lambda tx: tx.step_memos(plan.run.id)) == [(hash_step_id("a"), '{"data":1}')]
    assert [queued.kind for queued in enqueued if queued.kind == ItemKind.CALL] == []  # no discovery call


async def test_parallel_steps_fan_in_to_one_discovery(store) -> None:
    scripts = Scripts(store)
    item = await start_run(scripts)
    plan = await scripts(lambda work: transitions.prepare_call(work, item))
    ids = [hash_step_id(name) for name in ("a", "b", "c")]
    planned = Ops([opcodes.Op(op=opcodes.Opcode.STEP_PLANNED, id=i, name=i) for i in ids])
    await scripts(lambda work: transitions.apply_outcome(work, item, plan, planned))
    targeted = await scripts(
        lambda work: queueing.claim_free(work.tx, now=work.now, lease_now=0, lease_until=10, owner="w", limit=10)
    )
    assert sorted(t.target for t in targeted) == sorted(ids)
    run = await store.read(lambda tx: tx.get_run(plan.run.id))
    assert run is not None and run.force_plan and set(run.pending) == set(ids)
    for position, target in enumerate(targeted):
        done = Ops([opcodes.Op(op=opcodes.Opcode.STEP_RUN, id=target.target, name="x", data=position)])
        await scripts(lambda work, t=target, d=done: transitions.apply_outcome(work, t, plan, d))
        items = await store.read(lambda tx: tx.count_queue_items())
        # discovery only after the last of the three
        assert items == (len(targeted) - position - 1 if position < 2 else 1)
    run = await store.read(lambda tx: tx.get_run(plan.run.id))
    assert run is not None and not run.pending and len(await store.read(lambda tx: tx.step_memos(plan.run.id))) == 3


async def test_a_missed_cron_tick_fires_once(store) -> None:
    from stepstone.server.intake import crons

    scripts = Scripts(store)
    request = registration()
    request.functions[0].triggers = [wire.TriggerConfig(cron="*/5 * * * *")]
    await scripts(lambda work: apps.register(work, request, apps.checksum(request)))
    scripts.now = NOW + 3600 * 1000  # the engine was down for an hour: twelve ticks passed
    due = await scripts(
        lambda work: queueing.claim_free(work.tx, now=work.now, lease_now=0, lease_until=10, owner="w", limit=10)
    )
    assert len(due) == 1
    await scripts(lambda work: crons.tick(work, due[0]))
    runs = await store.read(lambda tx: tx.list_runs(RunQuery()))
    assert len(runs) == 1 and runs[0].cron == "*/5 * * * *"
    later = await scripts(
        lambda work: queueing.claim_free(
            work.tx, now=work.now + 3600 * 1000, lease_now=0, lease_until=10, owner="w", limit=10
        )
    )
    ticks = [item for item in later if item.kind == ItemKind.CRON]
    assert [tick.run_at for tick in ticks] == [scripts.now + 5 * 60 * 1000]  # the next tick after now, once


async def test_the_earliest_matching_event_resumes_a_wait(store) -> None:
    scripts = Scripts(store)
    item = await start_run(scripts)
    plan = await scripts(lambda work: transitions.prepare_call(work, item))
    for who in ("first", "second"):  # both arrive after the dispatch, before the op is applied
        await scripts(
            lambda work, w=who: ingest.record_events(work, [{"name": "a/ok", "data": {"who": w}}], source="api")
        )
    wait_id = hash_step_id("w")
    wait = Ops([opcodes.Op(op=opcodes.Opcode.WAIT_FOR_EVENT, id=wait_id, name="a/ok", opts={"timeout": "1h"})])
    await scripts(lambda work: transitions.apply_outcome(work, item, plan, wait))
    [(hashed, memo)] = await store.read(lambda tx: tx.step_memos(plan.run.id))
    assert hashed == wait_id and orjson.loads(memo)["data"] == {"who": "first"}
