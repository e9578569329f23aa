"""Batched bulk writes (docs/patterns/bulk-writes.md): many events, one run, one insert."""

from __future__ import annotations

from datetime import timedelta

from examples.patterns import bulk_writes, services

from tests.patterns.conftest import Serve, runs_of, settled


async def test_events_are_written_in_one_insert_when_the_batch_times_out(engine: Serve) -> None:
    harness = await engine(bulk_writes)
    ids = [await harness.send("web/page.viewed", {"path": f"/p{n}"}) for n in range(3)]
    assert await runs_of(harness, "analytics-store-page-views") == []  # a partial batch waits
    [run] = await settled(harness, "analytics-store-page-views", step=timedelta(seconds=5))
    assert run["output"] == 3
    assert services.warehouse.inserts == [[{"event_id": ids[n], "path": f"/p{n}"} for n in range(3)]]
