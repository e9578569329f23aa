"""AiohttpTransport against a tiny scripted HTTP/1.1 server: which broken connections it sends again."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from stepstone.server.core.transport import AiohttpTransport, TransportError

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
SILENCE = b""  # answer nothing and wait for the client to close


class App:
    """A minimal keep-alive HTTP/1.1 server on 127.0.0.1.

    `script(n)` decides what the n-th request of a connection (0, 1, ...) gets: raw bytes to send
    (then the next request is read from the same connection, unless `keep_alive` is off), or None to
    close the connection without answering.
    """

    def __init__(self, script: Callable[[int], bytes | None], *, keep_alive: bool = True) -> None:
        self.script = script
        self.keep_alive = keep_alive
        self.requests = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/api/inngest"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for writer in self._writers:
            writer.close()  # a handler still reading sees the end of its stream and returns
        await asyncio.gather(*self._handlers)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.append(writer)
        self.connections += 1
        try:
            for n in itertools.count():
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed the connection
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.requests += 1
                answer = self.script(n)
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
                if not self.keep_alive:
                    return
        except ConnectionError:
            pass
        finally:
            writer.close()


async def call(transport: AiohttpTransport, url: str, *, timeout: float = 10) -> bytes:
    response = await transport.request(
        "POST", url, b'{"event": {}}', {"content-type": "application/json"}, timeout=timeout, max_bytes=1000
    )
    assert response.status == 200
    return response.body


async def test_a_pooled_connection_the_app_closed_is_replaced_by_a_new_one() -> None:
    # The app answers the first request of a connection, then closes it on the next one without
    # answering: what a server closing an idle connection looks like when a call just went out on it.
    app = App(lambda n: OK if n == 0 else None)
    transport = AiohttpTransport()
    try:
        url = await app.start()
        assert await call(transport, url) == b"{}"
        assert await call(transport, url) == b"{}"
        assert app.requests == 3  # the second call went out twice
        assert app.connections == 2
    finally:
        await transport.close()
        await app.stop()


async def failed_call(app: App, *, timeout: float = 10) -> TransportError:
    """The error of one call to `app` (which is started and stopped around it)."""
    transport = AiohttpTransport()
    try:
        url = await app.start()
        with pytest.raises(TransportError) as caught:
            await call(transport, url, timeout=timeout)
        return caught.value
    finally:
        await transport.close()
        await app.stop()


async def test_an_app_that_always_closes_fails_after_three_attempts() -> None:
    app = App(lambda n: None)
    error = await failed_call(app)
    assert error.kind == "protocol"
    assert str(error).startswith("the request to the app failed: ")
    assert app.requests == 3


async def test_an_app_that_is_down_is_not_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    sends = 0
    request = aiohttp.ClientSession.request

    def counting(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
        nonlocal sends
        sends += 1
        return request(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "request", counting)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # nothing listens on the port now: connections are refused
    transport = AiohttpTransport()
    try:
        with pytest.raises(TransportError) as caught:
            await call(transport, f"http://127.0.0.1:{port}/api/inngest")
        assert caught.value.kind == "connect"
        assert str(caught.value).startswith(f"cannot connect to the app at http://127.0.0.1:{port}/api/inngest: ")
        assert sends == 1
    finally:
        await transport.close()


async def test_a_body_cut_short_is_not_sent_again() -> None:
    # headers announcing 100 bytes, then 10 of them, then the connection is closed
    app = App(lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", keep_alive=False)
    assert (await failed_call(app)).kind == "protocol"
    assert app.requests == 1


async def test_a_timeout_is_not_sent_again() -> None:
    app = App(lambda n: SILENCE)
    assert (await failed_call(app, timeout=0.5)).kind == "timeout"
    assert app.requests == 1
