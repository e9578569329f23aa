"""The benchmark app: three functions of 3, 10 and 100 steps, each step returning a small int.

`BENCH_SDK=stepstone` (default) serves them with Stepstone's SDK, `BENCH_SDK=inngest` with the official
Inngest SDK; both read the engine's address from `STEPSTONE_DEV` (`http://127.0.0.1:<port>`).
Run: `python -m uvicorn bench.app:app --port <port>`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import fastapi

if TYPE_CHECKING:  # each SDK is imported only when its app is built
    import inngest

    import stepstone

FUNCTIONS = {"three-steps": ("bench/three", 3), "ten-steps": ("bench/ten", 10), "hundred-steps": ("bench/hundred", 100)}
APP_ID = "bench"

StepRun = Callable[[str, Callable[[], Awaitable[int]]], Awaitable[int]]


async def run_steps(step_run: StepRun, count: int) -> int:
    """Run `count` steps one after another; step i returns i."""
    total = 0
    for index in range(count):

        async def body(value: int = index) -> int:
            return value

        total += await step_run(f"s{index}", body)
    return total


def stepstone_app(engine_url: str) -> fastapi.FastAPI:
    import stepstone
    import stepstone.fastapi

    client = stepstone.Stepstone(app_id=APP_ID, base_url=engine_url, is_dev=True)
    functions = [stepstone_function(client, fn_id, event, count) for fn_id, (event, count) in FUNCTIONS.items()]
    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, functions)
    return app


def stepstone_function(client: stepstone.Stepstone, fn_id: str, event: str, count: int) -> stepstone.Function:
    import stepstone

    @client.create_function(fn_id=fn_id, trigger=stepstone.TriggerEvent(event=event))
    async def handler(ctx: stepstone.Context) -> int:
        return await run_steps(ctx.step.run, count)

    return handler


def inngest_app(engine_url: str) -> fastapi.FastAPI:
    import inngest
    import inngest.fast_api

    client = inngest.Inngest(app_id=APP_ID, is_production=False, api_base_url=engine_url, event_api_base_url=engine_url)
    functions = [inngest_function(client, fn_id, event, count) for fn_id, (event, count) in FUNCTIONS.items()]
    app = fastapi.FastAPI()
    inngest.fast_api.serve(app, client, functions)
    return app


def inngest_function(client: inngest.Inngest, fn_id: str, event: str, count: int) -> inngest.Function[int]:
    import inngest

    @client.create_function(fn_id=fn_id, trigger=inngest.TriggerEvent(event=event))
    async def handler(ctx: inngest.Context) -> int:
        return await run_steps(ctx.step.run, count)

    return handler


def build(environ: dict[str, str]) -> fastapi.FastAPI:
    engine_url = environ.get("STEPSTONE_DEV", "http://127.0.0.1:8288")
    sdk = environ.get("BENCH_SDK", "stepstone")
    if sdk == "inngest":
        return inngest_app(engine_url)
    if sdk == "stepstone":
        return stepstone_app(engine_url)
    raise SystemExit(f"BENCH_SDK must be 'stepstone' or 'inngest', not {sdk!r}")


app = build(dict(os.environ))
