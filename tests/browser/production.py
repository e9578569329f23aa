"""A production engine with a dashboard password, served from a background thread for the browser tests, and a
second local server (another origin: another port of the same host) serving an attacker's page."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from stepstone.server.api.app import create_app
from stepstone.server.core.passwords import DashboardPassword
from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine
from stepstone.server.store.sqlite.store import SqliteStore
from tests.harness import Served

SIGNING_KEY = "signkey-prod-" + "9a" * 32
EVENT_KEY = "browser-event-key"
PASSWORD = "a long dashboard password"


class ProductionEngine:
    """`stepstone start --dashboard-password PASSWORD` on SQLite, on its own event loop in a thread."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.settings = EngineSettings(
            dev=False,
            signing_key=SIGNING_KEY,
            event_keys=(EVENT_KEY,),
            dashboard_password=DashboardPassword.derive(PASSWORD, SIGNING_KEY),
            poll_interval=timedelta(milliseconds=50),
        )
        self.url = ""
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.main, name="production-engine", daemon=True)
        self.http: httpx.Client | None = None

    def start(self) -> None:
        self.thread.start()
        if not self.ready.wait(30) or self.failure is not None:
            raise RuntimeError(f"the engine did not start: {self.failure!r}")
        self.http = httpx.Client(base_url=self.url, timeout=10, headers={"authorization": f"Bearer {SIGNING_KEY}"})

    def main(self) -> None:
        try:
            asyncio.run(self.serve())
        except BaseException as err:  # reported to the test through `start`
            self.failure = err
            self.ready.set()

    async def serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        store = SqliteStore(self.tmp / "stepstone.db")
        engine = Engine(store, self.settings)
        served = Served(create_app(engine))
        await served.start()
        await engine.start(release_all_leases=True)
        self.url = served.url
        self.ready.set()
        try:
            await self.stopping.wait()
        finally:
            await engine.stop()
            await served.stop()
            await store.close()

    def stop(self) -> None:
        if self.http is not None:
            self.http.close()
        if self.loop is not None and self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(30)

    def events(self, name: str) -> list[dict[str, Any]]:
        """The events named `name` the engine stored (read with the signing key)."""
        assert self.http is not None
        response = self.http.get("/v1/events", params={"name": name})
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["data"]
        return events


class OtherSite:
    """A web server on another port serving one HTML page: what a malicious site would show a logged-in user."""

    def __init__(self, page: str) -> None:
        body = page.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, name="other-site", daemon=True)

    def __enter__(self) -> OtherSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
