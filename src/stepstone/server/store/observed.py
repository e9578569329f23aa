"""A store that tells an observer how long each transaction took and which failed (`core.observe`).

It wraps either backend and passes everything else through unchanged. The time is measured in the
awaiting task (so an observer sees the call the task is making: `observe.CURRENT_CALL`) and
includes any wait for the backend (SQLite's group commit, PostgreSQL's pool).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from stepstone.server.core.observe import Observer
from stepstone.server.store.base import Store, Tx
from stepstone.server.store.errors import Conflict, SchemaError, StoreError, StoreUnavailable, UnstorableValueError
from stepstone.server.store.migrations import SchemaStatus

T = TypeVar("T")

# The store's error classes as `stepstone_store_errors_total{kind}` names them
ERROR_KINDS: tuple[tuple[type[StoreError], str], ...] = (
    (StoreUnavailable, "unavailable"),
    (Conflict, "conflict"),
    (SchemaError, "schema"),
    (UnstorableValueError, "unstorable"),
)


def error_kind(err: StoreError) -> str:
    for cls, kind in ERROR_KINDS:
        if isinstance(err, cls):
            return kind
    return "other"


class ObservedStore:
    """`Store` with `transact` and `read` measured; the rest of the protocol passed through."""

    def __init__(self, inner: Store, observer: Observer) -> None:
        self.inner = inner
        self.observer = observer

    async def transact(self, script: Callable[[Tx], T]) -> T:
        return await self._measured("write", self.inner.transact, script)

    async def read(self, script: Callable[[Tx], T]) -> T:
        return await self._measured("read", self.inner.read, script)

    async def _measured(self, kind: str, run: Callable[[Callable[[Tx], T]], Any], script: Callable[[Tx], T]) -> T:
        started = time.perf_counter()
        try:
            result: T = await run(script)
        except StoreError as err:
            self.observer.transaction(kind, time.perf_counter() - started, error_kind(err))
            raise
        self.observer.transaction(kind, time.perf_counter() - started, None)
        return result

    def schema_status(self) -> SchemaStatus:
        return self.inner.schema_status()

    def upgrade(self) -> list[int]:
        return self.inner.upgrade()

    def set_quiet_check(self, quiet: Callable[[], bool]) -> None:
        self.inner.set_quiet_check(quiet)

    async def listen(self, on_work: Callable[[], None]) -> None:
        await self.inner.listen(on_work)

    async def close(self) -> None:
        await self.inner.close()

    def describe(self) -> str:
        return self.inner.describe()
