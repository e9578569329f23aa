"""The dashboard's pages, served by the engine, and the Runs page in a real browser."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Dashboard


def test_every_page_answers_the_shell_with_its_assets(dashboard: Dashboard) -> None:
    assert dashboard.http is not None
    for path in (
        "/",
        "/apps",
        "/functions",
        "/functions/dash-steps",
        "/runs",
        "/runs/x",
        "/events",
        "/events/x",
        "/audit",
    ):
        response = dashboard.http.get(path)
        assert response.status_code == 200, path
        assert '<meta name="stepstone-csrf"' in response.text
        assert "default-src 'self'" in response.headers["content-security-policy"]
    asset = dashboard.http.get("/assets/app.js")
    assert asset.status_code == 200 and asset.headers["cache-control"] == "no-cache"
    assert "javascript" in asset.headers["content-type"]


def test_the_runs_page_lists_a_run_and_opens_it(page: Any, dashboard: Dashboard) -> None:
    event_id = dashboard.send("dash/steps", {"account": "runs-page"})
    run = dashboard.wait_run(event_id, "Completed")
    page.goto("/")
    expect(page).to_have_title("Runs · Stepstone")
    for name in ("Apps", "Functions", "Runs", "Events"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    row = page.locator(f'tr[data-run-id="{run["run_id"]}"]')
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text("dash/steps")
    row.get_by_role("link", name=run["run_id"]).click()
    expect(page).to_have_url(f"{dashboard.url}/runs/{run['run_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Run dash-steps")
