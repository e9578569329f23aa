"""What the HTTP API takes: JSON under any content type, no cross-site changes, bounded bodies, offline /docs.

The engine runs in dev mode on SQLite with its movable dev clock (`POST /dev/clock/advance` needs it)
and reaches no app; requests go through the ASGI app in-process, as a browser or `curl -d` sends them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from stepstone.server.api.app import create_app
from stepstone.server.core.settings import EngineSettings, Limits
from stepstone.server.engine import Engine
from stepstone.server.store.sqlite.store import SqliteStore
from tests.harness import Harness
from tests.integration.offline import NoNetwork

HOST = "127.0.0.1:8288"
FORM = {"content-type": "application/x-www-form-urlencoded"}  # what `curl -d` sends
REGISTRATION = {"url": "http://127.0.0.1:9/api/inngest", "appName": "forms", "sdk": "py:v0.5.19", "functions": []}
RUN_ID = "01KB0000000000000000000000"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    store = SqliteStore(tmp_path / "stepstone.db")
    engine = Engine(store, EngineSettings(limits=Limits(max_request_bytes=1024)), transport=NoNetwork())
    await engine.start(release_all_leases=True)
    yield engine
    await engine.stop()
    await store.close()


@pytest.fixture
async def http(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
        yield client


async def stored_events(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = (await http.get("/v1/events")).json()["data"]
    return events


# JSON whatever the content type says


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/dev/clock/advance", {"duration": "10m"}),
        ("/fn/register", REGISTRATION),
        ("/e/dev", {"name": "shop/order.placed", "data": {"order_id": "A-1"}}),
    ],
)
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
async def test_a_json_body_is_read_as_json_whatever_its_content_type(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await http.post(path, content=orjson.dumps(body), headers=headers)
    assert response.status_code == 200, response.text


async def test_a_form_encoded_clock_advance_moves_the_clock(http: httpx.AsyncClient, engine: Engine) -> None:
    before = engine.clock.now_ms()
    response = await http.post("/dev/clock/advance", content=b'{"duration": "10m"}', headers=FORM)
    assert response.json()["offset_ms"] == 600_000
    assert engine.clock.now_ms() - before >= 600_000


@pytest.mark.parametrize("path", ["/dev/clock/advance", "/e/dev", "/fn/register"])
async def test_a_multipart_body_is_refused_with_a_pointer_to_json(http: httpx.AsyncClient, path: str) -> None:
    response = await http.post(path, files={"duration": ("d", b"10m")})
    assert response.status_code == 415
    assert response.json() == {
        "error": "send the body as JSON (Content-Type: application/json), not multipart/form-data",
        "status": 415,
    }


# cross-site requests

CROSS_SITE = [
    {"origin": "http://evil.example"},
    {"origin": "http://127.0.0.1:3000"},  # same host, another port
    {"origin": "https://127.0.0.1:8288"},  # same host and port, another scheme
    {"origin": "null"},  # sandboxed frames, file:// pages, some redirects
    {"sec-fetch-site": "cross-site"},
]
STATE_CHANGES = [
    ("POST", "/e/dev", {"name": "shop/order.placed"}),
    ("POST", f"/v1/checkpoint/{RUN_ID}/async", {"run_id": RUN_ID, "steps": []}),
    ("POST", "/dev/clock/advance", {"duration": "10m"}),
    ("POST", "/fn/register", REGISTRATION),
    ("POST", f"/v1/runs/{RUN_ID}/rerun", None),
    ("DELETE", f"/v1/runs/{RUN_ID}", None),
]


@pytest.mark.parametrize("headers", CROSS_SITE)
@pytest.mark.parametrize(("method", "path", "body"), STATE_CHANGES)
async def test_a_cross_site_state_change_is_refused(
    http: httpx.AsyncClient, engine: Engine, headers: dict[str, str], method: str, path: str, body: Any
) -> None:
    before = engine.clock.now_ms()
    response = await http.request(method, path, content=orjson.dumps(body) if body else None, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"].startswith("cross-site request refused")
    assert await stored_events(http) == []
    assert engine.clock.now_ms() - before < 600_000


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, the SDKs, other servers
        {"origin": f"http://{HOST}", "sec-fetch-site": "same-origin"},  # a page the engine serves
        {"origin": "http://127.0.0.1:8288"},
        {"sec-fetch-site": "none"},  # typed in the address bar
    ],
)
async def test_header_less_and_same_origin_requests_pass(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.post("/e/dev", json={"name": "shop/order.placed"}, headers=headers)
    assert response.status_code == 200, response.text
    assert len(await stored_events(http)) == 1


async def test_the_default_port_is_the_same_origin(engine: Engine) -> None:
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        response = await http.post("/e/dev", json={"name": "a"}, headers={"origin": "http://localhost:80"})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("headers", CROSS_SITE)
async def test_reads_with_a_foreign_origin_pass(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.get("/v1/runs", headers=headers)
    assert response.status_code == 200


# bounded bodies (the fixture's limit is 1024 bytes)


class Chunks:
    """A `receive` that sends a body of `count` chunks of `size` bytes and counts what was read."""

    def __init__(self, count: int, size: int) -> None:
        self.count = count
        self.size = size
        self.read = 0

    async def __call__(self) -> dict[str, Any]:
        if self.read == self.count:
            return {"type": "http.disconnect"}
        self.read += 1
        return {"type": "http.request", "body": b" " * self.size, "more_body": self.read < self.count}


async def call(engine: Engine, method: str, path: str, receive: Any, headers: list[tuple[bytes, bytes]]) -> int:
    """Call the ASGI app once; return the answer's status."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", HOST.encode()), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8288),
        "state": {},
    }
    await create_app(engine)(scope, receive, send)
    status: int = sent[0]["status"]
    return status


