"""Functions written with Stepstone's own SDK, for the engine's end-to-end tests."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import fastapi
import pydantic

import stepstone
import stepstone.fastapi


class Receipt(pydantic.BaseModel):
    order: str
    total: float


def build(engine_url: str, counts: dict[str, int]) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    client = stepstone.Stepstone(app_id="shop", is_dev=True, base_url=engine_url, environ={})

    def count(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    @client.create_function(fn_id="checkout", trigger=stepstone.TriggerEvent(event="shop/checkout"))
    async def checkout(ctx: stepstone.Context) -> Any:
        async def price() -> float:
            count("price")
            return 9.5

        def charge(total: float) -> str:  # a plain callback: runs off the event loop
            count("charge")
            return f"charged {total}"

        async def receipt(total: float) -> Receipt:
            count("receipt")
            return Receipt(order=ctx.event.data["order"], total=total)

        total = await ctx.step.run("price", price)
        charged = await ctx.step.run("charge", charge, total)
        made = await ctx.step.run("receipt", receipt, total)
        assert isinstance(made, Receipt)
        return {"charged": charged, "receipt": made.model_dump(), "run_id": ctx.run_id}

    @client.create_function(fn_id="gather", trigger=stepstone.TriggerEvent(event="shop/gather"))
    async def gather(ctx: stepstone.Context) -> Any:
        async def work(n: int) -> int:
            count(f"g{n}")
            return n * n

        squares = await asyncio.gather(*(ctx.step.run(f"g{n}", work, n) for n in range(4)))
        grouped = await ctx.group.parallel(tuple((lambda n=n: ctx.step.run(f"p{n}", work, n + 10)) for n in range(2)))
        return [*squares, *grouped]

    @client.create_function(fn_id="naps", trigger=stepstone.TriggerEvent(event="shop/naps"))
    async def naps(ctx: stepstone.Context) -> str:
        await ctx.step.sleep("short", "30m")
        await ctx.step.sleep_until("until", datetime.fromisoformat(ctx.event.data["until"]))
        return "awake"

    @client.create_function(fn_id="long-nap", trigger=stepstone.TriggerEvent(event="shop/long-nap"))
    async def long_nap(ctx: stepstone.Context) -> str:
        await ctx.step.sleep("day", "1d")  # sent as "86400000ms": ten characters starting with four digits
        return "rested"

    @client.create_function(fn_id="approval", trigger=stepstone.TriggerEvent(event="shop/approval"))
    async def approval(ctx: stepstone.Context) -> Any:
        got = await ctx.step.wait_for_event(
            "approved", event="shop/approved", timeout=timedelta(hours=1), if_exp="async.data.order == event.data.order"
        )
        return None if got is None else got.data

    @client.create_function(fn_id="tax", trigger=stepstone.TriggerEvent(event="shop/tax"))
    def tax(ctx: stepstone.ContextSync) -> Any:  # a plain def function
        rate = ctx.step.run("rate", lambda: 0.2)
        return {"tax": ctx.event.data["amount"] * rate}

    @client.create_function(fn_id="invoicing", trigger=stepstone.TriggerEvent(event="shop/invoicing"))
    async def invoicing(ctx: stepstone.Context) -> Any:
        return await ctx.step.invoke("tax", function=tax, data={"amount": 50})

    @client.create_function(fn_id="announce", trigger=stepstone.TriggerEvent(event="shop/announce"))
    async def announce(ctx: stepstone.Context) -> Any:
        ids = await ctx.step.send_event("fan-out", [stepstone.Event(name="shop/tax", data={"amount": 10})])
        return {"sent": len(ids)}

    attempts: dict[str, int] = {}

    @client.create_function(fn_id="flaky", trigger=stepstone.TriggerEvent(event="shop/flaky"), retries=3)
    async def flaky(ctx: stepstone.Context) -> Any:
        async def call_partner() -> str:
            attempts["partner"] = attempts.get("partner", 0) + 1
            if attempts["partner"] == 1:
                raise stepstone.RetryAfterError("partner busy", retry_after=timedelta(minutes=7))
            if attempts["partner"] == 2:
                raise ConnectionError("partner down")
            return "ok"

        return await ctx.step.run("partner", call_partner)

    @client.create_function(fn_id="fragile", trigger=stepstone.TriggerEvent(event="shop/fragile"), retries=0)
    async def fragile(ctx: stepstone.Context) -> Any:
        async def explode() -> None:
            raise ValueError("kaboom")

        try:
            await ctx.step.run("explode", explode)
        except stepstone.StepError as err:
            return {"caught": err.name, "message": err.message}
        return "unreachable"

    async def notify_failure(ctx: stepstone.Context) -> Any:
        return {"notified": ctx.event.data["function_id"]}

    @client.create_function(
        fn_id="refund", trigger=stepstone.TriggerEvent(event="shop/refund"), retries=0, on_failure=notify_failure
    )
    async def refund(ctx: stepstone.Context) -> None:
        raise stepstone.NonRetriableError("refunds are closed")

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(
        app, client, [checkout, gather, naps, long_nap, approval, tax, invoicing, announce, flaky, fragile, refund]
    )
    return app, client
