"""Async functions: replay, step ops, memo shapes, errors, parallel steps and targeting."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest

import stepstone
from stepstone.protocol import headers

from .helpers import call, data, handler, hashed, ops

EVENT = stepstone.TriggerEvent(event="app/go")


def make(client: stepstone.Stepstone, body: Any, **kwargs: Any) -> stepstone.Function:
    return client.create_function(fn_id="fn", trigger=EVENT, **kwargs)(body)


async def test_a_new_step_runs_and_is_reported_as_step_run(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> str:
        return await ctx.step.run("a", lambda: {"n": 1})

    fn = make(client, body)
    response = await call(handler(client, [fn]), fn)
    assert ops(response) == [
        {
            "id": hashed("a"),
            "op": "StepRun",
            "name": "a",
            "displayName": "a",
            "opts": None,
            "userland": {"id": "a", "index": None},
            "data": {"n": 1},
        }
    ]


async def test_replay_never_reruns_a_memoized_step(client: stepstone.Stepstone) -> None:
    runs: list[str] = []

    async def step_a() -> int:
        runs.append("a")
        return 1

    async def body(ctx: stepstone.Context) -> int:
        a = await ctx.step.run("a", step_a)
        b = await ctx.step.run("b", lambda: a + 1)
        return b * 10

    fn = make(client, body)
    h = handler(client, [fn])
    [op_b] = ops(await call(h, fn, steps={hashed("a"): {"data": 1}}))
    assert (op_b["displayName"], op_b["data"]) == ("b", 2)
    done = await call(h, fn, steps={hashed("a"): {"data": 1}, hashed("b"): {"data": 2}})
    assert (done.status, data(done)) == (200, 20)
    assert runs == []


async def test_repeated_ids_are_hashed_with_their_index(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> list[int]:
        return [await ctx.step.run("a", lambda i=i: i) for i in range(3)]

    fn = make(client, body)
    h = handler(client, [fn])
    [second] = ops(await call(h, fn, steps={hashed("a"): {"data": 0}}))
    assert second["id"] == hashed("a", 1) == stepstone.protocol.stepids.hash_step_id("a:1")
    assert second["userland"] == {"id": "a", "index": 1}
    memos = {hashed("a"): {"data": 0}, hashed("a", 1): {"data": 1}, hashed("a", 2): {"data": 2}}
    assert data(await call(h, fn, steps=memos)) == [0, 1, 2]


@pytest.mark.parametrize("duration", [timedelta(minutes=30), 30 * 60 * 1000, "30m"])
async def test_sleep_reports_its_wake_time_as_name(client: stepstone.Stepstone, duration: Any) -> None:
    async def body(ctx: stepstone.Context) -> str:
        await ctx.step.sleep("nap", duration)
        return "awake"

    fn = make(client, body)
    h = handler(client, [fn])
    before = datetime.now(UTC)
    [op] = ops(await call(h, fn))
    assert (op["op"], op["displayName"], op["opts"]) == ("Sleep", "nap", {"duration": "1800000ms"})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", op["name"])
    woken = datetime.fromisoformat(op["name"].replace("Z", "+00:00"))
    assert timedelta(minutes=29) < woken - before < timedelta(minutes=31)
    assert data(await call(h, fn, steps={hashed("nap"): None})) == "awake"


async def test_sleep_until_names_the_time(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> None:
        await ctx.step.sleep_until("until", datetime(2030, 1, 2, 3, 4, 5, 6000, tzinfo=UTC))

    fn = make(client, body)
    [op] = ops(await call(handler(client, [fn]), fn))
    assert op["name"] == "2030-01-02T03:04:05.006Z"


async def test_wait_for_event_op_and_memos(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> Any:
        got = await ctx.step.wait_for_event("w", event="app/ok", timeout="1h", if_exp="async.data.id == event.data.id")
        return got.data if got is not None else "timed out"

    fn = make(client, body)
    h = handler(client, [fn])
    [op] = ops(await call(h, fn))
    assert (op["op"], op["name"], op["displayName"]) == ("WaitForEvent", "app/ok", "w")
    assert op["opts"] == {"event": "app/ok", "if": "async.data.id == event.data.id", "timeout": "1h"}
    matched = {hashed("w"): {"name": "app/ok", "data": {"id": 7}, "id": "e2", "ts": 1}}
    assert data(await call(h, fn, steps=matched)) == {"id": 7}
    assert data(await call(h, fn, steps={hashed("w"): None})) == "timed out"


async def test_invoke_op_and_result(client: stepstone.Stepstone) -> None:
    @client.create_function(fn_id="child", trigger=EVENT)
    async def child(ctx: stepstone.Context) -> int:
        return 1

    async def body(ctx: stepstone.Context) -> Any:
        one = await ctx.step.invoke("i", function=child, data={"k": 1}, timeout=timedelta(minutes=1))
        two = await ctx.step.invoke_by_id("j", app_id="other", function_id="f")
        return [one, two]

    fn = make(client, body)
    h = handler(client, [fn, child])
    [op] = ops(await call(h, fn))
    assert (op["op"], op["name"], op["displayName"]) == ("InvokeFunction", "i", "i")
    assert op["opts"] == {"function_id": "app-child", "payload": {"data": {"k": 1}}, "timeout": "1m"}
    [op_j] = ops(await call(h, fn, steps={hashed("i"): {"data": 1}}))
    assert op_j["opts"] == {"function_id": "other-f", "payload": {"data": {}}, "timeout": None}
    assert data(await call(h, fn, steps={hashed("i"): {"data": 1}, hashed("j"): {"data": "x"}})) == [1, "x"]


async def test_a_memoized_error_raises_step_error_that_user_code_can_catch(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> Any:
        try:
            await ctx.step.run("a", lambda: 1)
        except stepstone.StepError as err:
            return [err.name, err.message, err.stack]
        return "no error"

    fn = make(client, body)
    memo = {hashed("a"): {"error": {"name": "ZeroDivisionError", "message": "division by zero", "stack": "tb"}}}
    assert data(await call(handler(client, [fn]), fn, steps=memo)) == ["ZeroDivisionError", "division by zero", "tb"]


async def test_an_uncaught_step_error_fails_the_function_without_retry(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> Any:
        return await ctx.step.run("a", lambda: 1)

    fn = make(client, body)
    memo = {hashed("a"): {"error": {"name": "ZeroDivisionError", "message": "division by zero"}}}
    response = await call(handler(client, [fn]), fn, steps=memo)
    assert response.status == 500
    assert response.headers[headers.NO_RETRY] == "true"
    assert data(response) == {
        "name": "ZeroDivisionError",
        "message": "division by zero",
        "stack": None,
        "code": "step_errored",
    }


@pytest.mark.parametrize(("attempt", "opcode"), [(0, "StepError"), (1, "StepError"), (2, "StepFailed")])
async def test_a_raising_step_reports_step_error_until_its_last_attempt(
    client: stepstone.Stepstone, attempt: int, opcode: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> None:
        raise ValueError("bad value")

    async def body(ctx: stepstone.Context) -> None:
        await ctx.step.run("a", boom)

    fn = make(client, body)
    response = await call(handler(client, [fn]), fn, attempt=attempt, max_attempts=3)
    [op] = ops(response)
    assert op["op"] == opcode
    assert (op["error"]["name"], op["error"]["message"], op["error"]["code"]) == ("ValueError", "bad value", "unknown")
    assert "raise ValueError" in op["error"]["stack"]
    assert (response.headers.get(headers.NO_RETRY) == "true") == (opcode == "StepFailed")
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None and record.exc_info[0] is ValueError


async def test_non_retriable_error_in_a_step_fails_the_function(client: stepstone.Stepstone) -> None:
    def boom() -> None:
        raise stepstone.NonRetriableError("give up")

    async def body(ctx: stepstone.Context) -> None:
        await ctx.step.run("a", boom)

    fn = make(client, body)
    response = await call(handler(client, [fn]), fn)
    assert response.status == 500
    assert response.headers[headers.NO_RETRY] == "true"
    assert data(response)["code"] == "non_retriable_error"
    assert data(response)["message"] == "give up"


async def test_retry_after_error_sets_the_retry_after_header(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> None:
        raise stepstone.RetryAfterError("later", datetime(2030, 1, 1, 12, 0, tzinfo=UTC))

    fn = make(client, body)
    response = await call(handler(client, [fn]), fn)
    assert response.status == 500
    assert response.headers[headers.RETRY_AFTER] == "2030-01-01T12:00:00.000Z"
    assert headers.NO_RETRY not in response.headers
    assert data(response)["code"] == "retry_after_error"


async def test_a_plain_exception_fails_the_function_retriably_and_is_logged(
    client: stepstone.Stepstone, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(ctx: stepstone.Context) -> None:
        raise KeyError("missing")

    fn = make(client, body)
    response = await call(handler(client, [fn]), fn)
    assert response.status == 500
    assert headers.NO_RETRY not in response.headers
    body_json = data(response)
    assert (body_json["name"], body_json["code"]) == ("KeyError", "unknown")
    assert "raise KeyError" in body_json["stack"]
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


async def test_a_nested_step_fails_the_step_for_good(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> None:
        async def outer() -> None:
            await ctx.step.run("inner", lambda: 1)

        await ctx.step.run("outer", outer)

    fn = make(client, body)
    [op] = ops(await call(handler(client, [fn]), fn, max_attempts=5))
    assert (op["op"], op["displayName"], op["error"]["code"]) == ("StepFailed", "outer", "step_nested")


async def test_unserializable_output_is_a_non_retriable_error(client: stepstone.Stepstone) -> None:
    async def step_body(ctx: stepstone.Context) -> None:
        await ctx.step.run("a", object)

    async def fn_body(ctx: stepstone.Context) -> object:
        return object()

    for body in (step_body, fn_body):
        fn = make(client, body)
        response = await call(handler(client, [fn]), fn)
        assert response.status == 500
        assert response.headers[headers.NO_RETRY] == "true"
        assert data(response)["code"] == "output_unserializable"
        assert "cannot be written as JSON" in data(response)["message"]


class Order(pydantic.BaseModel):
    id: int
    when: datetime


async def test_pydantic_models_round_trip_through_memos(client: stepstone.Stepstone) -> None:
    seen: list[Any] = []

    async def load() -> Order:
        return Order(id=1, when=datetime(2030, 1, 1, tzinfo=UTC))

    async def body(ctx: stepstone.Context) -> Order:
        order = await ctx.step.run("load", load)
        as_type = await ctx.step.run("plain", lambda: {"id": 2, "when": "2030-01-01T00:00:00Z"}, output_type=Order)
        seen.extend([order, as_type])
        return order

    fn = make(client, body)
    h = handler(client, [fn])
    [op] = ops(await call(h, fn))
    assert op["data"] == {"id": 1, "when": "2030-01-01T00:00:00Z"}
    memos = {hashed("load"): {"data": op["data"]}, hashed("plain"): {"data": {"id": 2, "when": "2030-01-01T00:00:00Z"}}}
    done = await call(h, fn, steps=memos)
    assert data(done) == {"id": 1, "when": "2030-01-01T00:00:00Z"}
    assert [type(item) for item in seen] == [Order, Order]
    assert seen[1].id == 2


async def test_the_logger_is_silent_while_replaying(
    client: stepstone.Stepstone, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(ctx: stepstone.Context) -> None:
        ctx.logger.info("before a")
        await ctx.step.run("a", lambda: 1)
        ctx.logger.info("after a")
        await ctx.step.run("b", lambda: 2)

    fn = make(client, body)
    caplog.set_level(logging.INFO)
    await call(handler(client, [fn]), fn, steps={hashed("a"): {"data": 1}})
    assert [r.getMessage() for r in caplog.records] == ["after a"]


async def test_a_plain_callback_runs_off_the_event_loop(client: stepstone.Stepstone) -> None:
    loop_thread = threading.get_ident()

    async def body(ctx: stepstone.Context) -> bool:
        return await ctx.step.run("a", threading.get_ident) != loop_thread

    fn = make(client, body)
    [op] = ops(await call(handler(client, [fn]), fn))
    assert op["data"] != loop_thread


async def test_steps_gathered_together_are_planned_in_one_answer(client: stepstone.Stepstone) -> None:
    runs: list[str] = []

    def work(name: str) -> str:
        runs.append(name)
        return name.upper()

    async def body(ctx: stepstone.Context) -> list[str]:
        return list(await asyncio.gather(ctx.step.run("a", work, "a"), ctx.step.run("b", work, "b")))

    fn = make(client, body)
    h = handler(client, [fn])
    planned = ops(await call(h, fn))
    assert [(op["op"], op["displayName"], op["data"]) for op in planned] == [
        ("StepPlanned", "a", None),
        ("StepPlanned", "b", None),
    ]
    assert runs == []
    [ran_b] = ops(await call(h, fn, step_id=hashed("b")))
    assert (ran_b["op"], ran_b["id"], ran_b["data"]) == ("StepRun", hashed("b"), "B")
    assert runs == ["b"]
    [ran_a] = ops(await call(h, fn, step_id=hashed("a"), steps={hashed("b"): {"data": "B"}}))
    assert (ran_a["op"], ran_a["data"]) == ("StepRun", "A")
    assert runs == ["b", "a"]
    done = await call(h, fn, steps={hashed("a"): {"data": "A"}, hashed("b"): {"data": "B"}})
    assert data(done) == ["A", "B"]


async def test_group_parallel_plans_its_steps_and_marks_race(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> tuple[Any, ...]:
        return await ctx.group.parallel(
            (lambda: ctx.step.run("a", lambda: 1), lambda: ctx.step.sleep("s", "1m")),
            parallel_mode=stepstone.ParallelMode.RACE,
        )

    fn = make(client, body)
    planned = ops(await call(handler(client, [fn]), fn))
    assert [(op["op"], op["displayName"], op["opts"]) for op in planned] == [
        ("StepPlanned", "a", {"parallelMode": "race"}),
        ("Sleep", "s", {"duration": "60000ms", "parallelMode": "race"}),
    ]


async def test_a_single_step_in_a_group_is_planned_not_run(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> tuple[Any, ...]:
        return await ctx.group.parallel((lambda: ctx.step.run("a", lambda: 1),))

    fn = make(client, body)
    [op] = ops(await call(handler(client, [fn]), fn))
    assert (op["op"], op["opts"]) == ("StepPlanned", None)


async def test_disable_immediate_execution_plans_a_new_step(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> int:
        return await ctx.step.run("a", lambda: 1)

    fn = make(client, body)
    [op] = ops(await call(handler(client, [fn]), fn, disable_immediate_execution=True))
    assert op["op"] == "StepPlanned"


async def test_a_targeted_call_replays_memos_and_skips_other_new_steps(client: stepstone.Stepstone) -> None:
    runs: list[str] = []

    async def body(ctx: stepstone.Context) -> Any:
        await ctx.step.run("first", lambda: runs.append("first"))
        return await asyncio.gather(*(ctx.step.run(name, runs.append, name) for name in ("x", "y", "z")))

    fn = make(client, body)
    response = await call(handler(client, [fn]), fn, step_id=hashed("y"), steps={hashed("first"): {"data": None}})
    assert [(op["op"], op["displayName"]) for op in ops(response)] == [("StepRun", "y")]
    assert runs == ["y"]


async def test_a_targeted_call_that_never_reaches_its_target_is_a_retriable_error(
    client: stepstone.Stepstone,
) -> None:
    async def body(ctx: stepstone.Context) -> int:
        return await ctx.step.run("a", lambda: 1)

    fn = make(client, body)
    h = handler(client, [fn], target_wait=timedelta(0))
    response = await call(h, fn, step_id=hashed("elsewhere"))
    assert response.status == 500
    assert headers.NO_RETRY not in response.headers
    assert data(response)["code"] == "step_unexpected"


async def test_mixed_new_steps_report_runs_as_planned_and_others_as_themselves(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> None:
        await asyncio.gather(ctx.step.run("a", lambda: 1), ctx.step.wait_for_event("w", event="e", timeout=1000))

    fn = make(client, body)
    planned = ops(await call(handler(client, [fn]), fn))
    assert [(op["op"], op["displayName"]) for op in planned] == [("StepPlanned", "a"), ("WaitForEvent", "w")]
    assert planned[1]["opts"]["timeout"] == "1s"
