"""An engine and apps served over real loopback HTTP inside the test's event loop.

The engine runs on SQLite in a temporary directory with a `FakeClock`; tests move time with
`advance()` and wait for conditions with `eventually()` (which polls, never sleeps a fixed time).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.types import ASGIApp

from stepstone.server.api.app import create_app
from stepstone.server.core.clock import FakeClock, wall_ms
from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine

T = TypeVar("T")


def free_socket(port: int = 0) -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only for proto TCP, and without it
    # every answer stalls for a delayed ACK (40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


class Served:
    """An ASGI app on a loopback port, served by uvicorn as a task of the current loop."""

    def __init__(self, app: ASGIApp, sock: socket.socket | None = None) -> None:
        self.sock = sock or free_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:  # noqa: ASYNC110 - uvicorn offers no event for this
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
        self.sock.close()


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: T | None = None
    while True:
        last = await check()
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
        await asyncio.sleep(0.01)


class Harness:
    """An engine on SQLite with a fake clock, reachable at `self.url`."""

    def __init__(self, tmp_path: Path, backend: dict[str, Any] | None = None, **settings: Any) -> None:
        # The fake clock starts at the real time: the official SDKs compute sleeps from their own clock.
        self.clock = FakeClock(start_ms=wall_ms())
        from tests.conftest import open_store

        self.backend = backend or {"kind": "sqlite", "path": tmp_path / "stepstone.db"}
        self.store = open_store(self.backend)
        defaults: dict[str, Any] = {"poll_interval": timedelta(milliseconds=50), "lease": timedelta(seconds=5)}
        defaults.update(settings)
        self.settings = EngineSettings(**defaults)
        self.engine = Engine(self.store, self.settings, engine_clock=self.clock)
        self.sock = free_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.served = Served(create_app(self.engine), self.sock)
        self.apps: list[Served] = []
        self.http = httpx.AsyncClient(base_url=self.url, timeout=10)

    async def start(self) -> None:
        await self.served.start()
        await self.engine.start(release_all_leases=True)

    async def restart(self) -> None:
        """Stop the engine and start a new one on the same database and port: what it knows comes from the store."""
        from tests.conftest import open_store

        port = self.sock.getsockname()[1]
        # A call still in flight after a moment is cut off, as a crash would, and runs again after the restart.
        self.engine.settings = dataclasses.replace(self.settings, drain_timeout=timedelta(milliseconds=200))
        await self.engine.stop()
        await self.served.stop()
        await self.store.close()
        self.store = open_store(self.backend)
        self.engine = Engine(self.store, self.settings, engine_clock=self.clock)
        self.sock = free_socket(port)
        self.served = Served(create_app(self.engine), self.sock)
        await self.start()

    async def serve_app(self, app: ASGIApp, sock: socket.socket | None = None) -> Served:
        served = Served(app, sock)
        await served.start()
        self.apps.append(served)
        return served

    async def sync(self, app_url: str) -> None:
        """PUT the app's serve URL, as `stepstone dev -u` does, and check it synced."""
        problem = await self.engine.syncer.ping(app_url)
        assert problem is None, problem

    async def send(self, name: str, data: dict[str, Any] | None = None, **fields: Any) -> str:
        response = await self.http.post("/e/test-key", json={"name": name, "data": data or {}, **fields})
        assert response.status_code == 200, response.text
        ids: list[str] = response.json()["ids"]
        return ids[0]

    async def runs_for(self, event_id: str) -> list[dict[str, Any]]:
        response = await self.http.get(f"/v1/events/{event_id}/runs")
        assert response.status_code == 200, response.text
        runs: list[dict[str, Any]] = response.json()["data"]
        return runs

    async def run(self, run_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/runs/{run_id}")
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()["data"]
        return run

    async def wait_run(
        self, event_id: str, *, status: str = "Completed", function_id: str | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """The run an event started (of `function_id`, if several) once it has `status`."""

        async def check() -> dict[str, Any] | None:
            for summary in await self.runs_for(event_id):
                if function_id and summary["function_id"] != function_id:
                    continue
                if summary["status"] == status:
                    return await self.run(summary["run_id"])
            return None

        return await eventually(check, timeout=timeout)

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await asyncio.sleep(0)

    async def stop(self) -> None:
        await self.engine.stop()
        for served in self.apps:
            await served.stop()
        await self.served.stop()
        await self.http.aclose()
        await self.store.close()


def quiet_logs() -> None:
    logging.getLogger("stepstone.access").setLevel(logging.WARNING)
