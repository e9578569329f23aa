"""The production dashboard's login over real HTTP: sessions, CSRF, the login rate limit, and no secret shown."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from stepstone.server.api import auth
from stepstone.server.api.dashboard import session
from stepstone.server.core.passwords import DashboardPassword
from tests.harness import Harness

SIGNING_KEY = "signkey-prod-" + "5e" * 32
EVENT_KEY = "event-key-dash-7c1"
PASSWORD = "correct horse battery staple"
CSRF_META = re.compile(r'<meta name="stepstone-csrf" content="([^"]*)">')
UNKNOWN_RUN = "01JZZZZZZZZZZZZZZZZZZZZZZZ"


def production(tmp_path: Path, password: str | None = PASSWORD, **settings: Any) -> Harness:
    derived = DashboardPassword.derive(password, SIGNING_KEY) if password else None
    return Harness(
        tmp_path, dev=False, signing_key=SIGNING_KEY, event_keys=(EVENT_KEY,), dashboard_password=derived, **settings
    )


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = production(tmp_path)
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
async def browser(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps no cookies by itself: each test says what it sends."""
    async with httpx.AsyncClient(base_url=harness.url, timeout=10) as client:
        yield client


async def log_in(
    client: httpx.AsyncClient, password: str = PASSWORD, name: str = "ada", **extra: str
) -> httpx.Response:
    response = await client.post("/login", data={"name": name, "password": password, **extra})
    client.cookies.clear()
    return response


async def session_cookie(client: httpx.AsyncClient) -> dict[str, str]:
    response = await log_in(client)
    assert response.status_code == 303, response.text
    return {"cookie": f"{session.COOKIE}={response.cookies[session.COOKIE]}"}


async def csrf_of(client: httpx.AsyncClient, cookie: dict[str, str]) -> str:
    page = await client.get("/runs", headers=cookie)
    assert page.status_code == 200
    match = CSRF_META.search(page.text)
    assert match is not None and match.group(1)
    return match.group(1)


