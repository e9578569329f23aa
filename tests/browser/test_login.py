"""The production dashboard's login in Chromium: a wrong password is refused, the right one gets in, and a page of
another origin (a second local server) cannot change anything through the logged-in browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS, eventually
from tests.browser.production import PASSWORD, OtherSite, ProductionEngine


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionEngine]:
    engine = ProductionEngine(tmp_path_factory.mktemp("production"))
    engine.start()
    yield engine
    engine.stop()


@pytest.fixture
def tab(browser: Any, production: ProductionEngine) -> Iterator[Any]:
    """A fresh browser profile (no cookie); fails the test on a script error in any page."""
    context = browser.new_context(base_url=production.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def log_in(page: Any, password: str = PASSWORD, name: str = "grace") -> Any:
    """Fill the login form and submit it; the answer to the form's POST (after any redirect)."""
    if "/login" not in page.url:
        page.goto("/login")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Log in").click()
    return navigation.value


def test_a_wrong_password_is_refused_and_the_right_one_gets_in(tab: Any, production: ProductionEngine) -> None:
    tab.goto("/runs?status=Failed")
    assert tab.url.endswith("/login?next=%2Fruns%3Fstatus%3DFailed")

    refused = log_in(tab, password="not the password")
    assert refused.status == 401
    assert "the name or the password is not right" in tab.get_by_role("alert").inner_text()
    assert tab.context.cookies() == []
    assert tab.get_by_label("Password").input_value() == ""

    assert log_in(tab).status == 200
    assert tab.url.endswith("/runs?status=Failed")
    tab.get_by_role("link", name="Runs", exact=True).wait_for()
    (cookie,) = tab.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    assert tab.evaluate("document.cookie") == ""  # HttpOnly: no script reads it

    # The pages' own requests (with the CSRF token from the meta) change state; the same without it is refused.
    send = """async (withToken) => {
        const token = document.querySelector('meta[name="stepstone-csrf"]').content;
        const headers = {"content-type": "application/json"};
        if (withToken) headers["X-Stepstone-CSRF"] = token;
        const name = withToken ? "login/with-token" : "login/without-token";
        const response = await fetch("/v1/events", {method: "POST", headers, body: JSON.stringify({name})});
        return response.status;
    }"""
    assert tab.evaluate(send, True) == 200
    assert tab.evaluate(send, False) == 403
    assert len(production.events("login/with-token")) == 1
    assert production.events("login/without-token") == []


ATTACK = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>win a prize</title></head><body>
<form id="attack" method="post" action="{engine}/v1/events" enctype="text/plain">
  <input type="hidden" name='{{"name": "evil/form", "data": {{"x": "' value='"}}}}'>
  <button type="submit">Claim the prize</button>
</form>
<p id="results"></p>
<script>
const engine = {engine_json};
const tries = [
  ["no-cors", fetch(engine + "/v1/events", {{method: "POST", mode: "no-cors", credentials: "include",
    headers: {{"content-type": "text/plain"}}, body: JSON.stringify({{name: "evil/no-cors"}})}})],
  ["cors", fetch(engine + "/v1/events", {{method: "POST", credentials: "include",
    headers: {{"content-type": "application/json", "X-Stepstone-CSRF": "guess"}},
    body: JSON.stringify({{name: "evil/cors"}})}})],
  ["delete", fetch(engine + "/v1/apps/x", {{method: "DELETE", credentials: "include", mode: "no-cors"}})],
];
Promise.allSettled(tries.map(([, promise]) => promise)).then((outcomes) => {{
  document.getElementById("results").textContent = outcomes.map((outcome, i) => tries[i][0] + ":" + outcome.status)
    .join(" ");
}});
</script>
</body></html>
"""


def test_a_page_of_another_origin_changes_nothing(tab: Any, production: ProductionEngine) -> None:
    assert log_in(tab).status == 200
    page = ATTACK.format(engine=production.url, engine_json=json.dumps(production.url))
    with OtherSite(page) as other:
        tab.goto(other.url)
        results = tab.locator("#results")
        eventually(lambda: results.inner_text())
        # A no-cors request goes out (its answer is opaque); the CORS one is stopped by its preflight.
        assert "cors:rejected" in results.inner_text()
        with tab.expect_navigation() as navigation:
            tab.get_by_role("button", name="Claim the prize").click()
        assert navigation.value.status == 403
        assert "cross-site request refused" in tab.content()
    for name in ("evil/form", "evil/no-cors", "evil/cors"):
        assert production.events(name) == [], name
    # Still logged in, and the engine still works for the dashboard's own pages.
    tab.goto("/functions")
    assert tab.url.endswith("/functions")


def test_the_login_page_shows_no_secret(tab: Any, production: ProductionEngine) -> None:
    tab.goto("/login")
    html = tab.content()
    for secret in (PASSWORD, production.settings.signing_key or "", "browser-event-key"):
        assert secret not in html
    assert tab.title() == "Log in · Stepstone"


def test_logging_out_needs_a_new_login(tab: Any, production: ProductionEngine) -> None:
    assert log_in(tab).status == 200
    tab.goto("about:blank")  # no page polling the API (a refused poll sends the page to the login by itself)
    answer = tab.context.request.post(f"{production.url}/logout", headers={"origin": production.url}, max_redirects=0)
    assert answer.status == 303 and answer.headers["location"] == "/login"
    assert tab.context.cookies() == []
    tab.goto("/runs")
    assert "/login" in tab.url


def test_the_log_out_button_ends_the_session(tab: Any, production: ProductionEngine) -> None:
    assert log_in(tab).status == 200
    tab.goto("/apps")
    button = tab.get_by_role("button", name="Log out")
    expect(button).to_be_visible()
    button.click()
    tab.wait_for_url("**/login")
    assert tab.context.cookies() == []
    tab.goto("/runs")
    assert "/login" in tab.url


def test_dev_has_no_log_out_button(page: Any) -> None:
    page.goto("/apps")
    expect(page.get_by_role("heading", level=1)).to_have_text("Apps")
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()
