"""A FastAPI app of functions written with the official Inngest Python SDK (`inngest` 0.5.19)."""

from __future__ import annotations

import datetime
from typing import Any

import fastapi
import inngest
import inngest.fast_api


def build(engine_url: str, counts: dict[str, int]) -> tuple[fastapi.FastAPI, inngest.Inngest]:
    client = inngest.Inngest(
        app_id="official",
        is_production=False,
        api_base_url=engine_url,
        event_api_base_url=engine_url,
    )

    def count(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    @client.create_function(fn_id="three-steps", trigger=inngest.TriggerEvent(event="test/three"))
    async def three_steps(ctx: inngest.Context) -> Any:
        async def first() -> int:
            count("first")
            return 1

        async def second(value: int) -> int:
            count("second")
            return value + 1

        a = await ctx.step.run("first", first)
        b = await ctx.step.run("second", second, a)
        c = await ctx.step.run("first", first)  # a repeated id
        return {"sum": a + b + c, "name": ctx.event.data.get("name")}

    @client.create_function(fn_id="sleeper", trigger=inngest.TriggerEvent(event="test/sleep"))
    async def sleeper(ctx: inngest.Context) -> str:
        await ctx.step.sleep("nap", datetime.timedelta(hours=1))
        return "rested"

    @client.create_function(fn_id="waiter", trigger=inngest.TriggerEvent(event="test/wait"))
    async def waiter(ctx: inngest.Context) -> Any:
        got = await ctx.step.wait_for_event(
            "approval",
            event="test/approve",
            if_exp="async.data.id == event.data.id",
            timeout=datetime.timedelta(hours=2),
        )
        return got.data if got else None

    @client.create_function(fn_id="flaky", trigger=inngest.TriggerEvent(event="test/flaky"), retries=2)
    async def flaky(ctx: inngest.Context) -> str:
        async def maybe() -> str:
            count("flaky")
            if counts["flaky"] < 3:
                raise ValueError(f"failure {counts['flaky']}")
            return "ok"

        return await ctx.step.run("maybe", maybe)

    @client.create_function(fn_id="parallel", trigger=inngest.TriggerEvent(event="test/parallel"))
    async def parallel(ctx: inngest.Context) -> Any:
        async def make(value: int) -> int:
            count(f"p{value}")
            return value * 10

        results = await ctx.group.parallel(tuple((lambda v=v: ctx.step.run(f"p{v}", make, v)) for v in range(3)))
        return list(results)

    @client.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="test/child"))
    async def child(ctx: inngest.Context) -> Any:
        return {"doubled": ctx.event.data["n"] * 2}

    @client.create_function(fn_id="parent", trigger=inngest.TriggerEvent(event="test/parent"))
    async def parent(ctx: inngest.Context) -> Any:
        return await ctx.step.invoke("call-child", function=child, data={"n": 21})

    async def report_failure(ctx: inngest.Context) -> Any:
        counts["on_failure"] = counts.get("on_failure", 0) + 1
        return {"failed_run": ctx.event.data["run_id"], "error": ctx.event.data["error"]["message"]}

    @client.create_function(
        fn_id="doomed", trigger=inngest.TriggerEvent(event="test/doomed"), retries=0, on_failure=report_failure
    )
    async def doomed(ctx: inngest.Context) -> Any:
        raise inngest.NonRetriableError("no way")

    @client.create_function(
        fn_id="cancellable",
        trigger=inngest.TriggerEvent(event="test/cancellable"),
        cancel=[inngest.Cancel(event="test/cancel", if_exp="async.data.id == event.data.id")],
    )
    async def cancellable(ctx: inngest.Context) -> str:
        await ctx.step.sleep("long", datetime.timedelta(days=1))
        return "not cancelled"

    @client.create_function(
        fn_id="bounded",
        trigger=inngest.TriggerEvent(event="test/bounded"),
        timeouts=inngest.Timeouts(finish=datetime.timedelta(minutes=10)),
    )
    async def bounded(ctx: inngest.Context) -> str:
        await ctx.step.sleep("longer-than-allowed", datetime.timedelta(hours=1))
        return "finished"

    @client.create_function(fn_id="ticker", trigger=inngest.TriggerCron(cron="*/5 * * * *"))
    async def ticker(ctx: inngest.Context) -> Any:
        counts["ticker"] = counts.get("ticker", 0) + 1
        return ctx.event.name

    @client.create_function(fn_id="failing-child", trigger=inngest.TriggerEvent(event="test/failing-child"), retries=0)
    async def failing_child(ctx: inngest.Context) -> Any:
        raise ValueError("child broke")

    @client.create_function(fn_id="slow-child", trigger=inngest.TriggerEvent(event="test/slow-child"))
    async def slow_child(ctx: inngest.Context) -> Any:
        await ctx.step.sleep("slowly", datetime.timedelta(hours=5))
        return "late"

    @client.create_function(fn_id="invoke-errors", trigger=inngest.TriggerEvent(event="test/invoke-errors"))
    async def invoke_errors(ctx: inngest.Context) -> Any:
        outcomes = []
        for step_id, target, timeout in (
            ("failing", failing_child, None),
            ("slow", slow_child, datetime.timedelta(minutes=30)),
        ):
            try:
                await ctx.step.invoke(step_id, function=target, timeout=timeout)
            except inngest.StepError as err:
                outcomes.append({"name": err.name, "message": err.message})
        return outcomes

    functions = [three_steps, sleeper, waiter, flaky, parallel, child, parent, doomed, cancellable, bounded, ticker]
    functions += [failing_child, slow_child, invoke_errors]
    app = fastapi.FastAPI()
    inngest.fast_api.serve(app, client, functions)
    return app, client
