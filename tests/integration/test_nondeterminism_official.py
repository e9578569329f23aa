"""Run-time non-determinism with the official Python SDK (`inngest` 0.5.19), on both stores: it does not say
which stored steps it read, so only what its wire shows is found. A step renamed between calls while the
engine targets it answers `step_unexpected` (STP104 unknown-step-targeted); a planned `step.run` that comes
back as a sleep with the same id is an op of another kind than the stored step (STP102)."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fastapi
import httpx
import inngest
import inngest.fast_api
import pytest

from tests.compat import stack
from tests.e2e.processes import Process, free_port
from tests.harness import Harness, eventually, free_socket


def build(engine_url: str) -> fastapi.FastAPI:
    client = inngest.Inngest(
        app_id="drift-official", is_production=False, api_base_url=engine_url, event_api_base_url=engine_url
    )
    calls = {"renamed": 0, "kind": 0}

    async def work() -> str:
        return "done"

    @client.create_function(fn_id="renamed", trigger=inngest.TriggerEvent(event="drift/renamed"), retries=0)
    async def renamed(ctx: inngest.Context) -> Any:
        calls["renamed"] += 1
        suffix = calls["renamed"]  # differs on every call: as if a deploy renamed the steps in between
        await ctx.group.parallel((lambda: ctx.step.run(f"a-{suffix}", work), lambda: ctx.step.run(f"b-{suffix}", work)))
        return await ctx.step.run("after", work)

    @client.create_function(fn_id="kind", trigger=inngest.TriggerEvent(event="drift/kind"), retries=0)
    async def kind(ctx: inngest.Context) -> Any:
        calls["kind"] += 1
        if calls["kind"] == 1:
            await ctx.group.parallel((lambda: ctx.step.run("x", work),))  # planned, then targeted
        else:
            await ctx.step.sleep("x", datetime.timedelta(hours=1))
        return "ok"

    app = fastapi.FastAPI()
    inngest.fast_api.serve(app, client, [renamed, kind])
    return app


@pytest.fixture
async def harness(tmp_path: Path, backend: dict[str, Any]) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path, backend)
    await harness.start()
    served = await harness.serve_app(build(harness.url), free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield harness
    await harness.stop()


async def warnings_of(harness: Harness, event: str, status: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    run = await harness.wait_run(await harness.send(event), status=status)
    return run, run["warnings"]


async def test_a_targeted_step_renamed_between_calls_is_unknown_step_targeted(harness: Harness) -> None:
    run, warnings = await warnings_of(harness, "drift/renamed", "Failed")
    assert run["output"]["code"] == "step_unexpected"
    assert warnings, run
    assert {warning["code"] for warning in warnings} == {"STP104"}
    message = warnings[0]["message"]
    assert "STP104 unknown-step-targeted: function 'drift-official-renamed'" in message
    # both planned steps are targeted side by side; whichever call answers first fails the run
    [step_id] = warnings[0]["step_ids"]
    assert step_id in ("a-1", "b-1")
    assert f"the engine targeted step '{step_id}' but the code never reached it" in message
    assert "when targeting a different step" in message  # what the SDK said


async def test_a_planned_step_that_comes_back_as_a_sleep_is_step_kind_changed(harness: Harness) -> None:
    event_id = await harness.send("drift/kind")

    async def warned() -> list[dict[str, Any]] | None:
        runs = await harness.runs_for(event_id)
        if not runs:
            return None
        return (await harness.run(runs[0]["run_id"]))["warnings"] or None

    warnings = await eventually(warned)
    assert [warning["code"] for warning in warnings] == ["STP102"]
    assert warnings[0]["step_ids"] == ["x"]
    assert "step 'x' as a step.run, but the code now reports a step.sleep with the same id" in warnings[0]["message"]


async def test_the_engine_default_fail_fails_runs_of_apps_that_cannot_say(
    tmp_path: Path, backend: dict[str, Any]
) -> None:
    harness = Harness(tmp_path, backend, nondeterminism="fail")  # `stepstone dev --nondeterminism fail`
    await harness.start()
    try:
        served = await harness.serve_app(build(harness.url), free_socket())
        await harness.sync(f"{served.url}/api/inngest")
        run = await harness.wait_run(await harness.send("drift/kind"), status="Failed")
        assert run["output"]["name"] == "NonDeterminismError"
        assert run["output"]["message"].startswith("STP102 step-kind-changed: function 'drift-official-kind'")
        assert [warning["code"] for warning in run["warnings"]] == ["STP102"]
    finally:
        await harness.stop()


@pytest.fixture(params=["checkpoints", "classic"])
async def ts_app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """The TypeScript SDK app (`tests/compat/ts/nondeterminism_app.mjs`) as a process, synced to an engine."""
    stack.require_ts_sdk()  # skips without Node.js, fails in CI
    harness = Harness(tmp_path)
    await harness.start()
    port = free_port()
    environment = {**stack.clean_environment(), "INNGEST_DEV": harness.url, "PORT": str(port)}
    if request.param == "classic":
        environment["COMPAT_CHECKPOINTING"] = "0"
    app = Process(["node", str(stack.TS_DIR / "nondeterminism_app.mjs")], environment, tmp_path / "ts.log")
    app.start()
    try:
        async with httpx.AsyncClient() as http:
            await eventually(lambda: _up(http, f"http://127.0.0.1:{port}/health"))
        await harness.sync(f"http://127.0.0.1:{port}/api/inngest")
        yield harness
    finally:
        app.stop()
        await harness.stop()


async def _up(http: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await http.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def test_typescript_a_planned_step_back_as_a_sleep_is_step_kind_changed(ts_app: Harness) -> None:
    # Targeted at `x`, the SDK finds a sleep `x` where it looked for a step.run, and answers StepNotFound
    # (after its own 10 s wait) listing the very id it was asked for among the steps it found.
    run = await ts_app.wait_run(await ts_app.send("drift/kind"), status="Failed", timeout=60)
    [warning] = run["warnings"]
    assert (warning["code"], warning["step_ids"]) == ("STP102", ["x"])
    assert "function 'drift-ts-kind'" in warning["message"]
    assert (
        "the history has step 'x' as a step.run; the engine targeted it, but the code reached a step with"
        in (warning["message"])
    )


async def test_typescript_a_targeted_step_renamed_is_unknown_step_targeted(ts_app: Harness) -> None:
    # The SDK answers StepNotFound only once its own 10 s wait for the targeted step has passed.
    run = await ts_app.wait_run(await ts_app.send("drift/renamed"), status="Failed", timeout=60)
    assert "Could not find step" in run["output"]["error"]
    codes = {warning["code"] for warning in run["warnings"]}
    assert codes == {"STP104"}, run["warnings"]
    [step_id] = run["warnings"][0]["step_ids"]
    assert step_id in ("a-1", "b-1")
    assert f"the engine targeted step '{step_id}' but the code never reached it" in run["warnings"][0]["message"]
