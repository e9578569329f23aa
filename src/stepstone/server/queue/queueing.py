"""The queue: the one place that puts items in (with hand-offs), claims them under flow control, renews
their leases and releases them. The store runs one named query per verb; the policy is here.

A script enqueues with `enqueue`: a call due now may be *handed off*, written already leased to the
worker running the script, which runs it next without a poll or a claim. Workers `claim` the rest:
timers and free calls first, then limited partitions in turn; they `renew` the leases of what they
run and `release` what they stop running.

Calls of functions with a concurrency limit or a throttle live in partitions (one per function and
key). A claim visits partitions round robin from where the previous claim stopped, so one key with a
long backlog never holds back another key's runs (fairness). In a partition it leases the first due
items while the key has room: a concurrency key counts calls in flight (unexpired leases), so
sleeping and waiting runs hold no slot; a throttle (GCRA) delays a run's first call, never drops it.
Engines claiming at once skip a partition another engine is claiming rather than wait for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stepstone.protocol.config import FunctionConfig
from stepstone.server.core import gcra
from stepstone.server.core.observe import FactKind
from stepstone.server.functions.registry import Catalog
from stepstone.server.queue.work import Work
from stepstone.server.store.base import QueueTx, Tx
from stepstone.server.store.records import TIMERS, ItemKind, QueueItemRecord, RunRecord, RunStatus

MAX_PARTITIONS = 64  # partitions visited per claim
CONCURRENCY = "concurrency limit"
THROTTLED = "throttled"
PAUSED = "function paused"


@dataclass
class Cursor:
    """Where the round robin over partitions goes on (each worker keeps its own)."""

    partition: str = ""


def enqueue(work: Work, item: QueueItemRecord) -> bool:
    """Add `item` (False when its job key is taken); a due call may be handed to the script's worker.

    Timers go to their own partition. A call under flow control (concurrency, throttle) is never
    handed over: only a claim checks its limits.
    """
    if item.kind != ItemKind.CALL:
        item.partition, item.score = TIMERS, item.run_at
    held = item.kind == ItemKind.CALL and is_paused(work.known_catalog(), item.function_id)
    take = (
        not held
        and work.owner is not None
        and len(work.handoffs) < work.handoff_limit
        and item.kind == ItemKind.CALL
        and not item.constrained
        and item.run_at <= work.now
    )
    if take:
        item.lease_owner = work.owner
        item.lease_expires_at = work.lease_until()
        item.generation = 1
    inserted = work.queue.enqueue(item)
    if inserted and item.kind == ItemKind.CALL:
        _observe_call(work, item)
    if inserted and held:
        work.queue.hold_item(item.id)
        return inserted
    if inserted and take:
        work.handoffs.append(item)
    elif inserted and item.run_at <= work.now:
        work.woke = True
    return inserted


def reschedule(work: Work, item: QueueItemRecord) -> None:
    """Move a call (its retry, or a call that could not reach its app) to `item.run_at`, with its counters."""
    work.queue.reschedule(item)
    _observe_call(work, item)


def _observe_call(work: Work, item: QueueItemRecord) -> None:
    fn = work.known_catalog().slug_of(item.function_id)
    work.observe(FactKind.CALL_SCHEDULED, fn=fn, run_id=item.run_id or "", attempt=item.attempt)


def claim(work: Work, *, owner: str, limit: int, cursor: Cursor) -> list[QueueItemRecord]:
    """Lease up to `limit` due items: timers and unconstrained calls, then constrained partitions."""
    lease_until = work.lease_until()
    lease_now = lease_until - work.lease_ms
    claimed = claim_free(
        work.queue, now=work.now, lease_now=lease_now, lease_until=lease_until, owner=owner, limit=limit
    )
    visited, wrapped = 0, cursor.partition == ""
    while len(claimed) < limit and visited < MAX_PARTITIONS:
        partition = work.flow.next_partition(cursor.partition)
        if partition is None:
            if wrapped:
                break
            cursor.partition, wrapped = "", True
            continue
        cursor.partition = partition
        visited += 1
        if work.locks.try_lock_name(f"partition:{partition}"):
            claimed += _claim_partition(work, partition, limit - len(claimed), owner, lease_until, lease_now)
    if any(item.kind == ItemKind.CALL for item in claimed):  # the catalog is read for these calls anyway
        claimed = hold_paused(work, claimed)
    return claimed


def is_paused(catalog: Catalog, function_id: str | None) -> bool:
    fn = catalog.get(function_id) if function_id else None
    return fn is not None and fn.paused


def hold_paused(work: Work, items: list[QueueItemRecord]) -> list[QueueItemRecord]:
    """The items to run; calls of a paused function are held instead, until it resumes.

    A function's calls are held when it is paused (`functions.control.pause`) and when one is enqueued
    while it is paused; a call that slips past both (its retry rescheduled, or enqueued by an engine
    process that had not seen the pause yet) is held here, when a claim meets it.
    """
    catalog = work.catalog()
    kept = []
    for item in items:
        if item.kind == ItemKind.CALL and is_paused(catalog, item.function_id):
            work.queue.hold_item(item.id)
        else:
            kept.append(item)
    return kept


def claim_free(
    tx: QueueTx, *, now: int, lease_now: int, lease_until: int, owner: str, limit: int
) -> list[QueueItemRecord]:
    """Lease up to `limit` due timers and unconstrained calls, by score; each lease bumps the item's
    `generation`, which fences its previous holder.

    Leases that ended by `lease_now` (their worker died or stalled) are released first, so their items
    are claimed again.
    """
    tx.release_expired(lease_now=lease_now, limit=max(limit, 100))
    claimed: list[QueueItemRecord] = []
    for partition in (TIMERS, ""):  # timers first: a due sleep or timeout must not wait behind calls
        if len(claimed) < limit:
            claimed += tx.claim_partition(
                partition, now=now, lease_until=lease_until, owner=owner, limit=limit - len(claimed)
            )
    claimed.sort(key=lambda item: (item.score, item.id))
    return claimed


def renew(tx: QueueTx, owner: str, item_ids: Sequence[str], lease_ms: int) -> None:
    """Extend the leases `owner` holds on these items by `lease_ms` from now (the database's clock)."""
    tx.extend_leases(owner, item_ids, tx.lease_clock_ms() + lease_ms)


def release(tx: QueueTx, item_id: str, owner: str) -> None:
    """Let another worker claim this item now, rather than when `owner`'s lease ends."""
    tx.release_item(item_id, owner)


def release_all(tx: QueueTx, owner: str | None) -> int:
    """Release every lease `owner` holds (None: every lease, when an engine alone on its store starts)."""
    return tx.release_leases(owner)


def _claim_partition(
    work: Work, partition: str, room: int, owner: str, lease_until: int, lease_now: int
) -> list[QueueItemRecord]:
    taken: list[QueueItemRecord] = []
    room_for: dict[str, int] = {}
    contended: set[str] = set()
    for item in work.flow.partition_candidates(partition, now=work.now, limit=room):
        keys = _limits(work, item)
        for key, limit in keys:
            if key not in room_for:  # a key another engine is counting right now counts as full
                locked = work.locks.try_lock_name(f"concurrency:{key}")
                room_for[key] = limit - work.flow.keys_in_use(key, lease_now=lease_now) if locked else 0
                if not locked:
                    contended.add(key)
        full = [key for key, _ in keys if room_for[key] <= 0]
        if full:
            if item.ckey1 in full:
                if item.ckey1 not in contended:
                    _observe_held(work, partition, None)
                break  # every item of the partition holds ckey1: the rest wait too, in order
            if not contended.issuperset(full):
                _observe_held(work, partition, item.id)
            continue
        if not _throttle_admits(work, item):
            break  # later runs of the key wait behind the first one
        leased = work.flow.lease_item(item.id, owner=owner, lease_until=lease_until)
        if leased is not None:
            taken.append(leased)
            for key, _ in keys:
                room_for[key] -= 1
    return taken


def _observe_held(work: Work, partition: str, item_id: str | None) -> None:
    """Count the calls a full concurrency key holds (all due ones of the partition, or one), each once."""
    catalog = work.known_catalog()
    for function_id in work.flow.mark_held(partition, now=work.now, item_id=item_id):
        work.observe(FactKind.FLOW_HELD, fn=catalog.slug_of(function_id), status="concurrency")


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
    decision = _throttle(throttle, work.flow.get_limiter(throttle["key"], work.now), work.now)
    if not decision.allowed:
        work.flow.reschedule_item(item.id, decision.retry_at)
        fn = work.known_catalog().slug_of(item.function_id)
        work.observe(FactKind.FLOW_HELD, fn=fn, run_id=item.run_id or "", status="throttle")
        return False
    limit, period, burst = throttle["limit"], throttle["period_ms"], _burst(throttle)
    work.flow.put_limiter(throttle["key"], decision.tat, work.now + gcra.expires_after(period, limit, burst))
    return True


def _burst(throttle: dict[str, int]) -> int:
    """GCRA's burst for a throttle: `limit + burst` runs may start at once (Inngest's throttle docs)."""
    return max(throttle["limit"] + throttle["burst"] - 1, 0)


def _throttle(throttle: dict[str, int], tat: int | None, now: int) -> gcra.Decision:
    return gcra.decide(tat, now=now, period_ms=throttle["period_ms"], limit=throttle["limit"], burst=_burst(throttle))


def why_queued(tx: Tx, run: RunRecord, *, now: int, config: FunctionConfig | None, paused: bool = False) -> str | None:
    """Why a Queued run is waiting, worked out when asked (claims write nothing for a run they pass over)."""
    if run.status != RunStatus.QUEUED or run.reason is not None:
        return run.reason
    if paused:
        return PAUSED
    found = run.constraints
    throttle = found.throttle if run.started_at is None else None
    if throttle and not _throttle(throttle, tx.peek_limiter(throttle["key"], now), now).allowed:
        return THROTTLED
    lease_now = tx.lease_clock_ms()
    pairs = current_limits(config, (found.ckey1, found.climit1), (found.ckey2, found.climit2))
    for key, limit in pairs:
        if tx.keys_in_use(key, lease_now=lease_now) >= limit:
            return CONCURRENCY
    return None
