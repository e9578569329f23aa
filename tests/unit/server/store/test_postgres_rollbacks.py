"""PostgreSQL aborts one of two transactions that deadlock: the store runs the victim's script again."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from stepstone.server.store.postgres.store import PostgresStore

pytestmark = pytest.mark.postgres


async def test_a_deadlock_victim_is_run_again_and_both_scripts_commit(postgres_dsn: str) -> None:
    store = PostgresStore(postgres_dsn, pool_size=3)
    both_hold_one = threading.Barrier(2, timeout=10)
    runs = {"first": 0, "second": 0}

    def locking(name: str, order: tuple[str, str]) -> Any:
        def script(tx: Any) -> str:
            runs[name] += 1
            tx.lock_name(order[0], exclusive=True)
            if runs[name] == 1:
                both_hold_one.wait()  # each holds its first lock: taking the second deadlocks
            tx.lock_name(order[1], exclusive=True)
            tx.set_setting(name, "done")
            return name

        return script

    try:
        results = await asyncio.gather(
            store.transact(locking("first", ("a", "b"))), store.transact(locking("second", ("b", "a")))
        )
        assert sorted(results) == ["first", "second"]
        assert sorted(runs.values()) == [1, 2]  # PostgreSQL chose one victim, which ran again
        stored = await store.read(lambda tx: (tx.get_setting("first"), tx.get_setting("second")))
        assert stored == ("done", "done")
    finally:
        await store.close()
