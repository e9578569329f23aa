"""HTTP calls to the engine, written once for async and sync code.

A call sequence (send with retries, register, checkpoint) is a generator *flow*: it yields an
`HttpCall` and receives the `HttpReply` (or the `httpx.HTTPError`), or yields a `Pause` for a
backoff. `drive` runs a flow on an `httpx.AsyncClient`, `drive_sync` on an `httpx.Client`, so the
decisions live in one place and `send`/`send_sync` differ only in the driver.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import random
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

import aiohttp
import httpx
import orjson

from stepstone.protocol import headers, signing

try:
    VERSION = importlib.metadata.version("stepstone")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.0.0"

SDK_NAME = "stepstone-py"
SDK_HEADER = f"{SDK_NAME}:v{VERSION}"

# Backoff between retries: RETRY_BASE_DELAY * 2**attempt plus up to RETRY_BASE_DELAY of jitter.
RETRY_BASE_DELAY = 0.1

T = TypeVar("T")


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request a flow wants made."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pause:
    """A backoff a flow wants waited out."""

    seconds: float


@dataclass(frozen=True, slots=True)
class HttpReply:
    """An answer from the engine: what the flows read of it (building an `httpx.Response` for each step's
    checkpoint cost a tenth of the SDK's work per step)."""

    status_code: int
    content: bytes = b""

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return orjson.loads(self.content)


Reply = HttpReply | httpx.HTTPError | None
Flow = Generator[HttpCall | Pause, Reply, T]


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (0-based)."""
    return RETRY_BASE_DELAY * float(1 << attempt) + random.random() * RETRY_BASE_DELAY


def sdk_headers(*, framework: str | None = None, env: str | None = None) -> dict[str, str]:
    """Headers on every request the SDK sends and every response it gives."""
    result = {
        headers.CONTENT_TYPE: "application/json",
        headers.SDK: SDK_HEADER,
        headers.USER_AGENT: SDK_HEADER,
        headers.REQUEST_VERSION: str(headers.PREFERRED_REQUEST_VERSION),
    }
    if framework:
        result[headers.FRAMEWORK] = framework
    if env:
        result[headers.ENV] = env
    return result


def with_auth(call: HttpCall, key: str | None) -> HttpCall:
    """`call` with `Authorization: Bearer <hashed key>` when there is a key."""
    if not key:
        return call
    return replace(call, headers={**call.headers, headers.AUTHORIZATION: f"Bearer {signing.bearer_token(key)}"})


def authed(call: HttpCall, keys: Sequence[str | None]) -> Flow[Reply]:
    """Make `call` with the first key, and again with the fallback key if the engine answers 401/403."""
    present: list[str | None] = [key for key in keys if key] or [None]
    reply: Reply = None
    for key in present:
        reply = yield with_auth(call, key)
        if not (isinstance(reply, HttpReply) and reply.status_code in (401, 403)):
            break
    return reply


class AsyncSender(Protocol):
    """Makes one request for an async flow."""

    async def request(self, call: HttpCall) -> HttpReply: ...

    async def aclose(self) -> None: ...


class HttpxSender:
    """Requests through an `httpx.AsyncClient` (used when the client was given an httpx transport)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(self, call: HttpCall) -> HttpReply:
        response = await self.client.request(
            call.method, call.url, headers=call.headers, content=call.body, params=call.params or None
        )
        return HttpReply(response.status_code, response.content)

    async def aclose(self) -> None:
        await self.client.aclose()


class AiohttpSender:
    """Requests through aiohttp, the default for async code.

    A checkpointing function makes one request per step; measured here, httpx's async client cost
    about ten times aiohttp's CPU per request (`bench/`), which made it most of an app's work.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def request(self, call: HttpCall) -> HttpReply:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        url = call.url if not call.params else str(httpx.URL(call.url, params=call.params))
        try:
            async with self._session.request(call.method, url, headers=call.headers, data=call.body) as answer:
                return HttpReply(answer.status, await answer.read())
        except TimeoutError as err:
            raise httpx.TimeoutException(f"no answer within {self._timeout.total} s") from err
        except aiohttp.ClientConnectorError as err:
            raise httpx.ConnectError(str(err)) from err
        except aiohttp.ClientError as err:
            raise httpx.TransportError(str(err)) from err

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def drive(flow: Flow[T], client: AsyncSender) -> T:
    """Run `flow` with an async sender."""
    reply: Reply = None
    try:
        while True:
            item = flow.send(reply)
            if isinstance(item, Pause):
                await asyncio.sleep(item.seconds)
                reply = None
                continue
            try:
                reply = await client.request(item)
            except httpx.HTTPError as err:
                reply = err
    except StopIteration as stop:
        result: T = stop.value
        return result


def drive_sync(flow: Flow[T], client: httpx.Client) -> T:
    """Run `flow` with a sync client."""
    reply: Reply = None
    try:
        while True:
            item = flow.send(reply)
            if isinstance(item, Pause):
                time.sleep(item.seconds)
                reply = None
                continue
            try:
                response = client.request(
                    item.method, item.url, headers=item.headers, content=item.body, params=item.params or None
                )
                reply = HttpReply(response.status_code, response.content)
            except httpx.HTTPError as err:
                reply = err
    except StopIteration as stop:
        result: T = stop.value
        return result
