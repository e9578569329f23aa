"""The Runs table in a real browser: filters and the CEL search narrow it, live rows, and bulk Cancel /
Replay of selected runs or of all runs matching the filters, checked through the REST API."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import Dashboard, eventually


def rows(page: Any) -> Any:
    return page.locator("table.runs tbody tr")


def test_filters_and_the_cel_search_narrow_the_table(page: Any, dashboard: Dashboard) -> None:
    mine = {
        account: dashboard.wait_run(dashboard.send("dash/steps", {"account": account}), "Completed")
        for account in ("filter-a", "filter-b")
    }
    failed = dashboard.wait_run(dashboard.send("dash/flaky", {"n": 1}), "Failed")
    page.goto("/runs")
    for run in (*mine.values(), failed):
        expect(page.locator(f'tr[data-run-id="{run["run_id"]}"]')).to_be_visible()

    page.get_by_label("Function").select_option("dash-steps")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(f'tr[data-run-id="{failed["run_id"]}"]')).to_have_count(0)
    expect(page.locator(f'tr[data-run-id="{mine["filter-a"]["run_id"]}"]')).to_be_visible()
    assert parse_qs(urlsplit(page.url).query) == {"function_id": ["dash-steps"]}
    for cell in rows(page).locator("td:nth-child(2)").all():
        expect(cell).to_have_text("dash-steps")

    page.get_by_label("CEL filter (if)").fill('event.data.account == "filter-a"')
    page.get_by_role("button", name="Apply filters").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-run-id", mine["filter-a"]["run_id"])
    expect(page.get_by_role("status").filter(has_text="searched")).to_contain_text("searched")

    page.reload()  # the filters live in the URL
    expect(page.get_by_label("CEL filter (if)")).to_have_value('event.data.account == "filter-a"')
    expect(rows(page)).to_have_count(1)

    page.get_by_label("Started after").fill("2099-01-01T00:00:00")  # the toggle's zone: UTC
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No runs match.")).to_be_visible()
    assert parse_qs(urlsplit(page.url).query)["started_after"] == ["2099-01-01T00:00:00.000Z"]
    expect(rows(page)).to_have_count(0)

    page.goto("/runs?status=Failed")
    expect(page.locator(f'tr[data-run-id="{failed["run_id"]}"]')).to_be_visible()
    for status in rows(page).locator(".status").all():
        expect(status).to_contain_text("Failed")


def test_new_runs_appear_live(page: Any, dashboard: Dashboard) -> None:
    page.goto("/runs?function_id=dash-greet")
    expect(page.get_by_role("heading", level=1)).to_have_text("Runs")
    run = dashboard.wait_run(dashboard.send("dash/greet", {"name": "live"}), "Completed")
    expect(page.locator(f'tr[data-run-id="{run["run_id"]}"]')).to_contain_text("Completed", timeout=15_000)


def test_cancel_selected_runs(page: Any, dashboard: Dashboard) -> None:
    runs = [dashboard.wait_run(dashboard.send("dash/wait", {"who": f"pick-{n}"}), "Running") for n in range(3)]
    page.goto("/runs?function_id=dash-waiter&status=Running")
    for run in runs[:2]:
        page.get_by_label(f"Select run {run['run_id']}").check()
    expect(page.locator(".selection")).to_have_text("2 runs selected")
    page.get_by_role("button", name="Cancel selected").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel runs").click()
    expect(page.locator(".progress")).to_contain_text("Done: 2 cancelled")
    assert [dashboard.run(run["run_id"])["status"] for run in runs] == ["Cancelled", "Cancelled", "Running"]


def test_cancel_all_runs_matching_the_filters(page: Any, dashboard: Dashboard) -> None:
    runs = [dashboard.wait_run(dashboard.send("dash/wait", {"who": f"all-{n}"}), "Running") for n in range(3)]
    page.goto("/runs?function_id=dash-waiter&status=Running")
    page.get_by_role("button", name="Select all runs matching the filters").click()
    page.get_by_role("button", name="Cancel selected").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel runs").click()
    expect(page.locator(".progress")).to_contain_text("done")
    eventually(lambda: all(dashboard.run(run["run_id"])["status"] == "Cancelled" for run in runs))
    assert dashboard.get("/v1/cancellations")["data"][0]["function_id"] == "dash-waiter"


def test_replay_all_failed_runs_matching_the_filters(page: Any, dashboard: Dashboard) -> None:
    failed = [dashboard.wait_run(dashboard.send("dash/flaky", {"n": 100 + n}), "Failed") for n in range(2)]
    page.goto("/runs?function_id=dash-flaky&status=Failed")
    page.get_by_role("button", name="Select all runs matching the filters").click()
    page.get_by_role("button", name="Replay selected").click()
    page.get_by_role("dialog").get_by_role("button", name="Replay runs").click()
    expect(page.locator(".progress")).to_contain_text("done")

    def replays() -> list[dict[str, Any]]:
        found = dashboard.get("/v1/runs", function_id="dash-flaky", limit=500)["data"]
        wanted = {run["run_id"] for run in failed}
        new = [run for run in found if run["original_run_id"] in wanted]
        return new if len(new) == len(wanted) else []

    for run in eventually(replays):
        assert dashboard.run(run["run_id"])["replay_id"] is not None


def test_replay_selected_runs(page: Any, dashboard: Dashboard) -> None:
    run = dashboard.wait_run(dashboard.send("dash/greet", {"name": "again"}), "Completed")
    page.goto("/runs?function_id=dash-greet")
    page.get_by_label(f"Select run {run['run_id']}").check()
    page.get_by_role("button", name="Replay selected").click()
    page.get_by_role("dialog").get_by_role("button", name="Replay runs").click()
    expect(page.locator(".progress")).to_contain_text("Done: 1 replayed")
    again = eventually(
        lambda: [
            r
            for r in dashboard.get("/v1/runs", function_id="dash-greet")["data"]
            if r["original_run_id"] == run["run_id"]
        ]
    )
    assert len(again) == 1
