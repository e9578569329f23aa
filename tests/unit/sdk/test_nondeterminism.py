"""The SDK's side of run-time non-determinism: the `nondeterminism` option's wire form, and the stored steps a
call used, reported in order with where each is in the source (`x-stepstone-steps-used`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import stepstone
from stepstone.protocol import headers
from stepstone.protocol.stepids import hash_step_id
from stepstone.sdk import comm, errors

URL = "http://app.test/api/inngest"


async def noop(ctx: stepstone.Context) -> None:
    return None


def test_the_option_is_registered_only_when_given(client: stepstone.Stepstone) -> None:
    failing = client.create_function(fn_id="f", trigger=stepstone.TriggerEvent(event="a/b"), nondeterminism="fail")(
        noop
    )
    plain = client.create_function(fn_id="p", trigger=stepstone.TriggerEvent(event="a/b"))(noop)
    assert failing.config(URL).dump()["nondeterminism"] == "fail"
    assert "nondeterminism" not in plain.config(URL).dump()
    with pytest.raises(errors.FunctionConfigInvalidError, match="nondeterminism must be 'warn' or 'fail'"):
        client.create_function(fn_id="x", trigger=stepstone.TriggerEvent(event="a/b"), nondeterminism="loud")(noop)  # type: ignore[arg-type]


def call(steps: dict[str, Any]) -> bytes:
    ctx = {"run_id": "r1", "attempt": 0, "fn_id": "", "stack": {"stack": list(steps), "current": len(steps)}}
    return json.dumps({"ctx": ctx, "event": {"name": "a/b", "data": {}}, "events": [], "steps": steps}).encode()


async def test_a_call_reports_the_stored_steps_it_used_in_order(client: stepstone.Stepstone) -> None:
    async def work() -> int:
        return 1

    @client.create_function(fn_id="two", trigger=stepstone.TriggerEvent(event="a/b"))
    async def two(ctx: stepstone.Context) -> None:
        await ctx.step.run("b", work)
        await ctx.step.run("a", work)  # line reported below
        await ctx.step.run("c", work)

    handler = comm.CommHandler(client, [two], framework="test", options=None)
    body = call({hash_step_id("a"): {"data": 1}, hash_step_id("b"): {"data": 2}})
    query = {"fnId": two.id, "stepId": "step"}
    answer = await handler.handle(comm.CommRequest("POST", URL, {}, body, query))
    used = json.loads(answer.headers[headers.STEPS_USED])
    assert [entry[0] for entry in used] == [hash_step_id("b"), hash_step_id("a")]
    assert [entry[1] for entry in used] == ["StepRun", "StepRun"]
    assert used[1][2].startswith("test_nondeterminism.py:") and not used[1][3]

    first = await handler.handle(comm.CommRequest("POST", URL, {}, call({}), query))
    assert headers.STEPS_USED not in first.headers  # nothing stored, nothing to report


async def test_steps_reached_in_a_parallel_group_are_marked_so(client: stepstone.Stepstone) -> None:
    async def work() -> int:
        return 1

    @client.create_function(fn_id="group", trigger=stepstone.TriggerEvent(event="a/b"))
    async def grouped(ctx: stepstone.Context) -> None:
        await ctx.group.parallel((lambda: ctx.step.run("p1", work), lambda: ctx.step.run("p2", work)))

    handler = comm.CommHandler(client, [grouped], framework="test", options=None)
    body = call({hash_step_id("p1"): {"data": 1}, hash_step_id("p2"): {"data": 2}})
    answer = await handler.handle(comm.CommRequest("POST", URL, {}, body, {"fnId": grouped.id, "stepId": "step"}))
    used = json.loads(answer.headers[headers.STEPS_USED])
    assert [(entry[0], entry[3]) for entry in used] == [(hash_step_id("p1"), True), (hash_step_id("p2"), True)]
    assert all(entry[2] == "" or entry[2].startswith("test_nondeterminism.py:") for entry in used)


async def test_past_the_size_limit_the_header_leaves_out_where(
    client: stepstone.Stepstone, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def work() -> int:
        return 1

    @client.create_function(fn_id="one", trigger=stepstone.TriggerEvent(event="a/b"))
    async def one(ctx: stepstone.Context) -> None:
        await ctx.step.run("a", work)

    monkeypatch.setattr(comm, "STEPS_USED_LIMIT", 10)
    handler = comm.CommHandler(client, [one], framework="test", options=None)
    body = call({hash_step_id("a"): {"data": 1}})
    answer = await handler.handle(comm.CommRequest("POST", URL, {}, body, {"fnId": one.id, "stepId": "step"}))
    assert json.loads(answer.headers[headers.STEPS_USED]) == [[hash_step_id("a"), "StepRun", "", False]]
