"""Checkpoint mode: several steps per call, each reported to `/v1/checkpoint/{run}/async` as it ends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

import stepstone
from stepstone.protocol import headers, signing
from stepstone.sdk import checkpoint

from .helpers import call, call_sync, data, handler, hashed, ops

KEY = "signkey-test-" + "ab" * 32
EVENT = stepstone.TriggerEvent(event="app/go")
CHECKPOINT = {"fn_id": "fn-uuid", "qi_id": "qi-1", "request_id": "req-1", "generation_id": 3}


class FakeEngine:
    """Answers checkpoints with the statuses given in turn (then 200), recording each request."""

    def __init__(self, *statuses: int | Exception) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        if isinstance(status, Exception):
            raise status
        return httpx.Response(status, json={})

    @property
    def steps(self) -> list[str]:
        return [json.loads(r.content)["steps"][0]["displayName"] for r in self.requests]


def client_for(engine: FakeEngine) -> stepstone.Stepstone:
    return stepstone.Stepstone(
        "app",
        is_dev=True,
        environ={},
        signing_key=KEY,
        transport=httpx.MockTransport(engine),
        sync_transport=httpx.MockTransport(engine),
    )


def three_steps(client: stepstone.Stepstone, seen: list[Any]) -> stepstone.Function:
    @client.create_function(fn_id="fn", trigger=EVENT)
    async def fn(ctx: stepstone.Context) -> int:
        a = await ctx.step.run("a", lambda: seen.append(("a", ctx.attempt)) or 1)
        b = await ctx.step.run("b", lambda: seen.append(("b", ctx.attempt)) or a + 1)
        await ctx.step.sleep("nap", "1h")
        return b

    return fn


async def test_steps_are_checkpointed_and_the_function_goes_on() -> None:
    engine = FakeEngine()
    client = client_for(engine)
    seen: list[Any] = []
    fn = three_steps(client, seen)
    response = await call(handler(client, [fn]), fn, **CHECKPOINT)
    assert [op["op"] for op in ops(response)] == ["Sleep"]
    assert engine.steps == ["a", "b"]
    first = engine.requests[0]
    assert first.url == "http://127.0.0.1:8288/v1/checkpoint/run1/async"
    assert first.headers["authorization"] == f"Bearer {signing.bearer_token(KEY)}"
    body = json.loads(first.content)
    assert {k: body[k] for k in ("run_id", "fn_id", "qi_id", "request_id", "generation_id")} == {
        "run_id": "run1",
        **CHECKPOINT,
    }
    assert isinstance(body["ts"], int)
    assert body["steps"][0] | {"data": None} == {
        "id": hashed("a"),
        "op": "StepRun",
        "name": "a",
        "displayName": "a",
        "opts": None,
        "userland": {"id": "a", "index": None},
        "data": None,
    }
    assert body["steps"][0]["data"] == 1


async def test_the_return_answers_the_last_step_with_run_complete() -> None:
    engine = FakeEngine()
    client = client_for(engine)
    fn = three_steps(client, [])
    response = await call(handler(client, [fn]), fn, steps={hashed("nap"): None}, **CHECKPOINT)
    assert response.status == 206
    assert [(op["op"], op["id"], op["data"]) for op in ops(response)] == [
        ("StepRun", hashed("b"), 2),
        ("RunComplete", hashed("complete"), 2),
    ]
    assert engine.steps == ["a"]  # b is saved from the answer, one round trip fewer


async def test_a_return_with_no_step_run_in_the_request_answers_200() -> None:
    engine = FakeEngine()
    client = client_for(engine)
    fn = three_steps(client, [])
    memos = {hashed("a"): {"data": 1}, hashed("b"): {"data": 2}, hashed("nap"): None}
    response = await call(handler(client, [fn]), fn, steps=memos, **CHECKPOINT)
    assert (response.status, data(response)) == (200, 2)
    assert engine.requests == []


async def test_a_step_runs_only_after_the_step_before_it_is_saved() -> None:
    order: list[str] = []
    engine = FakeEngine()
    saving = engine.__call__

    def record(request: httpx.Request) -> httpx.Response:
        order.append("saved " + json.loads(request.content)["steps"][0]["displayName"])
        return saving(request)

    client = stepstone.Stepstone(
        "app",
        is_dev=True,
        environ={},
        transport=httpx.MockTransport(record),
        sync_transport=httpx.MockTransport(record),
    )

    @client.create_function(fn_id="fn", trigger=EVENT)
    async def fn(ctx: stepstone.Context) -> None:
        for name in ("a", "b", "c"):
            await ctx.step.run(name, lambda name=name: order.append("ran " + name))

    response = await call(handler(client, [fn]), fn, **CHECKPOINT)
    assert order == ["ran a", "saved a", "ran b", "saved b", "ran c"]
    assert [op["op"] for op in ops(response)] == ["StepRun", "RunComplete"]


@pytest.mark.parametrize("plain", [False, True])
def test_a_function_that_fails_after_its_last_step_saves_the_step_first(plain: bool) -> None:
    engine = FakeEngine()
    client = client_for(engine)

    if plain:

        @client.create_function(fn_id="fn", trigger=EVENT)
        def fn(ctx: stepstone.ContextSync) -> None:
            ctx.step.run("a", lambda: 1)
            raise ValueError("after a")

        response = call_sync(handler(client, [fn]), fn, **CHECKPOINT)
    else:

        @client.create_function(fn_id="fn", trigger=EVENT)
        async def fn_async(ctx: stepstone.Context) -> None:
            await ctx.step.run("a", lambda: 1)
            raise ValueError("after a")

        response = asyncio.run(call(handler(client, [fn_async]), fn_async, **CHECKPOINT))
    assert response.status == 500
    assert engine.steps == ["a"]


async def test_only_the_first_step_of_a_request_uses_the_request_attempt() -> None:
    engine = FakeEngine()
    client = client_for(engine)
    seen: list[Any] = []

    @client.create_function(fn_id="fn", trigger=EVENT)
    async def fn(ctx: stepstone.Context) -> None:
        await ctx.step.run("a", lambda: seen.append(ctx.attempt))

        def fail() -> None:
            seen.append(ctx.attempt)
            raise ValueError("b failed")

        await ctx.step.run("b", fail)

    response = await call(handler(client, [fn]), fn, attempt=2, max_attempts=3, **CHECKPOINT)
    assert seen == [2, 0]
    [op] = ops(response)
    assert (op["op"], op["displayName"]) == ("StepError", "b")
    assert engine.steps == ["a"]


async def test_a_stale_dispatch_stops_without_retry() -> None:
    engine = FakeEngine(409)
    client = client_for(engine)
    seen: list[Any] = []
    fn = three_steps(client, seen)
    response = await call(handler(client, [fn]), fn, **CHECKPOINT)
    assert response.status == 400
    assert response.headers[headers.NO_RETRY] == "true"
    assert [name for name, _ in seen] == ["a"]


@pytest.mark.parametrize("failure", [503, httpx.ConnectError("down")])
async def test_failed_checkpoints_fall_back_to_answering_the_op(failure: int | Exception) -> None:
    engine = FakeEngine(*[failure] * checkpoint.CHECKPOINT_ATTEMPTS)
    client = client_for(engine)
    seen: list[Any] = []
    fn = three_steps(client, seen)
    response = await call(handler(client, [fn]), fn, **CHECKPOINT)
    [op] = ops(response)
    assert (op["op"], op["displayName"], op["data"]) == ("StepRun", "a", 1)
    assert len(engine.requests) == checkpoint.CHECKPOINT_ATTEMPTS
    assert [name for name, _ in seen] == ["a"]


async def test_a_retry_that_succeeds_continues() -> None:
    engine = FakeEngine(500)
    client = client_for(engine)
    fn = three_steps(client, [])
    response = await call(handler(client, [fn]), fn, **CHECKPOINT)
    assert [op["op"] for op in ops(response)] == ["Sleep"]
    assert engine.steps == ["a", "a", "b"]


def fake_clock(times: list[float]) -> Callable[[], float]:
    return lambda: times[0]


async def test_past_max_runtime_the_engine_is_asked_to_call_again() -> None:
    engine = FakeEngine()
    client = client_for(engine)
    now = [0.0]
    seen: list[Any] = []

    @client.create_function(fn_id="fn", trigger=EVENT)
    async def fn(ctx: stepstone.Context) -> None:
        await ctx.step.run("a", lambda: now.__setitem__(0, 11.0))
        await ctx.step.run("b", lambda: seen.append("b"))

    h = handler(client, [fn], max_runtime=timedelta(seconds=10), clock=fake_clock(now))
    response = await call(h, fn, **CHECKPOINT)
    assert ops(response) == [{"op": "DiscoveryRequest", "id": hashed("b")}]
    assert seen == []
    assert engine.steps == ["a"]


async def test_no_checkpoint_without_fn_id_or_when_targeting() -> None:
    engine = FakeEngine()
    client = client_for(engine)
    fn = three_steps(client, [])
    h = handler(client, [fn])
    assert [op["displayName"] for op in ops(await call(h, fn))] == ["a"]
    assert [op["displayName"] for op in ops(await call(h, fn, step_id=hashed("a"), **CHECKPOINT))] == ["a"]
    planned = ops(await call(h, fn, disable_immediate_execution=True, **CHECKPOINT))
    assert [op["op"] for op in planned] == ["StepPlanned"]
    assert engine.requests == []


def test_plain_functions_checkpoint_with_the_sync_client() -> None:
    engine = FakeEngine()
    client = client_for(engine)

    @client.create_function(fn_id="fn", trigger=EVENT)
    def fn(ctx: stepstone.ContextSync) -> int:
        a = ctx.step.run("a", lambda: 1)
        return ctx.step.run("b", lambda: a + 1)

    response = call_sync(handler(client, [fn]), fn, **CHECKPOINT)
    assert [(op["op"], op["data"]) for op in ops(response)] == [("StepRun", 2), ("RunComplete", 2)]
    assert engine.steps == ["a"]
