"""What every page shares, in a real browser: the mode badge, the retention window, the UTC/local toggle
(remembered), and the JSON viewer (long values cut with "show all", encrypted values shown as encrypted)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Dashboard


def test_every_page_says_dev_or_production_and_the_retention(page: Any, dashboard: Dashboard) -> None:
    for path, title in (("/apps", "Apps"), ("/functions", "Functions"), ("/events", "Events"), ("/audit", "Audit")):
        page.goto(path)
        expect(page).to_have_title(f"{title} · Stepstone")
        expect(page.locator("#mode")).to_have_text("Development")
        expect(page.locator("#retention")).to_contain_text("30 days")
        expect(page.get_by_role("link", name=title, exact=True)).to_have_attribute("aria-current", "page")


def test_the_time_zone_toggle_is_remembered(page: Any, dashboard: Dashboard) -> None:
    event_id = dashboard.send("dash/greet", {"name": "clock"})
    page.goto(f"/events/{event_id}")
    received = page.locator("dd time").first
    expect(received).to_contain_text("UTC")
    page.get_by_role("button", name="Times shown in UTC; switch to local time").click()
    expect(received).to_contain_text("local")
    page.reload()
    expect(page.locator("dd time").first).to_contain_text("local")
    page.get_by_role("button", name="Times shown in local time; switch to UTC").click()
    expect(page.locator("dd time").first).to_contain_text("UTC")


def test_the_json_viewer_cuts_long_values_and_shows_encrypted_ones(page: Any, dashboard: Dashboard) -> None:
    long = "x" * 1000
    secret = {"__ENCRYPTED__": True, "__STRATEGY__": "libsodium", "data": "c2VjcmV0"}
    event_id = dashboard.send("dash/json", {"long": long, "secret": secret})
    page.goto(f"/events/{event_id}")
    payload = page.locator(".json").first
    expect(payload).to_contain_text("(1000 characters)")
    expect(payload).not_to_contain_text(long)
    expect(payload).to_contain_text("encrypted (libsodium)")
    expect(payload).not_to_contain_text("c2VjcmV0")
    payload.get_by_role("button", name="show all").click()
    expect(payload).to_contain_text(long)


def test_event_data_is_shown_as_text_never_as_html(page: Any, dashboard: Dashboard) -> None:
    markup = '<img src="/x" onerror="window.pwned = 1"><b>bold</b>'
    event_id = dashboard.send(f"dash/{markup}", {"html": markup})
    page.goto("/events")
    expect(page.locator(f'tr[data-event="{event_id}"]')).to_contain_text(markup)
    page.goto(f"/events/{event_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Event dash/{markup}")
    expect(page.locator(".json").first).to_contain_text(markup.replace('"', '\\"'))
    assert page.locator("main img, main b").count() == 0
    assert page.evaluate("window.pwned") is None
