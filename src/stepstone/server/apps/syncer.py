"""Syncing apps by URL (`-u`): the engine PUTs each app's serve URL, and the app registers itself.

Each URL is pinged at start-up and then every sync poll interval, so an app that was down is
synced as soon as it answers again, and an app that changed its functions is re-synced (a sync
with nothing new changes nothing).

The log says when an app is first synced and when it is back (INFO), when a sync fails (WARNING,
once per distinct problem), and nothing above DEBUG for the repeated syncs in between; what a sync
changed is logged by `POST /fn/register`, which the app calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson

from stepstone.protocol import headers as h
from stepstone.protocol import signing
from stepstone.server.core.clock import wall_ms
from stepstone.server.core.settings import EngineSettings
from stepstone.server.core.transport import AppResponse, Transport, TransportError

log = logging.getLogger("stepstone.syncer")
_PING_TIMEOUT_S = 30.0


def normalize_url(url: str) -> str:
    """Add `http://` when the scheme is missing."""
    return url if "://" in url else f"http://{url}"


def answer_problem(response: AppResponse) -> str | None:
    """Why an app's answer to the sync `PUT` means it did not register, or None.

    An SDK answers the `PUT` once its own `POST /fn/register` is done. The TypeScript SDK answers
    with the engine's status; the Python SDK answers 200 even when registration failed, with the
    engine's error body (inngest 0.5.19 `_internal/comm_lib/handler.py`), so the body is read too.
    """
    if response.status != 200:
        return f"the app answered the sync with {response.status}: {response.body[:500]!r}"
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(body, dict) and body.get("error"):
        return f"the app could not register: {str(body['error'])[:500]}"
    return None


class Syncer:
    def __init__(self, settings: EngineSettings, transport: Transport, urls: tuple[str, ...]) -> None:
        self.settings = settings
        self.transport = transport
        self.urls = [normalize_url(url) for url in urls]
        self.errors: dict[str, str | None] = {}  # the last ping's problem per URL (None: synced)
        self.synced: set[str] = set()  # URLs synced at least once
        self._added = asyncio.Event()

    def add(self, url: str) -> None:
        """Sync `url` from now on, as a `-u` URL (apps found by `apps.discovery`)."""
        url = normalize_url(url)
        if url not in self.urls:
            self.urls.append(url)
            self._added.set()

    async def run(self) -> None:
        """Ping every URL each poll interval; retry a failing one sooner (0.25 s, doubling up to the interval).
        Without URLs, wait for one to be added."""
        interval = self.settings.sync_poll_interval.total_seconds()
        loop = asyncio.get_running_loop()
        due: dict[str, float] = {}
        failures: dict[str, int] = {}
        while True:
            self._added.clear()
            for url in list(self.urls):
                if loop.time() < due.setdefault(url, loop.time()):
                    continue
                if await self.ping(url) is None:
                    failures[url] = 0
                    due[url] = loop.time() + interval
                else:
                    failures[url] = failures.get(url, 0) + 1
                    due[url] = loop.time() + min(interval, 0.25 * 2 ** (failures[url] - 1))
            wait = max(0.05, min(due.values()) - loop.time()) if due else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._added.wait(), wait)

    async def ping(self, url: str, *, timeout: float = _PING_TIMEOUT_S) -> str | None:
        """PUT the app's serve URL; return the problem, or None when the app synced (within `timeout` s)."""
        settings = self.settings
        body = orjson.dumps({"url": url})
        headers = {h.CONTENT_TYPE: "application/json", h.SERVER_KIND: settings.server_kind}
        if settings.signing_key:
            headers[h.SIGNATURE] = signing.sign_request(body, settings.signing_key, at=wall_ms() // 1000)
        problem: str | None = None
        try:
            response = await self.transport.request("PUT", url, body, headers, timeout=timeout, max_bytes=1024 * 1024)
        except TransportError as err:
            problem = str(err)
        else:
            problem = answer_problem(response)
        previous = self.errors.get(url)
        self.errors[url] = problem
        fields = {"action": "sync.failed" if problem else "sync.ok", "url": url}
        if problem is not None:
            if problem != previous:
                log.warning("could not sync %s: %s", url, problem, extra=fields)
        elif url not in self.synced:
            self.synced.add(url)
            log.info("synced %s", url, extra=fields)
        elif previous is not None:
            log.info("synced %s again", url, extra=fields)
        else:
            log.debug("synced %s", url, extra=fields)
        return problem
