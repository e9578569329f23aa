"""The executor's transactions: what a script hands to its worker includes the calls of runs that the
events it emitted started (the outbox is drained inside the transaction, before the hand-offs are read)."""

from __future__ import annotations

from pathlib import Path

from stepstone.server.apps import registration as apps
from stepstone.server.core.clock import FakeClock
from stepstone.server.core.settings import EngineSettings
from stepstone.server.execution.executor import Executor
from stepstone.server.functions.registry import Registry
from stepstone.server.queue.work import Work
from stepstone.server.store.records import ItemKind
from stepstone.server.store.sqlite.store import SqliteStore
from tests.unit.server.test_transitions import NOW, registration


class NoApp:
    async def request(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("no app is called here")

    async def close(self) -> None:
        pass


async def test_a_run_started_by_an_emitted_event_is_handed_over_with_its_plan(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite")
    executor = Executor(store, FakeClock(start_ms=NOW), Registry(), EngineSettings(), NoApp())  # type: ignore[arg-type]
    try:
        request = registration()
        await executor.transact(lambda work: apps.register(work, request, apps.checksum(request)))

        def emit(work: Work) -> None:
            work.emit({"name": "a/go", "data": {}, "ts": work.now})

        _, handed = await executor.transact_handed(emit, owner="worker-1", limit=1)
        assert len(handed) == 1
        item, plan = handed[0]
        assert item.kind == ItemKind.CALL and item.lease_owner == "worker-1"
        assert plan is not None and plan.run.id == item.run_id

        _, continuation = await executor.transact(emit, owner="worker-1")
        assert continuation is not None
        assert continuation[1] is not None and continuation[1].run.id == continuation[0].run_id
    finally:
        await store.close()
