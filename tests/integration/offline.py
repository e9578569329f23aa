"""A transport for engines that must reach no app: every call fails at once as unreachable."""

from __future__ import annotations

from collections.abc import Mapping

from stepstone.server.core.transport import AppResponse, TransportError


class NoNetwork:
    """The engine's way out when a test sends no call anywhere (a fuzzer's made-up URLs included)."""

    async def request(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, max_bytes: int
    ) -> AppResponse:
        raise TransportError(f"cannot connect to the app at {url}: this test reaches no network", kind="connect")

    async def close(self) -> None:
        pass
