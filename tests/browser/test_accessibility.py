"""Accessibility of every dashboard page in Chromium: axe-core (axe_playwright_python, its bundled copy: no CDN)
finds no serious or critical violation with data on the pages, and the keyboard alone reaches the navigation and
a run's step bars, and opens a step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS, Dashboard
from tests.browser.production import ProductionEngine

NAV = ["Apps", "Functions", "Runs", "Events", "Metrics", "Audit"]


def serious(page: Any) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line each with where."""
    violations = Axe().run(page).response["violations"]
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in violations
        if violation["impact"] in ("serious", "critical")
    ]


@pytest.fixture(scope="module")
def ids(dashboard: Dashboard) -> dict[str, str]:
    """A completed run with steps, its event and its function, and an audit row (a sync through the REST API)."""
    event_id = dashboard.send("dash/steps", {"account": "a11y"})
    run = dashboard.wait_run(event_id, "Completed")
    assert dashboard.http is not None
    synced = dashboard.http.post("/v1/apps", json={"url": dashboard.app_url})
    assert synced.status_code == 200, synced.text
    return {"event": event_id, "run": run["run_id"], "function": run["function_id"]}


def pages(ids: dict[str, str]) -> list[tuple[str, str]]:
    """(path, its heading once drawn)."""
    return [
        ("/", "Runs"),
        ("/apps", "Apps"),
        ("/functions", "Functions"),
        (f"/functions/{ids['function']}", ids["function"]),
        ("/runs", "Runs"),
        (f"/runs/{ids['run']}", f"Run {ids['function']}"),
        ("/events", "Events"),
        (f"/events/{ids['event']}", "Event dash/steps"),
        ("/audit", "Audit"),
        ("/overview", "Metrics"),
        ("/overview?window=24h", "Metrics"),
    ]


def test_no_page_has_a_serious_violation(page: Any, ids: dict[str, str]) -> None:
    found = {}
    for path, heading in pages(ids):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.locator("main")).not_to_contain_text("Loading…")
        expect(page.locator("#mode")).not_to_have_text("…")
        if problems := serious(page):
            found[path] = problems
    assert found == {}


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionEngine]:
    engine = ProductionEngine(tmp_path_factory.mktemp("production-a11y"))
    engine.start()
    yield engine
    engine.stop()


def test_the_login_page_has_no_serious_violation(browser: Any, production: ProductionEngine) -> None:
    context = browser.new_context(base_url=production.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/login")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert serious(page) == []
        # and with its error message shown
        page.get_by_label("Your name").fill("ada")
        page.get_by_label("Password").fill("wrong")
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).not_to_be_empty()
        assert serious(page) == []
    finally:
        context.close()


def focused(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            return {tag: el.tagName, text: (el.innerText || "").trim(), label: el.getAttribute("aria-label") || ""};
        }"""
    )


def test_the_keyboard_reaches_the_navigation_and_opens_a_step(page: Any, ids: dict[str, str]) -> None:
    page.goto(f"/runs/{ids['run']}")
    expect(page.locator(".timeline")).to_be_visible()
    reached: list[dict[str, str]] = []
    for _ in range(200):
        page.keyboard.press("Tab")
        reached.append(focused(page))
        if reached[-1]["label"].startswith("Step "):
            break
    links = [element["text"] for element in reached if element["tag"] == "A"]
    assert [name for name in NAV if name in links] == NAV, links
    step = reached[-1]
    assert step["tag"] == "BUTTON" and step["label"].startswith("Step "), reached[-5:]
    page.keyboard.press("Enter")
    step_id = step["label"].removeprefix("Step ").partition(":")[0]
    expect(page.locator("#step-panel").get_by_role("heading", level=2)).to_have_text(f"Step {step_id}")


def test_the_check_itself_finds_a_violation(browser: Any) -> None:
    """So that an empty list above means something: an unlabelled button and an image without text are caught."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content('<html lang="en"><title>t</title><main><button></button><img src="data:,"></main></html>')
        problems = serious(page)
        assert any(problem.startswith("button-name") for problem in problems), problems
        assert any(problem.startswith("image-alt") for problem in problems), problems
    finally:
        context.close()
