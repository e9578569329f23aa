"""The dashboard with apps written with the official SDKs (Python and TypeScript, the compatibility suite's
apps), on SQLite and PostgreSQL: the app and its functions, Invoke, a step's output and input, Rerun from
step (with a new input where the SDK sends one), a sleep's and a wait's deadline on the timeline, a wait
resolved by an event sent with the dashboard's form, and a request the engine made for a step
(`step.ai.infer`, `step.fetch`); each effect checked through the REST API.

The engine is `stepstone dev` as a process, the app another process, as a user runs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Watch, watched_page
from tests.compat import stack
from tests.compat.stack import PYTHON, TYPESCRIPT, Stack, wait_until

COMBINATIONS = [(PYTHON, "sqlite"), (TYPESCRIPT, "sqlite"), (PYTHON, "postgres"), (TYPESCRIPT, "postgres")]


@pytest.fixture(params=COMBINATIONS, ids=[f"{sdk}-{store}" for sdk, store in COMBINATIONS])
def sdk_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    sdk, store = request.param
    if sdk == TYPESCRIPT:
        stack.require_ts_sdk()
    uri = request.getfixturevalue("postgres_dsn") if store == "postgres" else None
    with stack.serve(sdk, tmp_path, postgres_uri=uri) as served:
        yield served


@pytest.fixture
def tab(browser: Any, sdk_stack: Stack) -> Iterator[Any]:
    with watched_page(browser, Watch(origin=sdk_stack.engine.url)) as page:
        yield page


def finished(sdk_stack: Stack, run_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        run: dict[str, Any] = sdk_stack.engine.get(f"/v1/runs/{run_id}")["data"]
        return run if run["status"] in ("Completed", "Failed") else None

    run: dict[str, Any] = wait_until(check, what=f"run {run_id} ended")
    return run


def test_an_official_sdk_app_through_the_dashboard(tab: Any, sdk_stack: Stack) -> None:
    app_id = sdk_stack.app.app_id
    tab.goto("/apps")
    row = tab.locator(f'tr[data-app="{app_id}"]')
    expect(row).to_contain_text("Synced")
    expect(row.locator("td").nth(1)).to_contain_text("py" if sdk_stack.sdk == PYTHON else "js")
    expect(row.locator("td").nth(2)).to_have_text(str(stack.FUNCTION_COUNTS[sdk_stack.sdk]))

    # Invoke a function whose step takes an argument; its page shows the step's output (and input, where the
    # SDK sends one: the TypeScript SDK's `step.run(id, fn, ...args)`).
    slug = sdk_stack.slug("with-input")
    tab.goto(f"/functions/{slug}")
    tab.get_by_label("Event data (a JSON object)").fill('{"n": 3}')
    tab.get_by_role("button", name="Invoke", exact=True).click()
    expect(tab.get_by_role("heading", level=1)).to_have_text(f"Run {slug}")
    run_id = tab.url.rsplit("/", 1)[1]
    assert finished(sdk_stack, run_id)["output"] == {"doubled": 6}
    expect(tab.locator(".timeline")).to_contain_text("Completed")
    tab.locator(".bar").first.click()
    panel = tab.locator("#step-panel")
    expect(panel).to_contain_text("double")
    expect(panel.locator(".json").last).to_contain_text("6")
    sends_input = sdk_stack.sdk == TYPESCRIPT
    stored = sdk_stack.engine.get(f"/v1/runs/{run_id}")["data"]["steps"][0]
    assert stored.get("input") == ([3] if sends_input else None)
    if sends_input:
        expect(panel.get_by_role("heading", name="Input")).to_be_visible()

    # Rerun from the step: the input field starts with the stored input, to edit; it is hidden where the SDK
    # sends none (and nothing is sent, which the Python SDK would refuse).
    tab.get_by_role("button", name="Rerun from step").click()
    dialog = tab.get_by_role("dialog")
    field = dialog.get_by_label("Step input (JSON array; empty keeps the stored input)")
    if sends_input:
        expect(field).to_have_value("[\n  3\n]")
        field.fill("[10]")
    else:
        expect(field).to_be_hidden()
    dialog.get_by_role("button", name="Rerun from step").click()
    expect(tab.locator(".action-result")).to_contain_text("Rerun from step double started")
    new_id = tab.locator(".action-result a").get_attribute("href").rsplit("/", 1)[1]
    rerun = finished(sdk_stack, new_id)
    assert rerun["original_run_id"] == run_id
    assert rerun["output"] == {"doubled": 20 if sends_input else 6}

    # A sleep's deadline: drawn to when it wakes, and in the step's panel; the run ends once the clock passes it.
    sleeping = sdk_stack.engine.first_run(sdk_stack.send("compat/sleep", seconds=sdk_stack.sleep_seconds(3600)))
    sdk_stack.engine.wait_step(sleeping["run_id"], "nap")
    tab.goto(f"/runs/{sleeping['run_id']}")
    bar = tab.locator(".bar.kind-sleep")
    expect(bar).to_have_attribute("aria-label", _contains("wakes at"))
    expect(tab.locator(".bar-planned")).to_have_count(1)
    bar.click()
    expect(tab.locator("#step-panel")).to_contain_text("Deadline")
    sdk_stack.engine.advance("2h")
    assert finished(sdk_stack, sleeping["run_id"])["output"] == "rested"
    expect(tab.locator(".bar.kind-sleep")).to_have_attribute("aria-label", _contains("Completed"))

    # A wait's timeout on the timeline, and the event that ends it sent with the Events page's form.
    waiting = sdk_stack.engine.first_run(sdk_stack.send("compat/wait", id="w-1"))
    sdk_stack.engine.wait_step(waiting["run_id"], "approval")
    tab.goto(f"/runs/{waiting['run_id']}")
    expect(tab.locator(".bar.kind-wait")).to_have_attribute("aria-label", _contains("times out at"))
    tab.goto("/events")
    tab.get_by_label("Name").fill("compat/approve")
    tab.get_by_label("Data (a JSON object)").fill('{"id": "w-1", "ok": true}')
    tab.get_by_role("button", name="Send event").click()
    assert finished(sdk_stack, waiting["run_id"])["output"] == {"id": "w-1", "ok": True}

    # A request the engine made for the function (`step.ai.infer` in Python, `step.fetch` in TypeScript).
    asked = sdk_stack.engine.first_run(sdk_stack.send("compat/gateway"))
    assert finished(sdk_stack, asked["run_id"])["status"] == "Completed"
    tab.goto(f"/runs/{asked['run_id']}")
    bar = tab.locator(".bar.kind-request")
    expect(bar).to_have_attribute("aria-label", _contains("Completed, request"))
    bar.click()
    op = "AIGateway" if sdk_stack.sdk == PYTHON else "Gateway"
    expect(tab.locator("#step-panel")).to_contain_text(f"request ({op})")
    expect(tab.locator("#step-panel")).to_contain_text("hello")


def _contains(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text))
