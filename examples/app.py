"""The bundled example: an order pipeline served with FastAPI.

Run it with the engine in one command:

    stepstone dev --app examples.app:app

then send an event:

    curl -s localhost:8288/e/dev -d '{"name": "shop/order.placed", "data": {"order_id": "A-1", "amount": 42}}'

and watch the run at http://127.0.0.1:8288/v1/runs. The run charges the card, sleeps for ten
minutes (skip ahead: POST /dev/clock/advance {"duration": "10m"}), then waits up to a day for
`shop/order.shipped` with the same order id.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

import fastapi
import pydantic

import stepstone
import stepstone.fastapi

client = stepstone.Stepstone(app_id="example")


class Charge(pydantic.BaseModel):
    order_id: str
    amount: float
    reference: str


@client.create_function(
    fn_id="process-order",
    name="Process an order",
    trigger=stepstone.TriggerEvent(event="shop/order.placed"),
    retries=3,
    cancel=[stepstone.Cancel(event="shop/order.cancelled", if_exp="async.data.order_id == event.data.order_id")],
)
async def process_order(ctx: stepstone.Context) -> dict[str, Any]:
    order = ctx.event.data

    async def reserve_stock() -> list[str]:
        ctx.logger.info("reserving stock for %s", order["order_id"])
        return [f"sku-{n}" for n in range(2)]

    async def charge_card() -> Charge:
        return Charge(order_id=order["order_id"], amount=float(order.get("amount", 0)), reference="ch_123")

    items = await ctx.step.run("reserve-stock", reserve_stock)
    charge = await ctx.step.run("charge-card", charge_card)
    await ctx.step.send_event("announce-payment", stepstone.Event(name="shop/order.paid", data=charge.model_dump()))
    await ctx.step.sleep("cooling-off", timedelta(minutes=10))
    shipped = await ctx.step.wait_for_event(
        "wait-for-shipping",
        event="shop/order.shipped",
        if_exp="async.data.order_id == event.data.order_id",
        timeout=timedelta(days=1),
    )
    return {"items": items, "charge": charge.reference, "shipped": shipped is not None}


@client.create_function(fn_id="send-receipt", trigger=stepstone.TriggerEvent(event="shop/order.paid"))
async def send_receipt(ctx: stepstone.Context) -> str:
    return await ctx.step.run("email", lambda: f"receipt for {ctx.event.data['order_id']} sent")


@client.create_function(fn_id="nightly-report", trigger=stepstone.TriggerCron(cron="TZ=UTC 0 2 * * *"))
async def nightly_report(ctx: stepstone.Context) -> str:
    return await ctx.step.run("summarize", lambda: "all orders reconciled")


LEDGER = os.environ.get("EXAMPLE_LEDGER")


def _record(run_id: str, step: str) -> None:
    """Append one line per executed step body (the durability test counts them on disk)."""
    if LEDGER:
        with open(LEDGER, "a", encoding="utf-8") as ledger:
            ledger.write(f"{run_id} {step}\n")


@client.create_function(fn_id="steps", trigger=stepstone.TriggerEvent(event="example/steps"))
async def steps(ctx: stepstone.Context) -> int:
    """A run of `data.count` steps, each a little slow: the durability tests' workload.

    With `data.nap`, it also sleeps that long after the first step, with `data.batch` it waits
    (up to an hour) for an `example/go` event of the same batch after the second, and with
    `data.signal` for that signal (up to an hour; `stepstone signal NAME` sends it).
    """
    data = ctx.event.data
    total = 0
    for index in range(int(data.get("count", 5))):

        async def body(index: int = index) -> int:
            _record(ctx.run_id, f"s{index}")
            await asyncio.sleep(float(data.get("delay", 0)))
            return index

        total += await ctx.step.run(f"s{index}", body)
        if index == 0 and data.get("nap"):
            await ctx.step.sleep("nap", str(data["nap"]))
        if index == 1 and data.get("batch"):
            await ctx.step.wait_for_event(
                "go", event="example/go", if_exp="async.data.batch == event.data.batch", timeout="1h"
            )
        if index == 1 and data.get("signal"):
            await ctx.step.wait_for_signal("signal", signal=str(data["signal"]), timeout="1h")
    return total


app = fastapi.FastAPI(title="Stepstone example")
stepstone.fastapi.serve(app, client, [process_order, send_receipt, nightly_report, steps])
