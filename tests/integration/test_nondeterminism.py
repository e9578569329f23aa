"""Run-time non-determinism with Stepstone's SDK, on both stores: a function whose path depends on a value
read outside a step (changed between calls, while the fake clock moves past a sleep) gets a run warning
naming the steps (the default, `warn`), or fails with a `NonDeterminismError` (`nondeterminism="fail"`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Harness, eventually, free_socket
from tests.integration import nondeterminism_app


class Deployed:
    """The app served at one URL, whose version a test can change (a deploy)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class Drift:
    def __init__(self, harness: Harness, hour: dict[str, int], deployed: Deployed, url: str) -> None:
        self.harness = harness
        self.hour = hour
        self.deployed = deployed
        self.url = url

    async def sleeping(self, event: str) -> str:
        """Start a run at hour 9 and return its id once it sleeps in `nap`."""
        event_id = await self.harness.send(event)

        async def napping() -> str | None:
            runs = await self.harness.runs_for(event_id)
            if not runs:
                return None
            run = await self.harness.run(runs[0]["run_id"])
            sleeping = {step["id"] for step in run["steps"] if step["status"] == "Sleeping"}
            if sleeping - {"nap"}:  # a shorter sleep before it (still at hour 9)
                await self.harness.advance(timedelta(minutes=2))
            return run["run_id"] if "nap" in sleeping else None

        return await eventually(napping)

    async def after_noon(self, run_id: str, status: str) -> dict[str, Any]:
        """Move the value read outside steps, wake the run, and wait for it to end."""
        self.hour["now"] = 13
        await self.harness.advance(timedelta(hours=1, minutes=1))

        async def ended() -> dict[str, Any] | None:
            run = await self.harness.run(run_id)
            return run if run["status"] == status else None

        return await eventually(ended)


async def drift(tmp_path: Path, backend: dict[str, Any], mode: str | None) -> AsyncIterator[Drift]:
    harness = Harness(tmp_path, backend)
    await harness.start()
    hour = {"now": 9}
    app, client = nondeterminism_app.build(harness.url, hour, mode)  # type: ignore[arg-type]
    deployed = Deployed(app)
    served = await harness.serve_app(deployed, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield Drift(harness, hour, deployed, f"{served.url}/api/inngest")
    await harness.stop()
    await client.aclose()


@pytest.fixture
async def warn(tmp_path: Path, backend: dict[str, Any]) -> AsyncIterator[Drift]:
    async for made in drift(tmp_path, backend, None):
        yield made


@pytest.fixture
async def fail(tmp_path: Path, backend: dict[str, Any]) -> AsyncIterator[Drift]:
    async for made in drift(tmp_path, backend, "fail"):
        yield made


async def test_steps_reached_in_another_order_are_a_warning(warn: Drift) -> None:
    run_id = await warn.sleeping("drift/order")
    run = await warn.after_noon(run_id, "Completed")
    [warning] = run["warnings"]
    assert warning["code"] == "STP103"
    assert warning["step_ids"] == ["a", "b"]
    message = warning["message"]
    assert "step-order-changed" in message and "function 'drift-order'" in message and run_id in message
    assert "the history has step 'a' before step 'b', but the code reached 'b' first" in message
    assert "nondeterminism_app.py:" in message  # where the code reached each step
    assert "a value read outside a step changed between calls" in message
    assert "function version 1 (app version v1), which is still current" in message
    assert warning["at"]


async def test_a_finding_is_logged_once_at_warning(warn: Drift, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="stepstone.runs")
    run_id = await warn.sleeping("drift/order")
    await warn.after_noon(run_id, "Completed")
    [record] = [r for r in caplog.records if getattr(r, "action", None) == "run.nondeterminism"]
    assert record.levelno == logging.WARNING
    assert (record.run_id, record.code, record.function_id) == (run_id, "STP103", "drift-order")  # type: ignore[attr-defined]
    assert record.getMessage().startswith(f"drift-order: run {run_id} STP103 step-order-changed: ")


async def test_a_stored_step_not_reached_is_a_warning(warn: Drift) -> None:
    run_id = await warn.sleeping("drift/branch")
    run = await warn.after_noon(run_id, "Completed")
    [warning] = run["warnings"]
    assert warning["code"] == "STP101"
    assert warning["step_ids"] == ["morning-report"]
    assert "step 'morning-report' done, but the code did not reach it and moved on to new step " in warning["message"]
    assert "'afternoon-report'" in warning["message"]


async def test_a_step_reached_as_another_kind_is_a_warning(warn: Drift) -> None:
    run_id = await warn.sleeping("drift/kind")
    run = await warn.after_noon(run_id, "Completed")
    [warning] = run["warnings"]
    assert warning["code"] == "STP102"
    assert warning["step_ids"] == ["pause"]
    assert "step 'pause' as a step.sleep, but the code reached it as a step.run at " in warning["message"]


async def test_a_deterministic_function_has_no_warnings(warn: Drift) -> None:
    run_id = await warn.sleeping("drift/steady")
    run = await warn.after_noon(run_id, "Completed")
    assert run["warnings"] == []


async def test_a_deploy_between_calls_is_named_with_the_versions(warn: Drift) -> None:
    run_id = await warn.sleeping("drift/deploy")
    app, client = nondeterminism_app.build(warn.harness.url, warn.hour, None, version="v2")
    warn.deployed.app = app
    await warn.harness.sync(warn.url)
    run = await warn.after_noon(run_id, "Completed")
    await client.aclose()
    [warning] = run["warnings"]
    assert (warning["code"], warning["step_ids"]) == ("STP101", ["load"])
    assert "moved on to new step 'load-all'" in warning["message"]
    assert (
        "The run started on function version 1 (app version v1); it meets function version 2 (app version v2)"
        in (warning["message"])
    )
    assert run["output"] == "v2"


async def test_nondeterminism_fail_fails_the_run_naming_the_steps(fail: Drift) -> None:
    run_id = await fail.sleeping("drift/branch")
    run = await fail.after_noon(run_id, "Failed")
    assert run["output"]["name"] == "NonDeterminismError"
    assert "STP101 step-not-reached" in run["output"]["message"]
    assert "'morning-report'" in run["output"]["message"] and "'afternoon-report'" in run["output"]["message"]
    assert [warning["code"] for warning in run["warnings"]] == ["STP101"]
