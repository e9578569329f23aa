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
import inngest
import inngest.fast_api
import pytest

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
            await ctx.group.parallel((lambda: ctx.step.run("x", work), lambda: ctx.step.run("y", work)))
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
    assert "the engine targeted step 'a-1' but the code never reached it" in message
    assert "when targeting a different step" in message  # what the SDK said
    assert warnings[0]["step_ids"] == ["a-1"]


async def test_a_planned_step_that_comes_back_as_a_sleep_is_step_kind_changed(harness: Harness) -> None:
    event_id = await harness.send("drift/kind")

    async def warned() -> list[dict[str, Any]] | None:
        runs = await harness.runs_for(event_id)
        if not runs:
            return None
        return (await harness.run(runs[0]["run_id"]))["warnings"] or None

    warnings = await eventually(warned)
    assert warnings[0]["code"] == "STP102"
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
