"""The Metrics page (`/overview`) and a function's Activity chart in a real browser, on an engine whose store was
filled beforehand with a known history: 9 runs of dash-steps completed and 3 failed in the last few minutes (a
2-second step each), and one still waiting. The pages show those numbers in words, in the charts' accessible
names and in their bars' titles, follow the UTC/local toggle on the time axis, and switch to the last day."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from stepstone.server.core.clock import wall_ms
from stepstone.server.core.ids import ULIDS
from stepstone.server.store.records import EventRecord, RunRecord, RunStatus, StepRecord, StepStatus
from stepstone.server.store.sqlite.store import SqliteStore
from tests.browser.conftest import Dashboard, Watch, watched_page

EVENT = ULIDS.new(0)
SUMMARY = "12 started, 9 completed, 3 failed, 0 cancelled"


def history(now: int) -> list[tuple[RunRecord, StepRecord | None]]:
    made = []
    for n in range(13):
        created = now - 10 * 60_000 + n * 30_000
        status = RunStatus.COMPLETED if n < 9 else RunStatus.FAILED if n < 12 else RunStatus.QUEUED
        waiting = status == RunStatus.QUEUED
        run = RunRecord(
            ULIDS.new(created),
            "f",
            "dash-steps",
            1,
            None,
            EVENT,
            status,
            created_at=created,
            started_at=None if waiting else created,
            ended_at=None if waiting else created + 3_000,
        )
        step = None
        if not waiting:
            step = StepRecord(
                run_id=run.id,
                hashed_id="h",
                user_id="one",
                index=0,
                op="StepRun",
                status=StepStatus.COMPLETED,
                memo_json='{"data": 1}',
                started_at=created,
                ended_at=created + 2_000,
            )
        made.append((run, step))
    return made


async def fill(path: Path) -> None:
    store = SqliteStore(path)
    now = wall_ms()
    made = history(now)
    event = EventRecord(0, EVENT, "dash/steps", "", '{"name": "dash/steps", "data": {}}', now, now)

    def write(tx: Any) -> None:
        seq = tx.insert_event(event)
        for run, step in made:
            tx.insert_run(run, [seq])
            if step is not None:
                tx.save_step(step)

    await store.transact(write)
    await store.close()


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    tmp = tmp_path_factory.mktemp("metrics")
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
        pool.submit(asyncio.run, fill(tmp / "stepstone.db")).result()
    engine = Dashboard(tmp)
    engine.start()
    yield engine
    engine.stop()


@pytest.fixture
def tab(browser: Any, filled: Dashboard) -> Iterator[Any]:
    with watched_page(browser, Watch(origin=filled.url)) as page:
        yield page


def test_the_metrics_page_shows_the_runs_backlog_latency_and_step_durations(tab: Any) -> None:
    tab.goto("/apps")
    tab.get_by_role("link", name="Metrics", exact=True).click()
    expect(tab.locator(".stats-body")).to_have_attribute("data-window", "1h")
    assert tab.url.endswith("/overview")
    expect(tab.get_by_role("heading", level=1)).to_have_text("Metrics")
    expect(tab.get_by_role("link", name="Metrics", exact=True)).to_have_attribute("aria-current", "page")
    expect(tab.locator(".stats-summary")).to_have_text(SUMMARY)
    facts = tab.locator(".stats-facts")
    expect(facts).to_contain_text("25.0%")
    expect(facts).to_contain_text("1 run waiting now")
    expect(facts).to_contain_text("p50 0 ms, p95 0 ms")
    runs = tab.get_by_role("img", name="Runs per minute: " + SUMMARY + "; failure rate 25.0%")
    expect(runs).to_be_visible()
    titles = runs.locator("rect title").all_text_contents()
    assert sum(int(text.split(": ")[1].split()[0]) for text in titles if "completed" in text) == 9
    assert sum(int(text.split(": ")[1].split()[0]) for text in titles if "failed" in text) == 3
    expect(tab.get_by_role("img", name="Backlog: 1 run waiting now, at most 1")).to_be_visible()
    expect(tab.get_by_role("img", name="Queue latency: from a run's creation to its first call: p50 0 ms, p95 0 ms"))
    row = tab.locator('.steps-table tr[data-function="dash-steps"]')
    expect(row).to_contain_text("12")
    expect(row.locator("td").nth(1)).to_have_text("2.00 s")
    expect(row.locator("td").nth(2)).to_have_text("2.00 s")


def test_the_axis_follows_the_time_zone_and_the_window_toggles_to_a_day(browser: Any, filled: Dashboard) -> None:
    context = browser.new_context(base_url=filled.url, timezone_id="Asia/Kolkata")  # UTC+05:30
    try:
        tab = context.new_page()
        tab.goto("/overview")
        expect(tab.locator(".stats-summary")).to_have_text(SUMMARY)
        first = datetime.fromisoformat(filled.get("/v1/stats", window="1h")["data"]["buckets"][0]["start"])
        label = tab.locator(".chart-axis text").first
        expect(label).to_have_text(first.strftime("%H:%M"))
        tab.get_by_role("button", name="Times shown in UTC; switch to local time").click()
        expect(tab.locator(".chart-axis text").first).to_have_text(
            (first + timedelta(hours=5, minutes=30)).strftime("%H:%M")
        )
        tab.get_by_role("button", name="Times shown in local time; switch to UTC").click()
        expect(tab.locator(".chart-axis text").first).to_have_text(first.strftime("%H:%M"))

        tab.get_by_role("button", name="Last day").click()
        expect(tab.get_by_role("button", name="Last day")).to_have_attribute("aria-pressed", "true")
        expect(tab.locator(".stats-body")).to_have_attribute("data-window", "24h")
        assert tab.url.endswith("/overview?window=24h")
        name = "Runs per 15 minutes: " + SUMMARY + "; failure rate 25.0%"
        expect(tab.get_by_role("img", name=name)).to_be_visible()
        tab.reload()
        expect(tab.get_by_role("button", name="Last day")).to_have_attribute("aria-pressed", "true")
    finally:
        context.close()


def test_a_function_page_has_its_activity_chart(tab: Any) -> None:
    tab.goto("/functions/dash-steps")
    activity = tab.get_by_role("region", name="Activity")
    expect(activity.locator(".stats-summary")).to_have_text(SUMMARY)
    expect(activity.get_by_role("img", name="Runs per minute: " + SUMMARY + "; failure rate 25.0%")).to_be_visible()
    expect(activity).to_contain_text("Step durations: 12 steps, p50 2.00 s, p95 2.00 s")
    tab.goto("/functions/dash-greet")
    expect(tab.get_by_role("region", name="Activity").locator(".stats-summary")).to_have_text(
        "0 started, 0 completed, 0 failed, 0 cancelled"
    )