@pytest.mark.parametrize("path", ["/e/dev", f"/v1/checkpoint/{RUN_ID}/async", "/dev/clock/advance", "/fn/register"])
async def test_a_streamed_body_over_the_limit_is_cut_off_at_the_limit(engine: Engine, path: str) -> None:
    receive = Chunks(count=1000, size=100)  # 100 kB sent, 1 kB allowed
    assert await call(engine, "POST", path, receive, [(b"content-type", b"application/json")]) == 413
    assert receive.read == 11  # the first chunk past 1024 bytes, and not one more


async def test_a_content_length_over_the_limit_is_refused_before_reading(engine: Engine) -> None:
    receive = Chunks(count=20, size=100)
    assert await call(engine, "POST", "/e/dev", receive, [(b"content-length", b"2000")]) == 413
    assert receive.read == 0


async def test_a_body_at_the_limit_is_taken(http: httpx.AsyncClient) -> None:
    body = orjson.dumps({"name": "shop/order.placed", "data": {"pad": ""}})
    body = orjson.dumps({"name": "shop/order.placed", "data": {"pad": "x" * (1024 - len(body))}})
    assert len(body) == 1024
    assert (await http.post("/e/dev", content=body)).status_code == 200
    answer = await http.post("/e/dev", content=body + b" ")
    assert answer.status_code == 413
    assert answer.json() == {"error": "the request body is over the limit of 1024 bytes", "status": 413}


async def test_a_chunked_upload_over_the_limit_gets_its_413_over_http(tmp_path: Path) -> None:
    harness = Harness(tmp_path, limits=Limits(max_request_bytes=1024))
    await harness.start()
    try:

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(200):
                yield b" " * 1000

        for path in ("/e/dev", f"/v1/runs/{RUN_ID}/rerun"):
            response = await harness.http.post(path, content=chunks())
            assert response.status_code == 413, path
        assert (await harness.http.post("/e/dev", json={"name": "after/the.refusal"})).status_code == 200
    finally:
        await harness.stop()


# the dev clock's bounds


@pytest.mark.parametrize(
    "body",
    [
        {"seconds": 1e308},
        {"seconds": -1},
        {"seconds": "inf"},
        {"seconds": "nan"},
        {"duration": "9" * 400 + "s"},
        {"duration": "99999999999w"},
        {"duration": "101w" * 52},  # 105 years
        {"duration": "soon"},
    ],
)
async def test_a_clock_advance_out_of_bounds_is_a_400(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await http.post("/dev/clock/advance", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["status"] == 400


async def test_the_dev_clock_runs_at_most_100_years_ahead(http: httpx.AsyncClient) -> None:
    assert (await http.post("/dev/clock/advance", json={"duration": f"{99 * 365}d"})).status_code == 200
    response = await http.post("/dev/clock/advance", json={"duration": f"{2 * 365}d"})
    assert response.status_code == 400
    assert "at most 100 years ahead" in response.json()["error"]


# values a store cannot hold


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/e/dev", {"name": "shop/order\u0000placed"}),
        ("/e/dev", {"name": "shop/order.placed", "id": "A-1\u0000"}),
        ("/fn/register", {**REGISTRATION, "appName": "forms\u0000"}),
    ],
)
async def test_a_nul_character_where_a_store_cannot_keep_it_is_no_server_error(
    tmp_path: Path, backend: dict[str, Any], path: str, body: dict[str, Any]
) -> None:
    """PostgreSQL text holds no NUL character (a 400 there); SQLite does."""
    harness = Harness(tmp_path, backend=backend)
    await harness.start()
    try:
        response = await harness.http.post(path, json=body)
        assert response.status_code in (200, 400), response.text
        assert (await harness.http.post("/e/dev", json={"name": "still/fine"})).status_code == 200
    finally:
        await harness.stop()


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/e/dev", {"name": "deep", "data": nested(300)}),
        ("/e/dev", [{"name": "flat"}, {"name": "deep", "data": nested(300)}]),
        ("/fn/register", {**REGISTRATION, "capabilities": nested(300)}),
    ],
)
async def test_json_nested_deeper_than_the_store_writes_is_a_400(
    engine: Engine, path: str, body: dict[str, Any]
) -> None:
    """The store writes JSON with orjson, which stops at 254 levels (reading takes 1024)."""
    engine.settings = dataclasses.replace(engine.settings, limits=Limits())
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as http:
        response = await http.post(path, content=json.dumps(body))
        assert response.status_code == 400, response.text
        assert "nested too deeply" in response.json()["error"]


# /docs works offline


async def test_docs_use_local_assets_only(http: httpx.AsyncClient) -> None:
    page = await http.get("/docs")
    assert page.status_code == 200
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    assert {link.rsplit("/", 1)[-1] for link in links} >= {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}
    for link in links:
        assert link.startswith("/") and not link.startswith("//"), link
        assert (await http.get(link)).status_code == 200, link
    assert not re.search(r"https?://", page.text), "the page names an external URL"
