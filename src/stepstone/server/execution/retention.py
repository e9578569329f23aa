"""Retention: a background sweep deletes what ended long ago, in small batches.

Runs that ended before the cutoff go with their steps, attempts and event links; then events no run
points at, old skip records and expired idempotency keys. Each batch is its own short transaction,
so the queue never waits on the sweep.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from stepstone.server.execution.executor import Executor
from stepstone.server.queue.work import Work

log = logging.getLogger("stepstone.retention")
BATCH = 200


@dataclass
class Swept:
    runs: int = 0
    events: int = 0
    keys: int = 0


async def sweep(executor: Executor) -> Swept:
    """Delete everything older than the retention period (one batch per transaction)."""
    retention = executor.settings.retention
    swept = Swept()
    if retention is None:
        return swept
    keep_ms = int(retention.total_seconds() * 1000)

    def runs(work: Work) -> int:
        return work.retention.prune_runs(work.now - keep_ms, BATCH)

    def events(work: Work) -> int:
        return work.retention.prune_events(work.now - keep_ms, BATCH)

    def keys(work: Work) -> int:
        return work.retention.prune_idempotency(work.now, BATCH)

    for script, field in ((runs, "runs"), (events, "events"), (keys, "keys")):
        while True:
            count, _ = await executor.transact(script)
            setattr(swept, field, getattr(swept, field) + count)
            if count < BATCH:
                break
            await asyncio.sleep(0)  # let the queue's transactions in between batches
    if swept.runs or swept.events:
        log.info(
            "retention: deleted %d runs and %d events",
            swept.runs,
            swept.events,
            extra={"action": "retention.swept"},
        )
    return swept


async def run_forever(executor: Executor) -> None:
    """Sweep every `retention_interval` (the first one shortly after start-up)."""
    while executor.settings.retention is not None:
        try:
            await sweep(executor)
        except Exception:
            log.exception("retention sweep failed; trying again later", extra={"action": "retention.failed"})
        await asyncio.sleep(executor.settings.retention_interval.total_seconds())
