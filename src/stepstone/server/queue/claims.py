"""Claiming queue items under flow control: timers and free calls first, then limited partitions in turn.

Calls of functions with a concurrency limit or a throttle live in partitions (one per function and
key). A claim visits partitions round robin from where the previous claim stopped, so one key with a
long backlog never holds back another key's runs (fairness). In a partition it leases the first due
items while the key has room: a concurrency key counts calls in flight (unexpired leases), so
sleeping and waiting runs hold no slot; a throttle (GCRA) delays a run's first call, never drops it.
Engines claiming at once skip a partition another engine is claiming rather than wait for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from stepstone.protocol.config import FunctionConfig
from stepstone.server.core import gcra
from stepstone.server.runs.work import Work
from stepstone.server.store.base import Tx
from stepstone.server.store.records import QueueItemRecord, RunRecord, RunStatus

MAX_PARTITIONS = 64  # partitions visited per claim
CONCURRENCY = "concurrency limit"
THROTTLED = "throttled"


@dataclass
class Cursor:
    """Where the round robin over partitions goes on (each worker keeps its own)."""

    partition: str = ""


def claim(work: Work, *, owner: str, limit: int, cursor: Cursor) -> list[QueueItemRecord]:
    """Lease up to `limit` due items: timers and unconstrained calls, then constrained partitions."""
    lease_until = work.lease_until()
    lease_now = lease_until - work.lease_ms
    claimed = work.tx.claim_queue_items(
        now=work.now, lease_now=lease_now, lease_until=lease_until, owner=owner, limit=limit
    )
    visited, wrapped = 0, cursor.partition == ""
    while len(claimed) < limit and visited < MAX_PARTITIONS:
        partition = work.tx.next_partition(cursor.partition)
        if partition is None:
            if wrapped:
                break
            cursor.partition, wrapped = "", True
            continue
        cursor.partition = partition
        visited += 1
        if work.tx.try_lock_name(f"partition:{partition}"):
            claimed += _claim_partition(work, partition, limit - len(claimed), owner, lease_until, lease_now)
    return claimed


def _claim_partition(
    work: Work, partition: str, room: int, owner: str, lease_until: int, lease_now: int
) -> list[QueueItemRecord]:
    taken: list[QueueItemRecord] = []
    room_for: dict[str, int] = {}
    for item in work.tx.partition_candidates(partition, now=work.now, limit=room):
        keys = _limits(work, item)
        for key, limit in keys:
            if key not in room_for:  # a key another engine is counting right now counts as full
                locked = work.tx.try_lock_name(f"concurrency:{key}")
                room_for[key] = limit - work.tx.keys_in_use(key, lease_now=lease_now) if locked else 0
        full = [key for key, _ in keys if room_for[key] <= 0]
        if full:
            if item.ckey1 in full:
                break  # every item of the partition holds ckey1: the rest wait too, in order
            continue
        if not _throttle_admits(work, item):
            break  # later runs of the key wait behind the first one
        leased = work.tx.lease_item(item.id, owner=owner, lease_until=lease_until)
        if leased is not None:
            taken.append(leased)
            for key, _ in keys:
                room_for[key] -= 1
    return taken


def _limits(work: Work, item: QueueItemRecord) -> list[tuple[str, int]]:
    """The call's concurrency keys, with the function's limits as registered now (keys stay as evaluated)."""
    fn = work.catalog().get(item.function_id or "")
    return current_limits(fn.config if fn else None, (item.ckey1, item.climit1), (item.ckey2, item.climit2))


def current_limits(
    config: FunctionConfig | None, first: tuple[str | None, int | None], second: tuple[str | None, int | None]
) -> list[tuple[str, int]]:
    """Stored (key, limit) pairs with the limits of `config` (the function as registered now), if known."""
    limits = [first[1], second[1]]
    if config is not None:
        current = [limit.limit for limit in config.concurrency or [] if limit.limit > 0]
        limits = [current[0] if current else None, current[1] if len(current) > 1 else None]
    return [(key, limit) for key, limit in zip((first[0], second[0]), limits, strict=True) if key and limit]


def _throttle_admits(work: Work, item: QueueItemRecord) -> bool:
    """GCRA for a run's first call; a refused call is moved to when it would be admitted."""
    throttle = item.throttle
    if not throttle:
        return True
    decision = _throttle(throttle, work.tx.get_limiter(throttle["key"], work.now), work.now)
    if not decision.allowed:
        work.tx.reschedule_item(item.id, decision.retry_at)
        return False
    limit, period, burst = throttle["limit"], throttle["period_ms"], _burst(throttle)
    work.tx.put_limiter(throttle["key"], decision.tat, work.now + gcra.expires_after(period, limit, burst))
    return True


def _burst(throttle: dict[str, int]) -> int:
    """GCRA's burst for a throttle: `limit + burst` runs may start at once (Inngest's throttle docs)."""
    return max(throttle["limit"] + throttle["burst"] - 1, 0)


def _throttle(throttle: dict[str, int], tat: int | None, now: int) -> gcra.Decision:
    return gcra.decide(tat, now=now, period_ms=throttle["period_ms"], limit=throttle["limit"], burst=_burst(throttle))


def why_queued(tx: Tx, run: RunRecord, *, now: int, config: FunctionConfig | None) -> str | None:
    """Why a Queued run is waiting, worked out when asked (claims write nothing for a run they pass over)."""
    if run.status != RunStatus.QUEUED or run.reason is not None:
        return run.reason
    found = run.constraints
    throttle = found.throttle if run.started_at is None else None
    if throttle and not _throttle(throttle, tx.peek_limiter(throttle["key"], now), now).allowed:
        return THROTTLED
    lease_now = tx.lease_clock_ms()
    pairs = current_limits(
        config, (found.ckey1, found.climit1), (found.ckey2, found.climit2)
    )
    for key, limit in pairs:
        if tx.keys_in_use(key, lease_now=lease_now) >= limit:
            return CONCURRENCY
    return None
