"""Apps, functions and events in a real browser: an app's functions, Sync, Invoke, Pause / Resume and
Replay event, each checked through the REST API."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Dashboard, eventually


def test_the_app_synced_and_shows_its_functions(page: Any, dashboard: Dashboard) -> None:
    page.goto("/apps")
    expect(page).to_have_title("Apps · Stepstone")
    row = page.locator('tr[data-app="dash"]')
    expect(row).to_contain_text(dashboard.app_url)
    expect(row).to_contain_text("Synced")
    expect(row.locator("td").nth(2)).to_have_text("5")
    before = app_named(dashboard, "dash")["synced_at"]
    row.get_by_role("button", name="Sync dash").click()
    expect(page.get_by_role("status").filter(has_text="Synced http")).to_be_visible()
    assert app_named(dashboard, "dash")["synced_at"] >= before

    page.get_by_role("link", name="Functions", exact=True).click()
    expect(page).to_have_title("Functions · Stepstone")
    for function_id in ("dash-steps", "dash-flaky", "dash-waiter", "dash-pausable", "dash-greet"):
        expect(page.locator(f'tr[data-function="{function_id}"]')).to_contain_text("dash")
    expect(page.locator('tr[data-function="dash-steps"]')).to_contain_text("dash/steps")


def app_named(dashboard: Dashboard, name: str) -> Any:
    return next((app for app in dashboard.get("/v1/apps")["data"] if app["name"] == name), None)


def test_remove_an_app_and_add_it_again_by_url(page: Any, dashboard: Dashboard) -> None:
    page.goto("/apps")
    page.get_by_role("button", name="Remove extra").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("archived")
    dialog.get_by_role("button", name="Remove app").click()
    expect(page.locator('tr[data-app="extra"]')).to_have_count(0)
    assert app_named(dashboard, "extra") is None
    assert "extra-ping" not in {fn["id"] for fn in dashboard.get("/v1/functions")["data"]}

    page.get_by_label("App URL (where it serves the Inngest protocol)").fill(dashboard.extra_url)
    page.get_by_role("button", name="Add app").click()
    expect(page.locator('tr[data-app="extra"]')).to_contain_text("Synced")
    assert app_named(dashboard, "extra")["url"] == dashboard.extra_url
    assert "extra-ping" in {fn["id"] for fn in dashboard.get("/v1/functions")["data"]}


def test_invoke_starts_a_run_and_goes_to_it(page: Any, dashboard: Dashboard) -> None:
    page.goto("/functions/dash-greet")
    expect(page.get_by_role("heading", level=1)).to_have_text("dash-greet")
    data = page.get_by_label("Event data (a JSON object)")
    data.fill("{not json")
    page.get_by_role("button", name="Invoke", exact=True).click()
    expect(page.locator("#invoke-data-note")).to_contain_text("Not valid JSON")
    data.fill('{"name": "Ada"}')
    page.get_by_role("button", name="Invoke", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Run dash-greet")
    run_id = page.url.rsplit("/", 1)[1]
    run = eventually(lambda: (r := dashboard.run(run_id))["status"] == "Completed" and r)
    assert run["output"] == "hello Ada"


def test_pause_and_resume(page: Any, dashboard: Dashboard) -> None:
    page.goto("/functions/dash-pausable")
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("dialog").get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    assert dashboard.get("/v1/functions/dash-pausable")["data"]["paused"] is True
    event_id = dashboard.send("dash/pausable", {"while": "paused"})
    skipped = eventually(lambda: dashboard.get(f"/v1/events/{event_id}/runs")["skipped"])
    assert [skip["reason"] for skip in skipped] == ["function paused"]
    page.get_by_role("button", name="Invoke", exact=True).click()  # a 202: no run, and why
    expect(page.locator(".action-result")).to_contain_text("No run started: skipped: function paused")
    page.goto(f"/events/{event_id}")
    expect(page.locator("table").filter(has_text="Reason")).to_contain_text("function paused")
    page.goto("/functions/dash-pausable")

    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    assert dashboard.get("/v1/functions/dash-pausable")["data"]["paused"] is False
    dashboard.wait_run(dashboard.send("dash/pausable", {"while": "resumed"}), "Completed")


def test_replay_event_sends_it_again_as_a_new_event(page: Any, dashboard: Dashboard) -> None:
    event_id = dashboard.send("dash/greet", {"name": "Grace"})
    dashboard.wait_run(event_id, "Completed")
    page.goto(f"/events/{event_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Event dash/greet")
    expect(page.locator("table.runs")).to_contain_text("Completed")
    page.get_by_role("button", name="Replay event").click()
    page.get_by_role("dialog").get_by_role("button", name="Replay event").click()
    expect(page).not_to_have_url(f"{dashboard.url}/events/{event_id}")
    replayed = page.url.rsplit("/", 1)[1]
    event = dashboard.get(f"/v1/events/{replayed}")["data"]
    assert event["name"] == "dash/greet" and event["data"] == {"name": "Grace"}
    assert dashboard.wait_run(replayed, "Completed")["output"] == "hello Grace"


def test_copy_as_curl_shows_the_same_request(page: Any, dashboard: Dashboard) -> None:
    page.goto("/events")
    page.get_by_label("Name").fill("dash/greet")
    page.get_by_label("Data (a JSON object)").fill('{"name": "O\'Neil"}')
    page.get_by_role("button", name="Copy as cURL").click()
    command = page.locator("pre[data-curl]")
    expect(command).to_contain_text(f"curl -X POST '{dashboard.url}/v1/events'")
    expect(command).to_contain_text('"name":"dash/greet"')


def test_the_audit_page_lists_the_actions(page: Any, dashboard: Dashboard) -> None:
    assert dashboard.http is not None
    answer = dashboard.http.post("/v1/functions/dash-greet/invoke", json={"data": {"name": "audited"}})
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["data"]["run_id"]
    page.goto("/audit")
    expect(page).to_have_title("Audit · Stepstone")
    row = page.locator("tbody tr").filter(has_text=run_id)
    expect(row).to_contain_text("function.invoke")
    expect(row).to_contain_text("dash-greet")
