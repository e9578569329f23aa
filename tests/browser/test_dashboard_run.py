"""A run's page in a real browser: the timeline with each step's output, a failing step's attempts and
traceback, and the run actions (Cancel, Rerun, Rerun from step), each checked through the REST API."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Dashboard, eventually


def open_run(page: Any, run_id: str) -> None:
    page.goto(f"/runs/{run_id}")
    expect(page.locator(".timeline")).to_be_visible()


def bar(page: Any, step_id: str) -> Any:
    return page.get_by_role("button", name=f"Step {step_id}:")


def test_an_event_sent_with_the_form_starts_a_run_whose_timeline_shows_each_step(
    page: Any, dashboard: Dashboard
) -> None:
    page.goto("/events")
    expect(page).to_have_title("Events · Stepstone")
    page.get_by_label("Name").fill("dash/steps")
    page.get_by_label("Data (a JSON object)").fill('{"account": "from-the-form"}')
    page.get_by_role("button", name="Send event").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Event dash/steps")
    event_id = page.url.rsplit("/", 1)[1]
    run = dashboard.wait_run(event_id, "Completed")
    assert run["output"] == {"total": 12, "account": "from-the-form"}

    expect(page.locator(f'tr[data-run-id="{run["run_id"]}"]')).to_contain_text("Completed")
    page.locator(f'tr[data-run-id="{run["run_id"]}"]').get_by_role("link", name=run["run_id"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Run dash-steps")
    for step_id in ("fetch", "double-1", "double-2", "double-3", "total"):
        expect(bar(page, step_id)).to_be_visible()
    bar(page, "fetch").click()
    panel = page.locator("#step-panel")
    expect(panel.get_by_role("heading", level=2)).to_have_text("Step fetch")
    expect(panel).to_contain_text('"from-the-form"')
    expect(panel).to_contain_text("Completed")
    bar(page, "total").focus()
    page.keyboard.press("Enter")
    expect(panel.get_by_role("heading", level=2)).to_have_text("Step total")
    expect(panel.locator(".json")).to_have_text("12")
    expect(page.locator("body")).to_contain_text("Output")


def test_a_failing_step_shows_its_attempts_and_traceback(page: Any, dashboard: Dashboard) -> None:
    run = dashboard.wait_run(dashboard.send("dash/flaky", {"n": 7}), "Failed")
    open_run(page, run["run_id"])
    expect(page.locator(".status").first).to_contain_text("Failed")
    bar(page, "boom").click()
    panel = page.locator("#step-panel")
    expect(panel.get_by_role("heading", name="Failed attempts")).to_be_visible()
    expect(panel.locator(".attempts li")).to_have_count(len([a for a in run["attempts"] if a["step_id"] == "boom"]))
    # retries=1: two attempts in all, both failed and both listed.
    expect(panel.locator("dt", has_text="Attempts").locator("xpath=following-sibling::dd[1]")).to_have_text("2")
    expect(panel.locator(".attempts li")).to_have_count(2)
    expect(panel).to_contain_text("kaboom 7")
    expect(panel.locator(".stack").first).to_contain_text("ValueError")
    expect(page.get_by_role("heading", name="Final error")).to_be_visible()


def test_cancel_stops_a_waiting_run(page: Any, dashboard: Dashboard) -> None:
    event_id = dashboard.send("dash/wait", {"who": "cancel-me"})
    run = dashboard.wait_run(event_id, "Running")
    dashboard.wait_steps(run["run_id"], "before", "approval")
    open_run(page, run["run_id"])
    bar(page, "approval").click()
    waits_for = page.locator("#step-panel dt", has_text="Waits for").locator("xpath=following-sibling::dd[1]")
    expect(waits_for).to_have_text("event dash/approved")
    page.get_by_role("button", name="Cancel", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel run").click()
    expect(page.locator(".action-result")).to_contain_text("cancelled")
    assert dashboard.run(run["run_id"])["status"] == "Cancelled"
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)


def test_rerun_and_rerun_from_a_step_start_new_runs(page: Any, dashboard: Dashboard) -> None:
    run = dashboard.wait_run(dashboard.send("dash/steps", {"account": "rerun"}), "Completed")
    open_run(page, run["run_id"])
    page.get_by_role("button", name="Rerun", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Rerun").click()
    link = page.locator(".action-result").get_by_role("link")
    expect(link).to_contain_text("Open the new run")
    rerun_id = link.inner_text().rsplit(" ", 1)[1]
    rerun = eventually(lambda: (r := dashboard.run(rerun_id))["status"] == "Completed" and r)
    assert rerun["original_run_id"] == run["run_id"] and rerun["output"] == run["output"]

    page.get_by_role("button", name="Rerun from step").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Run again from step").select_option("total")
    dialog.get_by_role("button", name="Rerun from step").click()
    expect(page.locator(".action-result")).to_contain_text("Rerun from step total started")
    link = page.locator(".action-result").get_by_role("link")
    from_step_id = link.inner_text().rsplit(" ", 1)[1]
    assert from_step_id != rerun_id
    again = eventually(lambda: (r := dashboard.run(from_step_id))["status"] == "Completed" and r)
    assert again["original_run_id"] == run["run_id"] and again["output"] == run["output"]
    link.click()
    expect(page).to_have_url(f"{dashboard.url}/runs/{from_step_id}")
    expect(page.get_by_role("link", name=run["run_id"])).to_be_visible()  # "Rerun of <original>"
