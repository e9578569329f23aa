"""The engine object itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine
from stepstone.server.store.sqlite.store import SqliteStore


async def test_the_engine_is_quiet_with_at_most_one_call_and_one_request(tmp_path: Path) -> None:
    """Quiet is when the SQLite store may commit a lone write at once (see `SqliteStore.set_quiet_check`)."""
    store = SqliteStore(tmp_path / "db.sqlite")
    engine = Engine(store, EngineSettings())
    item: Any = object()
    try:
        assert engine.quiet()
        engine.worker.in_flight["a"] = item
        engine.requests_in_flight = 1
        assert engine.quiet()  # one run's call, and its checkpoint
        engine.worker.in_flight["b"] = item
        assert not engine.quiet()
        del engine.worker.in_flight["b"]
        engine.requests_in_flight = 2
        assert not engine.quiet()
        assert store._quiet == engine.quiet  # the store asks the engine
    finally:
        await store.close()
