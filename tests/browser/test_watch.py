"""The browser tests' own guard: a page that reaches another host fails its test, and the page's requests
never wait on the test (a form sent after a click reaches the engine while the test polls with httpx)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.browser.conftest import Dashboard, Watch, eventually, watched_page


def test_a_request_to_another_host_is_refused_and_fails_the_test(browser: Any, dashboard: Dashboard) -> None:
    watch = Watch(origin=dashboard.url)
    with pytest.raises(AssertionError, match="requests to other hosts"), watched_page(browser, watch) as tab:
        # A page of its own (the dashboard's Content-Security-Policy would stop the request before it is sent).
        tab.set_content("<p>outside the dashboard</p>")
        reached = tab.evaluate(
            """async () => {
              try { await fetch("https://cdn.example.com/chart.js", {mode: "no-cors"}); return true; }
              catch { return false; }
            }"""
        )
        assert reached is False  # the name does not resolve inside the browser
    assert watch.foreign == ["https://cdn.example.com/chart.js"]


def test_a_request_the_page_sends_after_the_last_playwright_call_is_not_held(
    browser: Any, dashboard: Dashboard
) -> None:
    name = f"watch/held-{time.time_ns()}"
    with watched_page(browser, Watch(origin=dashboard.url)) as tab:
        tab.goto("/events")
        tab.get_by_label("Name").fill(name)
        # Sent a moment after this call returns, while the test is outside Playwright.
        send = "form[aria-labelledby=send-title] button[type=submit]"
        tab.evaluate("(send) => { setTimeout(() => document.querySelector(send).click(), 300); }", send)

        eventually(lambda: dashboard.get("/v1/events", name=name)["data"])
