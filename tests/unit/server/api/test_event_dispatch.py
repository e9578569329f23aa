"""The event API writes its answer before the runs it started reach their app.

An SDK's `send` must return before the function it triggered starts (the official SDKs' own tests
assert that order with client middleware): the engine hands a new run's first call to its worker
only once the answer's body is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import httpx
from starlette.types import Message, Receive, Scope, Send

from stepstone.protocol import config as wire
from stepstone.server.api.app import create_app
from stepstone.server.core.clock import FakeClock, wall_ms
from stepstone.server.core.settings import EngineSettings
from stepstone.server.core.transport import AppResponse
from stepstone.server.engine import Engine
from stepstone.server.store.sqlite.store import SqliteStore
from tests.harness import eventually
from tests.integration import scripted_app

# Turns of the event loop each part of the answer takes to be written, as to a slow reader: a call
# started before the answer would reach the app meanwhile.
WRITE_TURNS = 50


class RecordingTransport:
    """An app that answers every call with a function result, noting when a call reaches it."""

    def __init__(self, order: list[str]) -> None:
        self.order = order

    async def request(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, max_bytes: int
    ) -> AppResponse:
        self.order.append("call")
        return AppResponse(200, scripted_app.SDK_HEADERS, b'"done"')

    async def close(self) -> None:
        pass


async def test_the_answer_is_written_before_the_first_call_reaches_the_app(tmp_path: Path) -> None:
    order: list[str] = []
    store = SqliteStore(tmp_path / "db.sqlite")
    engine = Engine(
        store, EngineSettings(), engine_clock=FakeClock(start_ms=wall_ms()), transport=RecordingTransport(order)
    )
    api = create_app(engine)

    async def slow_writer(scope: Scope, receive: Receive, send: Send) -> None:
        async def write(message: Message) -> None:
            for _ in range(WRITE_TURNS):
                await asyncio.sleep(0)
            await send(message)
            order.append(message["type"])

        await api(scope, receive, write)

    registration = scripted_app.registration("http://app.test/api/inngest", event="test/go")
    await engine.register(wire.RegisterRequest.model_validate(registration))
    await engine.start(release_all_leases=True)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=slow_writer), base_url="http://e") as http:
            answer = await http.post("/e/key", json={"name": "test/go"})
        assert answer.status_code == 200, answer.text
        await eventually(lambda: asyncio.sleep(0, "call" in order))
        assert order == ["http.response.start", "http.response.body", "call"]
    finally:
        await engine.stop()
        await store.close()
