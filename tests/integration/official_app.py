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

    app = fastapi.FastAPI()
    inngest.fast_api.serve(app, client, [three_steps, sleeper, waiter, flaky, parallel, child, parent])
    return app, client
