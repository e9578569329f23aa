"""Fixtures of the compatibility suite, and the hook that records its results for `docs/compatibility.md`.

Each test marked `@pytest.mark.compat(section, feature)` and run for one SDK (the `sdk` parameter) is
recorded as (sdk, feature) → outcome in `build/compat/results.json`, merged with earlier runs so a
partial run updates only what it ran; `python -m tests.compat.matrix` writes the markdown from it.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

import pytest

from tests.compat import stack
from tests.e2e.processes import REPO

RESULTS = REPO / "build" / "compat" / "results.json"
_RECORDED = pytest.StashKey[dict[tuple[str, str], dict[str, Any]]]()


@pytest.fixture(scope="session")
def ts_sdk() -> None:
    """The pinned TypeScript SDK, installed (`npm ci`) on first use; Node.js is required in CI."""
    stack.require_ts_sdk()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RECORDED] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    marker = item.get_closest_marker("compat")
    if marker is None:
        return report
    if report.failed:
        _attach_logs(item, report)
    sdk = getattr(item, "callspec", None) and item.callspec.params.get("sdk")
    if not sdk:
        return report
    section, feature = marker.args
    key = (sdk, feature)
    recorded = item.config.stash[_RECORDED]
    entry = {"sdk": sdk, "section": section, "feature": feature, "test": item.nodeid}
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            entry.update(outcome="xfail", reason=report.wasxfail)
        elif report.skipped:
            entry.update(outcome="skipped", reason=_skip_reason(report))
        elif report.failed:
            entry.update(outcome="failed", reason=_failure_reason(call, report))
        else:
            entry.update(outcome="passed")
        recorded[key] = entry
    elif report.when == "teardown" and report.failed and key in recorded:
        recorded[key].update(outcome="failed", reason=_failure_reason(call, report))
    return report


def _attach_logs(item: pytest.Item, report: pytest.TestReport) -> None:
    """The last lines of the engine's and the apps' logs, on a failed test's report."""
    values = list(getattr(item, "funcargs", {}).values())
    values += [part for value in values if isinstance(value, tuple) for part in value]
    for value in values:
        for path in value.logs() if hasattr(value, "logs") else []:
            if path.exists():
                report.sections.append((f"log {path.name}", "\n".join(path.read_text().splitlines()[-40:])))


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)


def _failure_reason(call: pytest.CallInfo[None], report: pytest.TestReport) -> str:
    if call.excinfo is None:  # e.g. an expected failure that passed: `[XPASS(strict)] <reason>`
        return str(report.longrepr)[:300]
    return call.excinfo.exconly().strip().splitlines()[0][:300]


def pytest_sessionfinish(session: pytest.Session) -> None:
    recorded = session.config.stash[_RECORDED]
    if not recorded or hasattr(session.config, "workerinput"):
        return
    previous: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged = {(r["sdk"], r["feature"]): r for r in previous.get("results", [])}
    merged.update(recorded)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    versions = {"python": metadata.version("inngest"), "typescript": stack.TS_SDK_VERSION}
    RESULTS.write_text(json.dumps({"versions": versions, "results": list(merged.values())}, indent=1) + "\n")
