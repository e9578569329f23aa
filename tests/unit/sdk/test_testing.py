"""`stepstone.testing`: running functions in-process with no engine."""

from __future__ import annotations

import asyncio

import pytest

import stepstone
import stepstone.testing
from stepstone.sdk import errors

EVENT = stepstone.TriggerEvent(event="app/go")


async def test_a_function_runs_to_its_end_with_parallel_steps_and_sleeps(client: stepstone.Stepstone) -> None:
    @client.create_function(fn_id="f", trigger=EVENT)
    async def fn(ctx: stepstone.Context) -> list[int]:
        a = await ctx.step.run("a", lambda: ctx.event.data["n"])
        await ctx.step.sleep("nap", "1d")
        b, c = await asyncio.gather(ctx.step.run("b", lambda: a + 1), ctx.step.run("c", lambda: a + 2))
        return [a, b, c]

    result = await stepstone.testing.run(fn, stepstone.Event(name="app/go", data={"n": 1}))
    assert (result.status, result.output, result.error) == (stepstone.testing.Status.COMPLETED, [1, 2, 3], None)


async def test_waits_and_invokes_need_stubs(client: stepstone.Stepstone) -> None:
    @client.create_function(fn_id="f", trigger=EVENT)
    async def fn(ctx: stepstone.Context) -> list[object]:
        got = await ctx.step.wait_for_event("w", event="app/ok", timeout="1h")
        none = await ctx.step.wait_for_event("t", event="app/ok", timeout="1h")
        child = await ctx.step.invoke_by_id("i", function_id="child")
        stubbed = await ctx.step.run("s", lambda: "real")
        return [got.data if got else None, none, child, stubbed]

    stubs = {"w": stepstone.Event(name="app/ok", data={"k": 1}), "t": stepstone.testing.TIMEOUT, "i": 7, "s": "stub"}
    result = await stepstone.testing.run(fn, stepstone.Event(name="app/go"), step_stubs=stubs)
    assert result.output == [{"k": 1}, None, 7, "stub"]
    with pytest.raises(errors.UnstubbedStepError, match="'w'"):
        await stepstone.testing.run(fn, stepstone.Event(name="app/go"))


def test_retries_then_failure_for_plain_functions(client: stepstone.Stepstone) -> None:
    attempts: list[int] = []

    @client.create_function(fn_id="f", trigger=EVENT, retries=2)
    def fn(ctx: stepstone.ContextSync) -> str:
        def flaky() -> str:
            attempts.append(ctx.attempt)
            raise ValueError("flaky")

        try:
            ctx.step.run("a", flaky)
        except stepstone.StepError:
            raise stepstone.NonRetriableError("gave up") from None
        return "never"

    result = stepstone.testing.run_sync(fn, stepstone.Event(name="app/go"))
    assert attempts == [0, 1, 2]
    assert result.status is stepstone.testing.Status.FAILED
    assert isinstance(result.error, stepstone.NonRetriableError)


def test_signal_waits_take_their_data_or_timeout_as_stubs(client: stepstone.Stepstone) -> None:
    @client.create_function(fn_id="f", trigger=EVENT)
    def fn(ctx: stepstone.ContextSync) -> list[object]:
        got = ctx.step.wait_for_signal("approved", signal="approve-1", timeout="1d")
        late = ctx.step.wait_for_signal("late", signal="approve-2", timeout="1d", on_conflict="replace")
        return [got.signal if got else None, got.data if got else None, late]

    stubs = {"approved": {"by": "ana"}, "late": stepstone.testing.TIMEOUT}
    result = stepstone.testing.run_sync(fn, stepstone.Event(name="app/go"), step_stubs=stubs)
    assert result.output == ["approve-1", {"by": "ana"}, None]
    with pytest.raises(errors.UnstubbedStepError, match="'approved'"):
        stepstone.testing.run_sync(fn, stepstone.Event(name="app/go"))


async def test_an_unknown_on_conflict_is_refused(client: stepstone.Stepstone) -> None:
    @client.create_function(fn_id="f", trigger=EVENT)
    async def fn(ctx: stepstone.Context) -> object:
        return await ctx.step.wait_for_signal("s", signal="x", timeout="1h", on_conflict="queue")  # type: ignore[arg-type]

    result = await stepstone.testing.run(fn, stepstone.Event(name="app/go"), step_stubs={"s": 1})
    assert result.status is stepstone.testing.Status.FAILED
    assert "on_conflict must be 'fail' or 'replace', not 'queue'" in str(result.error)
