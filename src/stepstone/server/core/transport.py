"""How the executor reaches apps: a small interface and its implementations.

The production client is aiohttp: measured here it served about ten times what httpx did at 16
requests in flight (README, design). Tests route calls into in-process ASGI apps through httpx.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx

from stepstone.server.core.errors import EngineError


@dataclass(frozen=True)
class AppResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class TransportError(EngineError):
    """The app could not be reached, or did not answer in time (no usable response)."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind  # "connect", "timeout", "too_large" or "protocol"


class Transport(Protocol):
    async def request(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, max_bytes: int
    ) -> AppResponse:
        """Send one request and read the whole answer (at most `max_bytes`)."""
        ...

    async def close(self) -> None: ...


# App servers close idle keep-alive connections after a few seconds (uvicorn and Node: 5 s,
# gunicorn: 2 s). Dropping ours a little earlier keeps most calls off connections the app is closing.
KEEPALIVE_SECONDS = 4.0
# How many times a call is sent again when a connection broke before the app answered.
RESENDS = 2


class AiohttpTransport:
    """Keep-alive connections to every app, shared by all calls of an engine."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=0, ttl_dns_cache=60, enable_cleanup_closed=True, keepalive_timeout=KEEPALIVE_SECONDS
            )
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        return self._session

    async def request(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, max_bytes: int
    ) -> AppResponse:
        try:
            async with await self._send(method, url, body, headers, timeout) as response:
                chunks = []
                size = 0
                async for chunk in response.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TransportError(f"the app's answer is over {max_bytes} bytes", kind="too_large")
                    chunks.append(chunk)
                answer_headers = {name.lower(): value for name, value in response.headers.items()}
                return AppResponse(response.status, answer_headers, b"".join(chunks))
        except TimeoutError:
            raise TransportError(f"the app did not answer within {timeout:g} s", kind="timeout") from None
        except aiohttp.ClientConnectorError as err:
            raise TransportError(f"cannot connect to the app at {url}: {err.os_error}", kind="connect") from None
        except aiohttp.ClientError as err:
            raise TransportError(f"the request to the app failed: {err}", kind="protocol") from None

    async def _send(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> aiohttp.ClientResponse:
        """Send the request and read the answer's status and headers.

        When the connection breaks before any answer arrived (usually a pooled connection the app
        closed while idle), the request is sent again at once, at most `RESENDS` times, as Go's
        net/http does. Sending a call twice is safe here: calls are retried after failures anyway,
        a step's result is stored first-wins, and an answer under an outdated lease is dropped.
        Sending again keeps the deadline: `timeout` s after the first send, body included.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        resends = RESENDS
        remaining = timeout
        while True:
            try:
                return await self._client().request(
                    method, url, data=body, headers=dict(headers), timeout=aiohttp.ClientTimeout(total=remaining)
                )
            except aiohttp.ClientConnectorError:
                raise  # the app is down: sending again would not help
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                remaining = deadline - loop.time()
                if resends == 0 or remaining <= 0:  # (a total of 0 would mean no deadline at all)
                    raise
                resends -= 1

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            await asyncio.sleep(0)


class HttpxTransport:
    """Calls through an `httpx.AsyncClient` (tests: `httpx.ASGITransport` into an in-process app)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def request(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, max_bytes: int
    ) -> AppResponse:
        try:
            response = await self._client.request(method, url, content=body, headers=dict(headers), timeout=timeout)
        except httpx.TimeoutException:
            raise TransportError(f"the app did not answer within {timeout:g} s", kind="timeout") from None
        except httpx.ConnectError as err:
            raise TransportError(f"cannot connect to the app at {url}: {err}", kind="connect") from None
        except httpx.HTTPError as err:
            raise TransportError(f"the request to the app failed: {err}", kind="protocol") from None
        if len(response.content) > max_bytes:
            raise TransportError(f"the app's answer is over {max_bytes} bytes", kind="too_large")
        answer_headers = {name.lower(): value for name, value in response.headers.items()}
        return AppResponse(response.status_code, answer_headers, response.content)

    async def close(self) -> None:
        await self._client.aclose()
