"""A run's non-determinism warnings on its dashboard page: a Warnings section that says each finding in words
(code, steps, message), not by colour alone, and passes axe. The warning is written straight into the
engine's SQLite file, as the engine records one (`runs.nondeterminism`; the findings themselves are tested in
tests/integration/test_nondeterminism*.py)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Dashboard
from tests.browser.test_accessibility import serious

MESSAGE = (
    "STP103 step-order-changed: function 'dash-steps', run {run}: the history has step 'fetch' before step "
    "'total', but the code reached 'total' first, then 'fetch'."
)


def test_a_run_with_warnings_lists_them_in_words(page: Any, dashboard: Dashboard) -> None:
    run = dashboard.wait_run(dashboard.send("dash/steps", {"account": "warned"}), "Completed")
    with sqlite3.connect(dashboard.tmp / "stepstone.db", timeout=10) as db:
        db.execute(
            "INSERT INTO run_warnings (run_id, code, message, step_ids, at) VALUES (?, ?, ?, ?, ?)",
            (run["run_id"], "STP103", MESSAGE.format(run=run["run_id"]), json.dumps(["fetch", "total"]), 1),
        )
    assert [w["code"] for w in dashboard.run(run["run_id"])["warnings"]] == ["STP103"]

    page.goto(f"/runs/{run['run_id']}")
    section = page.get_by_role("region", name="Warnings (1)")
    expect(section).to_be_visible()
    expect(section.get_by_role("listitem")).to_have_count(1)
    expect(section).to_contain_text("Warning STP103")
    expect(section).to_contain_text("steps fetch, total")
    expect(section).to_contain_text("but the code reached 'total' first")
    assert serious(page) == []


def test_a_run_without_warnings_has_no_section(page: Any, dashboard: Dashboard) -> None:
    run = dashboard.wait_run(dashboard.send("dash/steps", {"account": "quiet"}), "Completed")
    page.goto(f"/runs/{run['run_id']}")
    expect(page.locator(".timeline")).to_be_visible()
    expect(page.get_by_role("heading", name="Warnings")).to_have_count(0)
