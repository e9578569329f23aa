"""An app whose functions use every kind of flow control, and a probe of what their steps saw."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import fastapi

import stepstone
import stepstone.fastapi


class Probe:
    """Step bodies in flight per key, the most ever at once, the order they began in, and gates that hold them."""

    def __init__(self) -> None:
        self.in_flight: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.began: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def gate(self, name: str) -> asyncio.Event:
        """Hold step bodies labelled `name` until the returned event is set."""
        return self.gates.setdefault(name, asyncio.Event())

    async def body(self, key: str, label: str, *, hold: float = 0.01) -> str:
        self.in_flight[key] += 1
        self.most[key] = max(self.most[key], self.in_flight[key])
        self.began.append(label)
        try:
            if label in self.gates:
                await self.gates[label].wait()
            else:
                await asyncio.sleep(hold)  # long enough for overlapping bodies to overlap
        finally:
            self.in_flight[key] -= 1
        return label


def build(engine_url: str, probe: Probe, *, napper_limit: int = 1) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    client = stepstone.Stepstone(app_id="flow", is_dev=True, base_url=engine_url, environ={})

    def label(ctx: stepstone.Context) -> str:
        return str(ctx.event.data.get("label", ctx.event.id))

    @client.create_function(
        fn_id="tenants",
        trigger=stepstone.TriggerEvent(event="flow/tenant"),
        concurrency=[stepstone.Concurrency(limit=2, key="event.data.tenant")],
    )
    async def tenants(ctx: stepstone.Context) -> str:
        tenant = str(ctx.event.data["tenant"])
        await ctx.step.run("a", probe.body, tenant, label(ctx))
        return await ctx.step.run("b", probe.body, tenant, f"{label(ctx)}/b")

    @client.create_function(
        fn_id="napper",
        trigger=stepstone.TriggerEvent(event="flow/nap"),
        concurrency=[stepstone.Concurrency(limit=napper_limit)],
    )
    async def napper(ctx: stepstone.Context) -> str:
        await ctx.step.run("before", probe.body, "napper", f"{label(ctx)}/before")
        await ctx.step.sleep("nap", "1h")
        return await ctx.step.run("after", probe.body, "napper", f"{label(ctx)}/after")

    shared = [stepstone.Concurrency(limit=1, key='"mailer"', scope="env")]

    @client.create_function(fn_id="shared-a", trigger=stepstone.TriggerEvent(event="flow/shared-a"), concurrency=shared)
    async def shared_a(ctx: stepstone.Context) -> str:
        return await ctx.step.run("send", probe.body, "mailer", label(ctx))

    @client.create_function(fn_id="shared-b", trigger=stepstone.TriggerEvent(event="flow/shared-b"), concurrency=shared)
    async def shared_b(ctx: stepstone.Context) -> str:
        return await ctx.step.run("send", probe.body, "mailer", label(ctx))

    @client.create_function(
        fn_id="throttled",
        trigger=stepstone.TriggerEvent(event="flow/throttle"),
        throttle=stepstone.Throttle(limit=1, period="1m", burst=0, key="event.data.user"),
    )
    async def throttled(ctx: stepstone.Context) -> str:
        return await ctx.step.run("call", probe.body, "throttled", label(ctx))

    @client.create_function(
        fn_id="rate-limited",
        trigger=stepstone.TriggerEvent(event="flow/rate"),
        rate_limit=stepstone.RateLimit(limit=1, period="1h", key="event.data.user"),
    )
    async def rate_limited(ctx: stepstone.Context) -> str:
        return label(ctx)

    @client.create_function(
        fn_id="debounced",
        trigger=stepstone.TriggerEvent(event="flow/debounce"),
        debounce=stepstone.Debounce(period="5m", key="event.data.user", timeout="12m"),
    )
    async def debounced(ctx: stepstone.Context) -> Any:
        return {"label": label(ctx), "events": len(ctx.events)}

    @client.create_function(
        fn_id="batched",
        trigger=stepstone.TriggerEvent(event="flow/batch"),
        batch_events=stepstone.Batch(max_size=3, timeout="30s", key="event.data.user", if_exp="event.data.bulk"),
    )
    async def batched(ctx: stepstone.Context) -> list[str]:
        return [str(event.data["label"]) for event in ctx.events]

    @client.create_function(
        fn_id="prioritized",
        trigger=stepstone.TriggerEvent(event="flow/priority"),
        concurrency=[stepstone.Concurrency(limit=1)],
        priority=stepstone.Priority(run="event.data.p"),
    )
    async def prioritized(ctx: stepstone.Context) -> str:
        return await ctx.step.run("work", probe.body, "prioritized", label(ctx))

    @client.create_function(
        fn_id="idempotent",
        trigger=stepstone.TriggerEvent(event="flow/order"),
        idempotency="event.data.order",
        rate_limit=stepstone.RateLimit(limit=100, period="1m"),  # replaced by `idempotency`, as in Inngest
    )
    async def idempotent(ctx: stepstone.Context) -> str:
        return label(ctx)

    def singleton(mode: str) -> Any:
        @client.create_function(
            fn_id=f"single-{mode}",
            trigger=stepstone.TriggerEvent(event=f"flow/single-{mode}"),
            singleton=stepstone.Singleton(mode=mode, key="event.data.user"),  # type: ignore[arg-type]
        )
        async def single(ctx: stepstone.Context) -> Any:
            got = await ctx.step.wait_for_event(
                "go", event="flow/go", timeout="1h", if_exp="async.data.user == event.data.user"
            )
            return None if got is None else label(ctx)

        return single

    @client.create_function(
        fn_id="batched-limited",
        trigger=stepstone.TriggerEvent(event="flow/batch-limited"),
        batch_events=stepstone.Batch(max_size=2, timeout="10s"),
        rate_limit=stepstone.RateLimit(limit=1, period="1h"),
    )
    async def batched_limited(ctx: stepstone.Context) -> int:
        return len(ctx.events)

    @client.create_function(
        fn_id="ticker",
        trigger=stepstone.TriggerCron(cron="* * * * *"),
        rate_limit=stepstone.RateLimit(limit=1, period="1h"),
    )
    async def ticker(ctx: stepstone.Context) -> str:
        return str(ctx.event.data["scheduledAt"])

    skipper = singleton("skip")

    @client.create_function(fn_id="invoker", trigger=stepstone.TriggerEvent(event="flow/invoke"))
    async def invoker(ctx: stepstone.Context) -> str:
        try:
            await ctx.step.invoke("call", function=skipper, data={"user": ctx.event.data["user"]}, timeout="1h")
        except stepstone.StepError as err:
            return f"failed: {err}"
        return "invoked"

    @client.create_function(
        fn_id="late-starter",
        trigger=stepstone.TriggerEvent(event="flow/start-timeout"),
        concurrency=[stepstone.Concurrency(limit=1)],
        timeouts=stepstone.Timeouts(start="1m"),
    )
    async def late_starter(ctx: stepstone.Context) -> str:
        return await ctx.step.run("work", probe.body, "late-starter", label(ctx))

    @client.create_function(
        fn_id="slow-finisher",
        trigger=stepstone.TriggerEvent(event="flow/finish-timeout"),
        timeouts=stepstone.Timeouts(finish="10m"),
    )
    async def slow_finisher(ctx: stepstone.Context) -> str:
        await ctx.step.sleep("long", "1h")
        return label(ctx)

    functions = [
        tenants,
        napper,
        shared_a,
        shared_b,
        throttled,
        rate_limited,
        debounced,
        batched,
        prioritized,
        idempotent,
        skipper,
        singleton("cancel"),
        batched_limited,
        ticker,
        invoker,
        late_starter,
        slow_finisher,
    ]
    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, functions)
    return app, client
