"""The baselines measured in the same run: a bare loopback HTTP round trip, the raw SQLite commit rate,
and the engine's outbound HTTP client choice (aiohttp vs httpx at 16 requests in flight).

The HTTP clients run on uvloop, as the engine's do (uvicorn picks uvloop when it is installed).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import httpx
import uvloop

T = TypeVar("T")
IN_FLIGHT = 16
# About the size of a small call request (ctx, one event, a few memos).
PAYLOAD = b'{"ctx":{"run_id":"01M87H1XQ2K5P0QZCYNCRZ2F49","attempt":0},"event":{"name":"bench/ten","data":{}},' + (
    b'"steps":{' + b",".join(b'"%040d":{"data":%d}' % (i, i) for i in range(5)) + b"}}"
)
HEADERS = {"content-type": "application/json"}

Request = Callable[[], Awaitable[None]]


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


async def sequential(request: Request, seconds: float, warmup: int = 50) -> list[float]:
    """Seconds of each request sent one after another for `seconds`."""
    for _ in range(warmup):
        await request()
    times = []
    deadline = time.perf_counter() + seconds
    while (now := time.perf_counter()) < deadline:
        await request()
        times.append(time.perf_counter() - now)
    return times


async def concurrent_rate(request: Request, seconds: float, in_flight: int = IN_FLIGHT) -> float:
    """Requests per second with `in_flight` requests outstanding at all times, for `seconds`."""
    await asyncio.gather(*(request() for _ in range(in_flight)))  # warm-up: open the connections
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await request()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(in_flight)))
    return done / (time.perf_counter() - started)


def aiohttp_session() -> aiohttp.ClientSession:
    """Configured as the engine's `AiohttpTransport`."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=60))


def aiohttp_request(session: aiohttp.ClientSession, url: str) -> Request:
    async def request() -> None:
        async with session.post(url, data=PAYLOAD, headers=HEADERS) as response:
            await response.read()

    return request


def httpx_request(client: httpx.AsyncClient, url: str) -> Request:
    async def request() -> None:
        response = await client.post(url, content=PAYLOAD, headers=HEADERS)
        response.raise_for_status()

    return request


async def loopback_round_trip(url: str, seconds: float) -> list[float]:
    """Seconds of each sequential aiohttp POST to the trivial app."""
    async with aiohttp_session() as session:
        return await sequential(aiohttp_request(session, url), seconds)


async def client_rates(url: str, seconds: float) -> dict[str, float]:
    """Requests/s at `IN_FLIGHT` requests in flight, per client configuration."""
    rates = {}
    async with aiohttp_session() as session:
        rates["aiohttp"] = await concurrent_rate(aiohttp_request(session, url), seconds)
    async with httpx.AsyncClient() as client:
        rates["httpx"] = await concurrent_rate(httpx_request(client, url), seconds)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=IN_FLIGHT)) as client:
        rates["httpx-16"] = await concurrent_rate(httpx_request(client, url), seconds)
    return rates


def sqlite_commit_rate(path: Path, *, journal: str, synchronous: str, seconds: float) -> float:
    """Commits/s of a loop of single-row INSERT + COMMIT on a fresh database file."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute(f"PRAGMA journal_mode={journal}")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        commits = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            db.execute("BEGIN")
            db.execute("INSERT INTO t (payload) VALUES (?)", ('{"data": 1}',))
            db.execute("COMMIT")
            commits += 1
        return commits / (time.perf_counter() - started)
    finally:
        db.close()
