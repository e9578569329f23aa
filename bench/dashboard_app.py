"""The dashboard benchmark's app: two apps of a shop (`shop`, `mailer`) whose functions give the store its shape.

The benchmark syncs it once into a fresh store, so the `apps` and `functions` rows are the engine's own
(real configs, flow control and all), then writes the history straight into the tables
(`bench.dashboard_fill`); the app is not running while the pages are measured. `FUNCTIONS` says, per
function, how the history is spread: its share of the runs, its steps, its outcomes.
Run: `python -m uvicorn bench.dashboard_app:build_app --factory --port <port>` with `STEPSTONE_DEV` set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import fastapi

import stepstone
import stepstone.fastapi


@dataclass(frozen=True)
class Shape:
    """How one function's runs look in the history: `share` of all runs, `steps` per run (mean), the
    event that triggers it, the shares of Failed and Cancelled runs, and what its live runs wait on."""

    app: str
    event: str | None
    share: float
    steps: int
    failed: float = 0.04
    cancelled: float = 0.02
    waits: str | None = None  # "sleep" or "wait": recent runs of it are Running, asleep or waiting for an event
    queued: bool = False  # recent runs of it are Queued behind its throttle


FUNCTIONS: dict[str, Shape] = {
    "process-order": Shape("shop", "shop/order.placed", 0.30, 8, waits="wait"),
    "send-receipt": Shape("shop", "shop/order.paid", 0.20, 3),
    "sync-inventory": Shape("shop", "shop/inventory.changed", 0.12, 12, queued=True),
    "charge-subscription": Shape("shop", "billing/renewal.due", 0.10, 6, failed=0.08),
    "fraud-check": Shape("shop", "shop/order.placed", 0.10, 5, failed=0.02),
    "import-catalog": Shape("shop", "shop/catalog.uploaded", 0.04, 40, failed=0.10),
    "nightly-report": Shape("shop", None, 0.0003, 4),
    "send-email": Shape("mailer", "mail/send", 0.11, 2, failed=0.03),
    "weekly-digest": Shape("mailer", "mail/digest.requested", 0.0297, 14, waits="sleep"),
}
BIG_RUN_FUNCTION = "import-catalog"  # the 1,000-step run is one of its runs


def build_app() -> fastapi.FastAPI:
    engine_url = os.environ["STEPSTONE_DEV"]
    shop = stepstone.Stepstone(app_id="shop", base_url=engine_url, is_dev=True)
    mailer = stepstone.Stepstone(app_id="mailer", base_url=engine_url, is_dev=True)
    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, shop, shop_functions(shop), serve_path="/api/shop")
    stepstone.fastapi.serve(app, mailer, mailer_functions(mailer), serve_path="/api/mailer")
    return app


async def steps(ctx: stepstone.Context, count: int) -> int:
    total = 0
    for index in range(count):

        async def body(value: int = index) -> int:
            return value

        total += await ctx.step.run(f"step-{index}", body)
    return total


def shop_functions(client: stepstone.Stepstone) -> list[stepstone.Function]:
    @client.create_function(
        fn_id="process-order",
        name="Process an order",
        trigger=stepstone.TriggerEvent(event="shop/order.placed"),
        retries=3,
        concurrency=[stepstone.Concurrency(limit=5, key="event.data.account_id")],
        cancel=[stepstone.Cancel(event="shop/order.cancelled", if_exp="async.data.order_id == event.data.order_id")],
    )
    async def process_order(ctx: stepstone.Context) -> int:
        await ctx.step.sleep("cooling-off", timedelta(minutes=10))
        await ctx.step.wait_for_event(
            "wait-for-shipping",
            event="shop/order.shipped",
            if_exp="async.data.order_id == event.data.order_id",
            timeout=timedelta(days=1),
        )
        return await steps(ctx, 6)

    @client.create_function(fn_id="send-receipt", trigger=stepstone.TriggerEvent(event="shop/order.paid"))
    async def send_receipt(ctx: stepstone.Context) -> int:
        return await steps(ctx, 3)

    @client.create_function(
        fn_id="sync-inventory",
        trigger=stepstone.TriggerEvent(event="shop/inventory.changed"),
        throttle=stepstone.Throttle(limit=10, period=timedelta(minutes=1), key="event.data.warehouse"),
    )
    async def sync_inventory(ctx: stepstone.Context) -> int:
        return await steps(ctx, 12)

    @client.create_function(
        fn_id="charge-subscription",
        trigger=stepstone.TriggerEvent(event="billing/renewal.due"),
        idempotency="event.data.subscription_id",
        rate_limit=stepstone.RateLimit(limit=100, period=timedelta(minutes=1)),
        retries=5,
    )
    async def charge_subscription(ctx: stepstone.Context) -> int:
        return await steps(ctx, 6)

    @client.create_function(
        fn_id="fraud-check",
        trigger=stepstone.TriggerEvent(event="shop/order.placed", expression="event.data.amount > 100"),
        debounce=stepstone.Debounce(period=timedelta(seconds=5), key="event.data.account_id"),
    )
    async def fraud_check(ctx: stepstone.Context) -> int:
        return await steps(ctx, 5)

    @client.create_function(
        fn_id="import-catalog",
        trigger=stepstone.TriggerEvent(event="shop/catalog.uploaded"),
        singleton=stepstone.Singleton(mode="skip", key="event.data.account_id"),
    )
    async def import_catalog(ctx: stepstone.Context) -> int:
        return await steps(ctx, int(ctx.event.data.get("rows", 40)))

    @client.create_function(fn_id="nightly-report", trigger=stepstone.TriggerCron(cron="TZ=UTC 0 2 * * *"))
    async def nightly_report(ctx: stepstone.Context) -> int:
        return await steps(ctx, 4)

    return [
        process_order,
        send_receipt,
        sync_inventory,
        charge_subscription,
        fraud_check,
        import_catalog,
        nightly_report,
    ]


def mailer_functions(client: stepstone.Stepstone) -> list[stepstone.Function]:
    @client.create_function(
        fn_id="send-email",
        trigger=stepstone.TriggerEvent(event="mail/send"),
        priority=stepstone.Priority(run="event.data.urgent ? 60 : 0"),
    )
    async def send_email(ctx: stepstone.Context) -> int:
        return await steps(ctx, 2)

    @client.create_function(
        fn_id="weekly-digest",
        trigger=stepstone.TriggerEvent(event="mail/digest.requested"),
        concurrency=[stepstone.Concurrency(limit=2)],
    )
    async def weekly_digest(ctx: stepstone.Context) -> int:
        await ctx.step.sleep("until-monday", timedelta(days=1))
        return await steps(ctx, 13)

    return [send_email, weekly_digest]
