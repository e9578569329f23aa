"""The app the browser tests drive through the dashboard: steps with outputs, a failing step, a run that
waits (to cancel), a function to pause, and one to invoke."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import fastapi

import stepstone
import stepstone.fastapi


def build(engine_url: str) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    client = stepstone.Stepstone(app_id="dash", is_dev=True, base_url=engine_url, environ={})

    @client.create_function(fn_id="steps", trigger=stepstone.TriggerEvent(event="dash/steps"))
    async def steps(ctx: stepstone.Context) -> Any:
        async def fetch() -> dict[str, Any]:
            return {"account": ctx.event.data.get("account"), "items": [1, 2, 3]}

        async def double(n: int) -> int:
            return n * 2

        fetched = await ctx.step.run("fetch", fetch)
        doubled = await asyncio.gather(*(ctx.step.run(f"double-{n}", double, n) for n in fetched["items"]))
        total = await ctx.step.run("total", lambda: sum(doubled))
        return {"total": total, "account": fetched["account"]}

    @client.create_function(fn_id="flaky", trigger=stepstone.TriggerEvent(event="dash/flaky"), retries=1)
    async def flaky(ctx: stepstone.Context) -> Any:
        async def boom() -> None:
            raise ValueError(f"kaboom {ctx.event.data.get('n')}")

        await ctx.step.run("boom", boom)

    @client.create_function(fn_id="waiter", trigger=stepstone.TriggerEvent(event="dash/wait"))
    async def waiter(ctx: stepstone.Context) -> Any:
        await ctx.step.run("before", lambda: "ready")
        got = await ctx.step.wait_for_event("approval", event="dash/approved", timeout=timedelta(hours=1))
        return None if got is None else got.data

    @client.create_function(fn_id="pausable", trigger=stepstone.TriggerEvent(event="dash/pausable"))
    async def pausable(ctx: stepstone.Context) -> Any:
        return await ctx.step.run("echo", lambda: ctx.event.data)

    @client.create_function(fn_id="greet", trigger=stepstone.TriggerEvent(event="dash/greet"))
    async def greet(ctx: stepstone.Context) -> Any:
        return await ctx.step.run("hello", lambda: f"hello {ctx.event.data.get('name', 'you')}")

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [steps, flaky, waiter, pausable, greet])
    return app, client


def build_extra(engine_url: str) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    """A second app, with one function: the one the tests remove and add again."""
    client = stepstone.Stepstone(app_id="extra", is_dev=True, base_url=engine_url, environ={})

    @client.create_function(fn_id="ping", trigger=stepstone.TriggerEvent(event="extra/ping"))
    async def ping(ctx: stepstone.Context) -> Any:
        return "pong"

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [ping])
    return app, client
