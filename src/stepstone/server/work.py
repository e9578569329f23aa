"""The context of one transaction script: the transaction, "now", and the engine's shared parts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from stepstone.server.ids import ULIDS
from stepstone.server.registry import Catalog, Registry
from stepstone.server.settings import EngineSettings
from stepstone.server.store.base import Tx
from stepstone.server.store.records import TIMERS, QueueItemRecord


@dataclass
class Work:
    """What a transaction script may use. `now` is the engine clock, read once for the script.

    A worker that passes `owner` may take up to `handoff_limit` new call items that are due now as
    *handoffs*: they are written already leased to it, and it runs them next without waiting for a
    poll or a claim (the next call of the run it is running; the first calls of the runs an event
    starts).
    """

    tx: Tx
    now: int
    registry: Registry
    settings: EngineSettings
    rng: random.Random = field(default_factory=random.Random)
    owner: str | None = None
    lease_ms: int = 30_000
    handoff_limit: int = 1
    handoffs: list[QueueItemRecord] = field(default_factory=list)
    woke: bool = False  # an item due now was enqueued for other workers
    discovered: set[str] = field(default_factory=set)  # runs given a discovery call in this script
    _catalog: Catalog | None = None
    _lease_until: int | None = None

    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = self.registry.catalog(self.tx)
        return self._catalog

    def new_id(self) -> str:
        return ULIDS.new(self.now)

    def lease_until(self) -> int:
        """When a lease taken now ends, on the database's clock (read once per script)."""
        if self._lease_until is None:
            self._lease_until = self.tx.lease_clock_ms() + self.lease_ms
        return self._lease_until

    @property
    def continuation(self) -> QueueItemRecord | None:
        """The first handoff (a worker running one run takes at most one)."""
        return self.handoffs[0] if self.handoffs else None

    def enqueue(self, item: QueueItemRecord) -> bool:
        """Add `item`; a due call item may be handed to this script's worker.

        Timers go to their own partition. A call under flow control (concurrency, throttle) is never
        handed over: only a claim checks its limits.
        """
        if item.kind != "call":
            item.partition, item.score = TIMERS, item.run_at
        take = (
            self.owner is not None
            and len(self.handoffs) < self.handoff_limit
            and item.kind == "call"
            and not item.constrained
            and item.run_at <= self.now
        )
        if take:
            item.lease_owner = self.owner
            item.lease_expires_at = self.lease_until()
            item.generation = 1
        inserted = self.tx.enqueue(item)
        if inserted and take:
            self.handoffs.append(item)
        elif inserted and item.run_at <= self.now:
            self.woke = True
        return inserted
