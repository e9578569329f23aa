"""The dashboard's serving: every page answers the shell with its security headers, the assets are
revalidated, and with the dashboard off (`--no-dashboard`) `/` and the assets are 404 while the API stays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from stepstone.server.api.app import create_app
from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine
from stepstone.server.store.sqlite.store import SqliteStore

PAGES = ["/", "/apps", "/functions", "/functions/app-fn", "/runs", "/runs/R1", "/events", "/events/E1", "/audit"]
PAGES += ["/overview"]


async def client_for(tmp_path: Path, **settings: bool) -> AsyncIterator[httpx.AsyncClient]:
    store = SqliteStore(tmp_path / "stepstone.db")
    app = create_app(Engine(store, EngineSettings(**settings)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://engine") as client:
        yield client
    await store.close()


@pytest.fixture
async def on(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(tmp_path):
        yield client


@pytest.fixture
async def off(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(tmp_path, dashboard=False):
        yield client


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_answers_the_shell(on: httpx.AsyncClient, path: str) -> None:
    response = await on.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<meta name="stepstone-csrf"' in response.text and "{{csrf}}" not in response.text
    assert '<script type="module" src="/assets/app.js">' in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_assets_are_revalidated_with_their_etag(on: httpx.AsyncClient) -> None:
    first = await on.get("/assets/pages/run.js")
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    assert "javascript" in first.headers["content-type"]
    again = await on.get("/assets/pages/run.js", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert (await on.get("/assets/missing.js")).status_code == 404


async def test_the_dashboard_off_answers_404_and_keeps_the_api(off: httpx.AsyncClient) -> None:
    for path in ("/", "/runs", "/assets/app.js"):
        assert (await off.get(path)).status_code == 404, path
    assert (await off.get("/v1/runs")).status_code == 200
    assert "/" not in (await off.get("/openapi.json")).json()["paths"]
