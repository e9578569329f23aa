"""Debounced sync (docs/patterns/debounced-sync.md): a burst of updates, one write per contact."""

from __future__ import annotations

from datetime import timedelta

from examples.patterns import debounced_sync, services

from tests.patterns.conftest import Serve, runs_of, settled


async def test_a_burst_of_updates_writes_each_contact_once_with_its_last_state(engine: Serve) -> None:
    harness = await engine(debounced_sync)
    for n in range(3):
        await harness.send("app/contact.updated", {"contact_id": "c1", "fields": {"name": f"Ann {n}"}})
        await harness.advance(timedelta(seconds=30))
    await harness.send("app/contact.updated", {"contact_id": "c2", "fields": {"name": "Bob"}})
    assert await runs_of(harness, "crm-sync-sync-contact") == []  # still inside the quiet period
    runs = await settled(harness, "crm-sync-sync-contact", 2, step=timedelta(seconds=30))
    assert sorted(run["output"] for run in runs) == ["c1", "c2"]
    assert services.crm.contacts == {"c1": {"name": "Ann 2"}, "c2": {"name": "Bob"}}
    assert services.crm.writes == 2
