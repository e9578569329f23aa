"""Browser tests of the dashboard: a dev engine and the test app served from a background thread over real
HTTP, and Chromium (Debian's /usr/bin/chromium) driven by Playwright's sync API.

`page` fails a test on any error in the browser console or on the page, and on any request to a host other
than the engine's (such requests are aborted and recorded). Without Chromium the tests skip, except in CI
(`CI=true`), where they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from stepstone.server.api.app import create_app
from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine
from stepstone.server.store.sqlite.store import SqliteStore
from tests.browser import dashboard_app
from tests.harness import Served

CHROMIUM = Path(os.environ.get("STEPSTONE_CHROMIUM", "/usr/bin/chromium"))
TIMEOUT_MS = 15_000


class Dashboard:
    """A dev engine with the test app synced, running on its own event loop in a thread."""

    def __init__(self, tmp: Path, **settings: Any) -> None:
        self.tmp = tmp
        defaults: dict[str, Any] = {
            "poll_interval": timedelta(milliseconds=50),
            "lease": timedelta(seconds=5),
            "retry_interval": timedelta(milliseconds=100),
        }
        self.settings = EngineSettings(**{**defaults, **settings})
        self.url = ""
        self.app_url = ""
        self.extra_url = ""
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.main, name="dashboard-engine", daemon=True)
        self.http: httpx.Client | None = None

    def start(self) -> None:
        self.thread.start()
        if not self.ready.wait(30) or self.failure is not None:
            raise RuntimeError(f"the engine did not start: {self.failure!r}")
        self.http = httpx.Client(base_url=self.url, timeout=10)

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
        asgi, client = dashboard_app.build(served.url)
        app = Served(asgi)
        await app.start()
        self.app_url = f"{app.url}/api/inngest"
        problem = await engine.syncer.ping(self.app_url)
        assert problem is None, problem
        extra_asgi, extra_client = dashboard_app.build_extra(served.url)
        extra = Served(extra_asgi)
        await extra.start()
        self.extra_url = f"{extra.url}/api/inngest"  # an app to remove and add again
        assert await engine.syncer.ping(self.extra_url) is None
        self.ready.set()
        try:
            await self.stopping.wait()
        finally:
            await engine.stop()
            await app.stop()
            await client.aclose()
            await extra.stop()
            await extra_client.aclose()
            await served.stop()
            await store.close()

    def stop(self) -> None:
        if self.http is not None:
            self.http.close()
        if self.loop is not None and self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(30)

    # REST helpers, to set things up and to check what the dashboard did.

    def get(self, path: str, **params: Any) -> Any:
        assert self.http is not None
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def send(self, name: str, data: dict[str, Any] | None = None) -> str:
        assert self.http is not None
        response = self.http.post("/e/test-key", json={"name": name, "data": data or {}})
        assert response.status_code == 200, response.text
        ids: list[str] = response.json()["ids"]
        return ids[0]

    def runs_of(self, event_id: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.get(f"/v1/events/{event_id}/runs")["data"]
        return runs

    def run(self, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = self.get(f"/v1/runs/{run_id}")["data"]
        return run

    def wait_run(self, event_id: str, *statuses: str) -> dict[str, Any]:
        """The run `event_id` started, once its status is one of `statuses` (any, if none)."""

        def check() -> dict[str, Any] | None:
            runs = self.runs_of(event_id)
            if runs and (not statuses or runs[0]["status"] in statuses):
                return self.run(runs[0]["run_id"])
            return None

        return eventually(check)

    def wait_steps(self, run_id: str, *step_ids: str) -> dict[str, Any]:
        """The run once each of `step_ids` has a step record (a run waiting on an event has its wait step)."""

        def check() -> dict[str, Any] | None:
            run = self.run(run_id)
            return run if set(step_ids) <= {step["id"] for step in run["steps"]} else None

        return eventually(check)


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll `check` until it returns something truthy (a short wait between tries, never a fixed sleep)."""
    done = threading.Event()
    deadline = timeout / 0.02
    tries = 0
    while True:
        value = check()
        if value:
            return value
        tries += 1
        if tries > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        done.wait(0.02)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


# Package scope, not session: Playwright's sync API runs an event loop in the main thread while it is open, and
# the async tests that pytest runs after this package could not run theirs.
@pytest.fixture(scope="package")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Other hosts do not resolve inside the browser (no CDN or font can load); `watched_page` records any
        # request to them so that the test fails.
        args = ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
        chromium = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=args)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    engine = Dashboard(tmp_path_factory.mktemp("dashboard"))
    engine.start()
    yield engine
    engine.stop()


@dataclass
class Watch:
    """What a page did that a test must not: console errors, page errors, requests to other hosts."""

    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, fragment: str) -> None:
        """Accept console errors mentioning `fragment` (an expected 4xx answer the page shows)."""
        self.allowed.append(fragment)

    def unexpected(self) -> list[str]:
        return [error for error in self.errors if not any(fragment in error for fragment in self.allowed)]


@pytest.fixture
def watch(dashboard: Dashboard) -> Watch:
    return Watch(origin=dashboard.url)


@pytest.fixture
def page(browser: Any, dashboard: Dashboard, watch: Watch) -> Iterator[Any]:
    with watched_page(browser, watch) as tab:
        yield tab


@contextlib.contextmanager
def watched_page(browser: Any, watch: Watch) -> Iterator[Any]:
    """A tab on `watch.origin` that records console errors and requests to other hosts (which the browser
    cannot resolve); both fail the test when the tab closes.

    Requests are watched, not intercepted: with the synchronous Playwright API an interception handler runs
    only while the test is inside a Playwright call, so a request the page sends after a click would wait
    while the test polls the REST API with httpx (a form's POST stalled that way once in CI).
    """
    context = browser.new_context(base_url=watch.origin)
    context.set_default_timeout(TIMEOUT_MS)
    own = urlsplit(watch.origin).netloc

    def record(request: Any) -> None:
        url = request.url
        if urlsplit(url).netloc != own and not url.startswith(("data:", "blob:", "about:")):
            watch.foreign.append(url)

    context.on("request", record)
    tab = context.new_page()
    tab.on(
        "console",
        lambda message: (
            message.type == "error" and watch.errors.append(f"{message.text} at {message.location.get('url', '')}")
        ),
    )
    tab.on("pageerror", lambda error: watch.errors.append(f"page error: {error}"))
    yield tab
    context.close()
    assert not watch.foreign, f"requests to other hosts: {watch.foreign}"
    assert not watch.unexpected(), f"browser console errors: {watch.unexpected()}"
