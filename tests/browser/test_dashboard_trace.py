"""A run's page names its trace: a link into the trace viewer that `--trace-url` gives (`{trace_id}` filled
in), or the trace id itself to search for when no viewer is configured."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Dashboard, Watch, watched_page

VIEWER = "http://jaeger.example:16686/trace/{trace_id}"


@pytest.fixture(scope="module")
def with_viewer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    engine = Dashboard(tmp_path_factory.mktemp("trace-url"), trace_url=VIEWER)
    engine.start()
    yield engine
    engine.stop()


@pytest.fixture
def tab(browser: Any, with_viewer: Dashboard) -> Iterator[Any]:
    with watched_page(browser, Watch(origin=with_viewer.url)) as page:
        yield page


def test_the_run_page_links_to_the_trace_viewer(tab: Any, with_viewer: Dashboard) -> None:
    run = with_viewer.wait_run(with_viewer.send("dash/steps", {"account": "a-1"}), "Completed")
    tab.goto(f"/runs/{run['run_id']}")
    link = tab.get_by_role("link", name=f"Open the trace {run['trace_id']}")
    expect(link).to_have_attribute("href", VIEWER.replace("{trace_id}", run["trace_id"]))
    expect(link).to_have_attribute("rel", "noopener noreferrer")


def test_without_a_viewer_the_run_page_shows_the_trace_id(page: Any, dashboard: Dashboard) -> None:
    run = dashboard.wait_run(dashboard.send("dash/steps", {"account": "a-2"}), "Completed")
    page.goto(f"/runs/{run['run_id']}")
    expect(page.locator(".facts")).to_contain_text(run["trace_id"])
    expect(page.get_by_role("link", name=f"Open the trace {run['trace_id']}")).to_have_count(0)
