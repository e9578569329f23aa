"""Run creation: when a run's first call is due."""

from __future__ import annotations

from stepstone.server.apps import registration as apps
from stepstone.server.intake import ingest
from stepstone.server.queue import queueing
from stepstone.server.store.records import ItemKind
from tests.unit.server.test_transitions import NOW, Scripts, registration


async def test_an_event_with_a_delay_starts_its_run_then(store) -> None:
    scripts = Scripts(store)
    request = registration()
    await scripts(lambda work: apps.register(work, request, apps.checksum(request)))
    events = [{"name": "a/go", "data": {"n": n}} for n in (1, 2)]
    await scripts(lambda work: ingest.record_events(work, events, source="api", delays=[3_600_000, 0]))
    now_items = await scripts(
        lambda work: queueing.claim_free(work.tx, now=NOW, lease_now=0, lease_until=10, owner="w", limit=10)
    )
    assert [item.kind for item in now_items] == [ItemKind.CALL]
    later = await scripts(
        lambda work: queueing.claim_free(work.tx, now=NOW + 3_600_000, lease_now=0, lease_until=10, owner="w", limit=10)
    )
    assert [item.run_at for item in later] == [NOW + 3_600_000]
