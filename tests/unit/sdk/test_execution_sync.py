"""Plain (non-async) functions: the same decisions as async ones, through `StepSync` and `GroupSync`."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

import stepstone
from stepstone.protocol import headers

from .helpers import body, call, call_sync, data, handler, hashed, ops, request

EVENT = stepstone.TriggerEvent(event="app/go")


def make(client: stepstone.Stepstone, body: Any, **kwargs: Any) -> stepstone.Function:
    return client.create_function(fn_id="fn", trigger=EVENT, **kwargs)(body)


def test_a_plain_function_runs_replays_and_completes(client: stepstone.Stepstone) -> None:
    runs: list[str] = []

    def body(ctx: stepstone.ContextSync) -> int:
        assert isinstance(ctx, stepstone.ContextSync)
        a = ctx.step.run("a", lambda: runs.append("a") or 1)
        ctx.step.sleep("s", timedelta(seconds=5))
        return a + 1

    fn = make(client, body)
    h = handler(client, [fn])
    [op] = ops(call_sync(h, fn))
    assert (op["op"], op["data"]) == ("StepRun", 1)
    [sleep] = ops(call_sync(h, fn, steps={hashed("a"): {"data": 1}}))
    assert sleep["op"] == "Sleep"
    assert data(call_sync(h, fn, steps={hashed("a"): {"data": 1}, hashed("s"): None})) == 2
    assert runs == ["a"]


def test_group_parallel_plans_each_callable_in_turn(client: stepstone.Stepstone) -> None:
    def body(ctx: stepstone.ContextSync) -> tuple[Any, ...]:
        return ctx.group.parallel(
            (lambda: ctx.step.run("a", lambda: 1), lambda: ctx.step.run("b", lambda: 2)),
            parallel_mode=stepstone.ParallelMode.RACE,
        )

    fn = make(client, body)
    h = handler(client, [fn])
    planned = ops(call_sync(h, fn))
    assert [(op["op"], op["displayName"], op["opts"]) for op in planned] == [
        ("StepPlanned", "a", {"parallelMode": "race"}),
        ("StepPlanned", "b", {"parallelMode": "race"}),
    ]
    [ran] = ops(call_sync(h, fn, step_id=hashed("b")))
    assert (ran["op"], ran["displayName"], ran["data"]) == ("StepRun", "b", 2)
    assert data(call_sync(h, fn, steps={hashed("a"): {"data": 1}, hashed("b"): {"data": 2}})) == [1, 2]


def test_a_raising_step_and_a_memoized_error(client: stepstone.Stepstone) -> None:
    def boom() -> None:
        raise RuntimeError("nope")

    def body(ctx: stepstone.ContextSync) -> str:
        try:
            ctx.step.run("a", boom)
        except stepstone.StepError as err:
            return f"caught {err.name}"
        return "fine"

    fn = make(client, body)
    h = handler(client, [fn])
    [op] = ops(call_sync(h, fn, attempt=0, max_attempts=2))
    assert (op["op"], op["error"]["name"]) == ("StepError", "RuntimeError")
    [last] = ops(call_sync(h, fn, attempt=1, max_attempts=2))
    assert last["op"] == "StepFailed"
    assert data(call_sync(h, fn, steps={hashed("a"): {"error": last["error"]}})) == "caught RuntimeError"


def test_non_retriable_error_and_unreached_target(client: stepstone.Stepstone) -> None:
    def body(ctx: stepstone.ContextSync) -> None:
        ctx.step.run("a", lambda: 1)
        raise stepstone.NonRetriableError("stop")

    fn = make(client, body)
    h = handler(client, [fn])
    failed = call_sync(h, fn, steps={hashed("a"): {"data": 1}})
    assert (failed.status, failed.headers[headers.NO_RETRY]) == (500, "true")
    unreached = call_sync(h, fn, step_id=hashed("zzz"))
    assert unreached.status == 500
    assert data(unreached)["code"] == "step_unexpected"


def test_an_async_callback_in_a_plain_function_is_a_step_error(client: stepstone.Stepstone) -> None:
    async def later() -> int:
        return 1

    def body(ctx: stepstone.ContextSync) -> int:
        return ctx.step.run("a", later)  # type: ignore[arg-type]

    fn = make(client, body)
    [op] = ops(call_sync(handler(client, [fn]), fn))
    assert (op["op"], op["error"]["name"]) == ("StepError", "TypeError")


async def test_a_plain_function_under_an_async_server_runs_in_a_thread(client: stepstone.Stepstone) -> None:
    loop_thread = threading.get_ident()

    def body(ctx: stepstone.ContextSync) -> bool:
        return threading.get_ident() != loop_thread

    fn = make(client, body)
    assert data(await call(handler(client, [fn]), fn)) is True


def test_an_async_function_under_a_sync_server_runs_on_its_own_loop(client: stepstone.Stepstone) -> None:
    async def body(ctx: stepstone.Context) -> int:
        return await ctx.step.run("a", lambda: 5)

    fn = make(client, body)
    [op] = ops(call_sync(handler(client, [fn]), fn))
    assert op["data"] == 5


def test_on_failure_handler_gets_the_failure_event(client: stepstone.Stepstone) -> None:
    seen: list[Any] = []

    def on_failure(ctx: stepstone.ContextSync) -> str:
        seen.append((ctx.event.name, ctx.event.data["function_id"]))
        return "handled"

    fn = make(client, lambda ctx: None, on_failure=on_failure)
    failed_event = {"name": "inngest/function.failed", "data": {"function_id": fn.id, "run_id": "r0"}}
    response = handler(client, [fn]).handle_sync(request(f"{fn.id}-failure", body(event=failed_event)))
    assert data(response) == "handled"
    assert seen == [("inngest/function.failed", "app-fn")]


@pytest.mark.parametrize("fn_id", ["app-fn", "fn"])
def test_functions_are_found_by_full_or_local_id(client: stepstone.Stepstone, fn_id: str) -> None:
    fn = make(client, lambda ctx: "ok")
    assert data(handler(client, [fn]).handle_sync(request(fn_id, body()))) == "ok"