async def test_pages_send_to_the_login_and_a_right_password_opens_them(
    harness: Harness, browser: httpx.AsyncClient
) -> None:
    first = await browser.get("/runs/abc", params={"status": "Failed"})
    assert first.status_code == 303 and first.headers["location"] == "/login?next=%2Fruns%2Fabc%3Fstatus%3DFailed"
    form = await browser.get(first.headers["location"])
    assert form.status_code == 200 and 'name="password"' in form.text
    assert 'value="/runs/abc?status=Failed"' in form.text

    answer = await log_in(browser, next="/runs/abc?status=Failed")
    assert answer.status_code == 303 and answer.headers["location"] == "/runs/abc?status=Failed"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{session.COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=43200"):
        assert attribute.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http: a Secure cookie would never come back
    headers = {"cookie": f"{session.COOKIE}={answer.cookies[session.COOKIE]}"}
    assert (await browser.get("/runs", headers=headers)).status_code == 200
    assert (await browser.get("/login", headers=headers)).headers["location"] == "/"
    assert (await browser.get("/v1/runs", headers=headers)).status_code == 200


async def test_a_wrong_password_is_a_401_that_says_not_which_part(
    harness: Harness, browser: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await log_in(browser, password="wrong guess")
    assert answer.status_code == 401
    assert "the name or the password is not right" in answer.text
    assert "set-cookie" not in answer.headers
    assert "wrong guess" not in answer.text and 'value="ada"' in answer.text  # the name stays, never the password
    assert (await log_in(browser, name="  ")).status_code == 400
    assert (await log_in(browser, name="api")).status_code == 400  # "api" and "dev" mean keys and dev mode
    right = await log_in(browser)
    assert right.status_code == 303
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "wrong guess" not in logged and PASSWORD not in logged
    assert "dashboard login: ada" in logged


async def test_links_to_other_sites_are_not_followed_after_login(browser: httpx.AsyncClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/login", "runs"):
        answer = await log_in(browser, next=target)
        assert answer.headers["location"] == "/", target


async def test_rest_calls_with_a_session_need_its_csrf_token_when_they_change_something(
    harness: Harness, browser: httpx.AsyncClient
) -> None:
    cookie = await session_cookie(browser)
    token = await csrf_of(browser, cookie)
    assert (await browser.get("/v1/apps", headers=cookie)).status_code == 200  # reads need no token

    refused = await browser.delete(f"/v1/runs/{UNKNOWN_RUN}", headers=cookie)
    assert refused.status_code == 403 and "X-Stepstone-CSRF" in refused.json()["error"]
    wrong = await browser.delete(f"/v1/runs/{UNKNOWN_RUN}", headers={**cookie, "x-stepstone-csrf": token[:-2] + "xx"})
    assert wrong.status_code == 403
    allowed = await browser.delete(f"/v1/runs/{UNKNOWN_RUN}", headers={**cookie, "x-stepstone-csrf": token})
    assert allowed.status_code == 404  # through auth: the run does not exist

    same_site = {**cookie, "x-stepstone-csrf": token, "sec-fetch-site": "same-site"}  # another port of this host
    assert (await browser.delete(f"/v1/runs/{UNKNOWN_RUN}", headers=same_site)).status_code == 403
    other_origin = {**cookie, "x-stepstone-csrf": token, "origin": "http://127.0.0.1:1"}
    assert (await browser.delete(f"/v1/runs/{UNKNOWN_RUN}", headers=other_origin)).status_code == 403
    own_origin = {**cookie, "x-stepstone-csrf": token, "origin": harness.url, "sec-fetch-site": "same-origin"}
    assert (await browser.delete(f"/v1/runs/{UNKNOWN_RUN}", headers=own_origin)).status_code == 404


async def test_the_signing_key_and_the_event_api_need_no_csrf_token(
    harness: Harness, browser: httpx.AsyncClient
) -> None:
    cookie = await session_cookie(browser)
    bearer = {"authorization": f"Bearer {SIGNING_KEY}"}
    assert (await browser.delete(f"/v1/runs/{UNKNOWN_RUN}", headers=bearer)).status_code == 404
    assert (await browser.delete(f"/v1/runs/{UNKNOWN_RUN}", headers={**bearer, **cookie})).status_code == 404
    sent = await browser.post(f"/e/{EVENT_KEY}", json={"name": "a/b"}, headers=cookie)
    assert sent.status_code == 200
    # The SDK routes take the signing key only.
    assert (await browser.get(f"/v0/runs/{UNKNOWN_RUN}/batch", headers=cookie)).status_code == 401


async def test_no_session_or_a_forged_one_is_refused(harness: Harness, browser: httpx.AsyncClient) -> None:
    cookie = await session_cookie(browser)
    value = cookie["cookie"].partition("=")[2]
    payload, _, mac = value.partition(".")
    forged = [
        "",
        "garbage",
        f"{payload}.",
        f"{payload}.{mac[:-2]}AA",
        f"{payload[:-2]}AA.{mac}",
        f"{payload}.{mac}.x",
        f"{session.new_cookie(DashboardPassword.derive('other', SIGNING_KEY), 'eve', 0)[0]}",
    ]
    for value in forged:
        headers = {"cookie": f"{session.COOKIE}={value}"}
        assert (await browser.get("/v1/runs", headers=headers)).status_code == 401, value
        assert (await browser.get("/", headers=headers)).status_code == 303, value
    assert (await browser.get("/v1/runs")).json()["error"] == auth.SIGNING_KEY_REFUSED


async def test_a_session_expires_after_twelve_hours_of_the_engine_clock(
    harness: Harness, browser: httpx.AsyncClient
) -> None:
    cookie = await session_cookie(browser)
    await harness.advance(session.LIFETIME - timedelta(seconds=1))
    assert (await browser.get("/v1/runs", headers=cookie)).status_code == 200
    await harness.advance(timedelta(seconds=1))
    assert (await browser.get("/v1/runs", headers=cookie)).status_code == 401
    assert (await browser.get("/", headers=cookie)).status_code == 303


async def test_logout_clears_the_cookie(harness: Harness, browser: httpx.AsyncClient) -> None:
    cookie = await session_cookie(browser)
    answer = await browser.post("/logout", headers=cookie)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    cleared = answer.headers["set-cookie"]
    assert cleared.startswith(f'{session.COOKIE}="";') and "max-age=0" in cleared.lower()
    refused = await browser.post("/logout", headers={**cookie, "origin": "http://evil.example"})
    assert refused.status_code == 403


async def test_login_refusals_are_limited_per_address(harness: Harness, browser: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await log_in(browser, password="nope")).status_code == 401
    limited = await log_in(browser)  # even the right password waits
    assert limited.status_code == 429 and limited.headers["retry-after"] == "12"
    assert "try again in 12 s" in limited.text
    await harness.advance(timedelta(seconds=11))
    assert (await log_in(browser)).status_code == 429
    await harness.advance(timedelta(seconds=1))
    assert (await log_in(browser, password="nope")).status_code == 401
    assert (await log_in(browser)).status_code == 429
    await harness.advance(timedelta(seconds=12))
    assert (await log_in(browser)).status_code == 303


async def test_a_session_is_valid_on_every_engine_with_the_same_key_and_password(
    tmp_path: Path, browser: httpx.AsyncClient
) -> None:
    cookie = await session_cookie(browser)
    (tmp_path / "same").mkdir()
    (tmp_path / "other").mkdir()
    same, other = production(tmp_path / "same"), production(tmp_path / "other", password="another password")
    try:
        await same.start()
        await other.start()
        assert (await same.http.get("/v1/runs", headers=cookie)).status_code == 200
        assert (await other.http.get("/v1/runs", headers=cookie)).status_code == 401
    finally:
        await same.stop()
        await other.stop()


async def test_without_a_password_a_production_dashboard_is_off(tmp_path: Path) -> None:
    harness = production(tmp_path, password=None)
    await harness.start()
    try:
        for path in ("/", "/runs", "/login"):
            page = await harness.http.get(path)
            assert page.status_code == 404 and "--dashboard-password" in page.text, path
        assert (await harness.http.post("/login", data={"name": "a", "password": ""})).status_code == 404
    finally:
        await harness.stop()


async def test_dev_mode_has_no_login(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    await harness.start()
    try:
        assert (await harness.http.get("/runs")).status_code == 200
        assert (await harness.http.get("/login")).headers["location"] == "/"
        assert (await harness.http.delete(f"/v1/runs/{UNKNOWN_RUN}")).status_code == 404  # no token in dev mode
    finally:
        await harness.stop()


async def test_nothing_secret_is_shown(harness: Harness, browser: httpx.AsyncClient) -> None:
    cookie = await session_cookie(browser)
    secrets = [SIGNING_KEY, SIGNING_KEY.removeprefix("signkey-prod-"), EVENT_KEY, PASSWORD]
    paths = ["/", "/runs", "/apps", "/functions", "/events", "/audit", "/login", "/v1/apps", "/v1/functions"]
    paths += ["/openapi.json", "/v1/info"]
    for path in paths:
        answer = await browser.get(path, headers=cookie)
        assert answer.status_code in (200, 303, 404), path
        for secret in secrets:
            assert secret not in answer.text, path
    assert "hidden" in repr(harness.settings.dashboard_password) and PASSWORD not in repr(harness.settings)


async def test_every_rest_route_takes_a_session_and_its_csrf_token(
    harness: Harness, browser: httpx.AsyncClient
) -> None:
    """Each operation under /v1 and /v2 in the OpenAPI document: a session may read, and may change with its
    token only (a route declared with the SDK routes' dependency would refuse the dashboard)."""
    cookie = await session_cookie(browser)
    token = await csrf_of(browser, cookie)
    document = (await browser.get("/openapi.json")).json()
    checked = 0
    for path, operations in document["paths"].items():
        if not path.startswith(("/v1/", "/v2/")) or path == "/v1/checkpoint/{run_id}/async":  # the SDKs' own
            continue
        url = re.sub(r"\{[^}]+\}", UNKNOWN_RUN, path)
        for method in operations:
            if method.upper() in ("GET", "HEAD"):
                answer = await browser.request(method, url, headers=cookie)
                assert answer.status_code != 401, (method, path, answer.text)
            else:
                refused = await browser.request(method, url, headers=cookie, json={})
                assert refused.status_code == 403, (method, path, refused.text)
                answer = await browser.request(method, url, headers={**cookie, "x-stepstone-csrf": token}, json={})
                assert answer.status_code not in (401, 403), (method, path, answer.text)
            checked += 1
    assert checked > 10


async def test_the_audit_log_records_the_login_name_or_api(harness: Harness, browser: httpx.AsyncClient) -> None:
    cookie = await session_cookie(browser)  # logged in as "ada"
    token = await csrf_of(browser, cookie)
    sent = await browser.post("/v1/events", json={"name": "audit/me"}, headers={**cookie, "x-stepstone-csrf": token})
    assert sent.status_code == 200, sent.text
    bearer = {"authorization": f"Bearer {SIGNING_KEY}"}
    assert (await browser.post("/v1/events", json={"name": "audit/key"}, headers=bearer)).status_code == 200
    refused = await browser.post("/v1/events", json={"name": "audit/no-token"}, headers=cookie)
    assert refused.status_code == 403
    records = (await browser.get("/v1/audit", headers=bearer)).json()["data"]
    assert [(record["actor"], record["action"]) for record in records][:2] == [
        ("api", "events.send"),
        ("ada", "events.send"),
    ]
    assert len(records) == 2  # the refused request is not recorded


def test_the_startup_log_says_where_the_dashboard_is_or_how_to_turn_it_on(tmp_path: Path) -> None:
    from stepstone.cli.main import Served, _dashboard_line
    from stepstone.cli.stores import StoreOptions
    from stepstone.server.core.settings import EngineSettings

    def line(**settings: Any) -> str:
        store = StoreOptions(tmp_path / "x.db", None, 1, "full")
        return _dashboard_line(Served("127.0.0.1", 8288, store, EngineSettings(**settings), "info"))

    assert line() == "Dashboard on http://127.0.0.1:8288/"
    assert "--dashboard-password" in line(dev=False, signing_key=SIGNING_KEY)
    with_password = line(dev=False, signing_key=SIGNING_KEY, dashboard_password=DashboardPassword.derive("pw", "ab"))
    assert with_password == "Dashboard on http://127.0.0.1:8288/ (log in with the dashboard password)"
    assert line(dashboard=False) == "Dashboard off (--no-dashboard)"


async def test_over_https_the_cookie_is_secure(harness: Harness) -> None:
    transport = httpx.ASGITransport(app=harness.served.server.config.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://dash.example") as client:
        answer = await client.post("/login", data={"name": "ada", "password": PASSWORD})
    assert answer.status_code == 303
    assert "; secure" in answer.headers["set-cookie"].lower()
