"""Finding apps on this machine (`stepstone dev` without `-u` or `--app`), as Inngest's dev server does.

While no app is registered, every sync poll interval, the engine asks `127.0.0.1` on the ports where
development servers usually listen (and `$PORT`) for the serve paths the SDKs use; a URL whose `GET`
answer carries the `x-inngest-sdk` header is an app, and is synced from then on as a `-u` URL is. A
port nobody listens on is passed over after one refused connection. Once an app is registered the scan
stops, and it starts again if every app is removed. Only in dev mode: a production engine syncs the
apps it is told about.

May import: `server.core`, `server.apps.syncer`, `server.store`, `protocol`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

from stepstone.protocol import headers as h
from stepstone.server.apps.syncer import Syncer
from stepstone.server.core.settings import EngineSettings
from stepstone.server.core.transport import Transport, TransportError
from stepstone.server.store.base import Store

log = logging.getLogger("stepstone.discovery")

# Where Inngest's dev server looks (pkg/devserver/discovery/discovery.go), and so where users' apps are.
PORTS = (80, 443, *range(3000, 3011), 4321, 5000, 5173, 8000, 8080, 8081, 8787, 8888, *range(8910, 8916))
PATHS = ("/api/inngest", "/x/inngest", "/.netlify/functions/inngest", "/.redwood/functions/inngest")
_PROBE_TIMEOUT_S = 1.0


def ports(environ: Mapping[str, str], *, exclude: Iterable[int] = ()) -> tuple[int, ...]:
    """The ports to scan: the usual ones and `$PORT`, without `exclude` (the engine's own)."""
    extra = environ.get("PORT", "")
    chosen = [*PORTS, int(extra)] if extra.isdigit() and 0 < int(extra) < 65536 else list(PORTS)
    skipped = set(exclude)
    return tuple(port for port in dict.fromkeys(chosen) if port not in skipped)


def describe_ports(scanned: Iterable[int]) -> str:
    """`80, 443, 3000-3010, ...`: runs of consecutive ports shortened."""
    runs: list[list[int]] = []
    for port in sorted(set(scanned)):
        if runs and port == runs[-1][-1] + 1:
            runs[-1].append(port)
        else:
            runs.append([port])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs)


async def scan(transport: Transport, scanned: Iterable[int], paths: Iterable[str] = PATHS) -> list[str]:
    """The serve URLs on `127.0.0.1` whose `GET` answers as an SDK does, in port order."""

    async def probe(port: int) -> str | None:
        for path in paths:
            url = f"http://127.0.0.1:{port}{path}"
            try:
                response = await transport.request("GET", url, b"", {}, timeout=_PROBE_TIMEOUT_S, max_bytes=65536)
            except TransportError as err:
                if err.kind == "connect":
                    return None  # nothing listens on this port
                continue
            if h.SDK in response.headers:
                return url
        return None

    found = await asyncio.gather(*(probe(port) for port in scanned))
    return [url for url in found if url is not None]


class Discovery:
    """The scan loop of a dev engine: see the module docstring."""

    def __init__(self, settings: EngineSettings, transport: Transport, store: Store, syncer: Syncer) -> None:
        self.settings = settings
        self.transport = transport
        self.store = store
        self.syncer = syncer

    async def run(self) -> None:
        interval = self.settings.sync_poll_interval.total_seconds()
        while True:
            if not await self.store.read(lambda tx: tx.list_apps()):
                for url in await scan(self.transport, self.settings.discovery_ports):
                    if url not in self.syncer.urls:
                        log.info("found an app at %s", url, extra={"action": "app.discovered", "url": url})
                        self.syncer.add(url)
            await asyncio.sleep(interval)
