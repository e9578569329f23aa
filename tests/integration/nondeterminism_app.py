"""Functions whose path depends on a value read outside a step (`hour`, which a test changes between calls),
written with Stepstone's SDK: the engine's run-time non-determinism findings (`runs.nondeterminism`)."""

from __future__ import annotations

from typing import Any, Literal

import fastapi

import stepstone
import stepstone.fastapi


def build(
    engine_url: str, hour: dict[str, int], mode: Literal["warn", "fail"] | None = None, version: str = "v1"
) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    """The app as deployed at `version`: `deploy` calls its first step `load` at v1 and `load-all` after."""
    client = stepstone.Stepstone(app_id="drift", is_dev=True, base_url=engine_url, environ={}, app_version=version)

    async def work() -> str:
        return "done"

    @client.create_function(fn_id="order", trigger=stepstone.TriggerEvent(event="drift/order"), nondeterminism=mode)
    async def order(ctx: stepstone.Context) -> Any:
        if hour["now"] < 12:  # read outside a step: differs between calls
            await ctx.step.run("a", work)
            await ctx.step.run("b", work)
        else:
            await ctx.step.run("b", work)
            await ctx.step.run("a", work)
        await ctx.step.sleep("nap", "1h")
        return "ok"

    @client.create_function(fn_id="branch", trigger=stepstone.TriggerEvent(event="drift/branch"), nondeterminism=mode)
    async def branch(ctx: stepstone.Context) -> Any:
        if hour["now"] < 12:
            await ctx.step.run("morning-report", work)
        else:
            await ctx.step.run("afternoon-report", work)
        await ctx.step.sleep("nap", "1h")
        return "ok"

    @client.create_function(fn_id="kind", trigger=stepstone.TriggerEvent(event="drift/kind"), nondeterminism=mode)
    def kind(ctx: stepstone.ContextSync) -> Any:
        if hour["now"] < 12:
            ctx.step.sleep("pause", "1m")
        else:
            ctx.step.run("pause", lambda: "ran")
        ctx.step.sleep("nap", "1h")
        return "ok"

    @client.create_function(fn_id="steady", trigger=stepstone.TriggerEvent(event="drift/steady"), nondeterminism=mode)
    async def steady(ctx: stepstone.Context) -> Any:
        await ctx.step.run("one", work)
        await ctx.group.parallel((lambda: ctx.step.run("p1", work), lambda: ctx.step.run("p2", work)))
        await ctx.step.sleep("nap", "1h")
        await ctx.step.run("two", work)
        return "ok"

    retries = 1 if version == "v1" else 2  # the config changes too: a new function version

    @client.create_function(fn_id="deploy", trigger=stepstone.TriggerEvent(event="drift/deploy"), retries=retries)
    async def deploy(ctx: stepstone.Context) -> Any:
        await ctx.step.run("load" if version == "v1" else "load-all", work)
        await ctx.step.sleep("nap", "1h")
        return version

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [order, branch, kind, steady, deploy])
    return app, client
