"""The compatibility suite's app, written with the official Inngest Python SDK (`inngest` 0.5.19).

Run by the suite as `uvicorn tests.compat.py_app:app`, configured only by environment variables: the
SDK's own (`INNGEST_DEV`, `INNGEST_BASE_URL`, `INNGEST_SIGNING_KEY`, `INNGEST_EVENT_KEY`, …) and the
suite's (`COMPAT_APP_ID`, `COMPAT_LOG`: a file each step body appends a `<token> <label>` line to,
`COMPAT_FUNCTIONS`: the function ids to serve (default all), `COMPAT_LOSSY_URL`: an event API that
loses its first answer). `tests/compat/ts/app.mjs` implements the same functions with the TypeScript
SDK; the suite sends the same events to both.

`POST /send {"events": [...], "lossy": bool}` sends events with the SDK's own `client.send`.

The client's middleware notes `<order_token> after_send_events` when a `send` of an event carrying
`data.order_token` has returned, and `<order_token> transform_input` when a function called for such an
event starts: the order the official SDK's own tests expect is send first, then the function.
"""

from __future__ import annotations

import asyncio
import datetime
import os
from pathlib import Path
from typing import Any

import fastapi
import inngest
import inngest.fast_api
from inngest.experimental.ai import openai as ai_openai

APP_ID = os.environ.get("COMPAT_APP_ID", "compat-py")
LOG = Path(os.environ.get("COMPAT_LOG", "compat.log"))
ORIGIN = os.environ.get("COMPAT_ORIGIN", "http://127.0.0.1:8000")


def note(token: str, label: str) -> None:
    with LOG.open("a") as log:
        log.write(f"{token} {label}\n")


class OrderMiddleware(inngest.Middleware):
    """Notes when a send returns and when a function starts, for events carrying `data.order_token`."""

    tokens: tuple[str, ...] = ()

    async def before_send_events(self, events: list[inngest.Event]) -> None:
        self.tokens = tuple(str(event.data["order_token"]) for event in events if "order_token" in event.data)

    async def after_send_events(self, result: Any) -> None:
        for token in self.tokens:
            note(token, "after_send_events")

    async def transform_input(self, ctx: Any, function: Any, steps: Any) -> None:
        if "order_token" in ctx.event.data:
            note(str(ctx.event.data["order_token"]), "transform_input")


client = inngest.Inngest(app_id=APP_ID, middleware=[OrderMiddleware])
lossy_client = (
    inngest.Inngest(app_id=APP_ID, event_api_base_url=os.environ["COMPAT_LOSSY_URL"])
    if os.environ.get("COMPAT_LOSSY_URL")
    else None
)


def noted(token: str, label: str) -> bool:
    return f"{token} {label}\n" in (LOG.read_text() if LOG.exists() else "")


def attempts(token: str, label: str) -> int:
    return (LOG.read_text() if LOG.exists() else "").count(f"{token} {label}\n")


def token_of(ctx: inngest.Context) -> str:
    return str(ctx.event.data.get("token", ""))


@client.create_function(fn_id="multi-step", trigger=inngest.TriggerEvent(event="compat/multi-step"))
async def multi_step(ctx: inngest.Context) -> Any:
    token = token_of(ctx)

    def run(label: str, value: int) -> int:
        note(token, label)
        return value

    a = await ctx.step.run("a", run, "a", 1)
    b = await ctx.step.run("b", run, "b", a + 1)
    await ctx.step.sleep("nap", datetime.timedelta(seconds=1))
    c = await ctx.step.run("c", run, "c", a + b)
    return {"sum": a + b + c, "token": token}


@client.create_function(fn_id="with-input", trigger=inngest.TriggerEvent(event="compat/with-input"))
async def with_input(ctx: inngest.Context) -> Any:
    """A step called with arguments (this SDK does not send them on the wire, unlike the TypeScript one)."""

    def double(n: int) -> int:
        return n * 2

    doubled = await ctx.step.run("double", double, int(ctx.event.data["n"]))
    return {"doubled": doubled}


@client.create_function(fn_id="sleeper", trigger=inngest.TriggerEvent(event="compat/sleep"))
async def sleeper(ctx: inngest.Context) -> str:
    await ctx.step.sleep("nap", datetime.timedelta(seconds=float(ctx.event.data["seconds"])))
    return "rested"


@client.create_function(fn_id="sleeper-until", trigger=inngest.TriggerEvent(event="compat/sleep-until"))
async def sleeper_until(ctx: inngest.Context) -> str:
    await ctx.step.sleep_until("nap", datetime.datetime.fromisoformat(str(ctx.event.data["until"])))
    return "woke"


@client.create_function(fn_id="waiter", trigger=inngest.TriggerEvent(event="compat/wait"))
async def waiter(ctx: inngest.Context) -> Any:
    got = await ctx.step.wait_for_event(
        "approval",
        event="compat/approve",
        if_exp="async.data.id == event.data.id",
        timeout=datetime.timedelta(hours=1),
    )
    return got.data if got is not None else None


@client.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="compat/child"))
async def child(ctx: inngest.Context) -> Any:
    return {"doubled": ctx.event.data["n"] * 2}


@client.create_function(fn_id="failing-child", trigger=inngest.TriggerEvent(event="compat/failing-child"), retries=0)
async def failing_child(ctx: inngest.Context) -> Any:
    raise ValueError("child broke")


@client.create_function(fn_id="slow-child", trigger=inngest.TriggerEvent(event="compat/slow-child"))
async def slow_child(ctx: inngest.Context) -> Any:
    await ctx.step.wait_for_event("never", event="compat/never", timeout=datetime.timedelta(days=1))
    return "late"


@client.create_function(fn_id="invoke-only", trigger=[])
async def invoke_only(ctx: inngest.Context) -> Any:
    return {"tripled": ctx.event.data["n"] * 3}


_TARGETS = {"child": child, "failing": failing_child, "slow": slow_child, "invoke-only": invoke_only}


@client.create_function(fn_id="parent", trigger=inngest.TriggerEvent(event="compat/parent"))
async def parent(ctx: inngest.Context) -> Any:
    target = _TARGETS[str(ctx.event.data["target"])]
    try:
        result = await ctx.step.invoke("call", function=target, data={"n": 21}, timeout=datetime.timedelta(minutes=30))
    except inngest.StepError as err:
        return {"error": {"name": err.name, "message": err.message}}
    return {"result": result}


@client.create_function(fn_id="fan-out", trigger=inngest.TriggerEvent(event="compat/fan-out"))
async def fan_out(ctx: inngest.Context) -> Any:
    events = [inngest.Event(name="compat/fanned", data={"token": token_of(ctx), "n": n}) for n in (1, 2)]
    return await ctx.step.send_event("announce", events)


@client.create_function(fn_id="fanned", trigger=inngest.TriggerEvent(event="compat/fanned"))
async def fanned(ctx: inngest.Context) -> Any:
    return {"got": ctx.event.data["n"]}


@client.create_function(fn_id="parallel", trigger=inngest.TriggerEvent(event="compat/parallel"))
async def parallel(ctx: inngest.Context) -> Any:
    token = token_of(ctx)

    async def branch(n: int) -> int:
        # p0 finishes after p1, which finishes after p2: the reverse of the order they are declared in.
        for _ in range(500):
            if n == 2 or noted(token, f"p{n + 1} done"):
                break
            await asyncio.sleep(0.02)
        note(token, f"p{n} done")
        return n * 10

    results = await ctx.group.parallel(tuple((lambda n=n: ctx.step.run(f"p{n}", branch, n)) for n in range(3)))
    total = await ctx.step.run("after", lambda: sum(results))  # a plain step after the group
    return [*results, total]


@client.create_function(fn_id="parallel-wait", trigger=inngest.TriggerEvent(event="compat/parallel-wait"))
async def parallel_wait(ctx: inngest.Context) -> Any:
    token = token_of(ctx)

    def work() -> str:
        note(token, "work")
        return "worked"

    worked, signal = await ctx.group.parallel(
        (
            lambda: ctx.step.run("work", work),
            lambda: ctx.step.wait_for_event(
                "signal",
                event="compat/signal",
                if_exp="async.data.token == event.data.token",
                timeout=datetime.timedelta(hours=1),
            ),
        )
    )
    return [worked, signal.data["n"] if signal is not None else None]


@client.create_function(fn_id="race", trigger=inngest.TriggerEvent(event="compat/race"))
async def race(ctx: inngest.Context) -> Any:
    token = token_of(ctx)

    async def fast() -> str:
        note(token, "fast done")
        return "fast"

    async def slow() -> str:
        for _ in range(500):  # finishes after `fast`
            if noted(token, "fast done"):
                break
            await asyncio.sleep(0.02)
        note(token, "slow done")
        return "slow"

    results = await ctx.group.parallel(
        (lambda: ctx.step.run("fast", fast), lambda: ctx.step.run("slow", slow)),
        parallel_mode=inngest.ParallelMode.RACE,
    )
    return list(results)


@client.create_function(
    fn_id="bounded",
    trigger=inngest.TriggerEvent(event="compat/bounded"),
    timeouts=inngest.Timeouts(finish=datetime.timedelta(minutes=10)),
)
async def bounded(ctx: inngest.Context) -> str:
    await ctx.step.wait_for_event("never", event="compat/never", timeout=datetime.timedelta(hours=1))
    return "finished"


@client.create_function(fn_id="three-steps", trigger=inngest.TriggerEvent(event="compat/three-steps"))
async def three_steps(ctx: inngest.Context) -> Any:
    token = token_of(ctx)

    def run(label: str, value: int | None) -> int | None:
        note(token, label)
        return value

    values = [await ctx.step.run(f"s{n}", run, f"s{n}", value) for n, value in ((1, 1), (2, None), (3, 3))]
    return {"values": values}


@client.create_function(fn_id="slow-step", trigger=inngest.TriggerEvent(event="compat/slow-step"))
async def slow_step(ctx: inngest.Context) -> Any:
    token = token_of(ctx)

    async def slow() -> str:
        note(token, "slow")
        await asyncio.sleep(0.6)
        return "slow"

    def after() -> str:
        note(token, "after")
        return "after"

    return [await ctx.step.run("slow", slow), await ctx.step.run("after", after)]


@client.create_function(fn_id="flaky", trigger=inngest.TriggerEvent(event="compat/flaky"), retries=2)
async def flaky(ctx: inngest.Context) -> Any:
    token = token_of(ctx)

    def maybe() -> str:
        note(token, "attempt")
        if attempts(token, "attempt") < 3:
            raise ValueError(f"failure {attempts(token, 'attempt')}")
        return "ok"

    return await ctx.step.run("maybe", maybe)


@client.create_function(fn_id="flaky-fn", trigger=inngest.TriggerEvent(event="compat/flaky-fn"), retries=2)
async def flaky_fn(ctx: inngest.Context) -> Any:
    token = token_of(ctx)
    if not noted(token, "called"):
        note(token, "called")
        raise ValueError("the function itself failed")
    return {"attempt": ctx.attempt}


@client.create_function(
    fn_id="filtered",
    trigger=inngest.TriggerEvent(event="compat/filtered", expression="event.data.amount > 100"),
)
async def filtered(ctx: inngest.Context) -> Any:
    return {"amount": ctx.event.data["amount"]}


@client.create_function(fn_id="wildcard", trigger=inngest.TriggerEvent(event="compat/wild.*"))
async def wildcard(ctx: inngest.Context) -> Any:
    return {"name": ctx.event.name}


@client.create_function(fn_id="retry-after", trigger=inngest.TriggerEvent(event="compat/retry-after"), retries=2)
async def retry_after(ctx: inngest.Context) -> Any:
    token = token_of(ctx)

    def later() -> str:
        note(token, "attempt")
        if attempts(token, "attempt") == 1:
            delay = datetime.timedelta(seconds=float(ctx.event.data["seconds"]))
            raise inngest.RetryAfterError("not yet", retry_after=delay)
        return "ok"

    return await ctx.step.run("later", later)


@client.create_function(fn_id="non-retriable", trigger=inngest.TriggerEvent(event="compat/non-retriable"), retries=3)
async def non_retriable(ctx: inngest.Context) -> Any:
    token = token_of(ctx)

    def refuse() -> None:
        note(token, "attempt")
        raise inngest.NonRetriableError("no point retrying")

    return await ctx.step.run("refuse", refuse)


async def report_failure(ctx: inngest.Context) -> Any:
    return {"failed_run": ctx.event.data["run_id"], "message": ctx.event.data["error"]["message"]}


@client.create_function(
    fn_id="doomed", trigger=inngest.TriggerEvent(event="compat/doomed"), retries=0, on_failure=report_failure
)
async def doomed(ctx: inngest.Context) -> Any:
    raise ValueError("doomed to fail")


@client.create_function(
    fn_id="cancellable",
    trigger=inngest.TriggerEvent(event="compat/cancellable"),
    cancel=[inngest.Cancel(event="compat/cancel", if_exp="async.data.id == event.data.id")],
)
async def cancellable(ctx: inngest.Context) -> str:
    await ctx.step.wait_for_event("forever", event="compat/never", timeout=datetime.timedelta(days=1))
    return "not cancelled"


@client.create_function(fn_id="ticker", trigger=inngest.TriggerCron(cron="0 * * * *"))
async def ticker(ctx: inngest.Context) -> Any:
    return {"event": ctx.event.name}


@client.create_function(fn_id="big-steps", trigger=inngest.TriggerEvent(event="compat/big-steps"))
async def big_steps(ctx: inngest.Context) -> Any:
    size = int(ctx.event.data["size"])

    def blob(n: int) -> str:
        return str(n) * size

    blobs = [await ctx.step.run(f"blob-{n}", blob, n) for n in range(5)]
    await ctx.step.sleep("rest", datetime.timedelta(seconds=1))  # a call after the blobs: over the inline limit
    return {"sizes": [len(b) for b in blobs], "digits": [b[:1] for b in blobs]}


@client.create_function(fn_id="big-event", trigger=inngest.TriggerEvent(event="compat/big-event"))
async def big_event(ctx: inngest.Context) -> Any:
    def measure() -> int:
        return len(ctx.event.data["blob"])

    length = await ctx.step.run("measure", measure)
    return {"length": length, "events": len(ctx.events)}


@client.create_function(fn_id="lossy", trigger=inngest.TriggerEvent(event="compat/lossy"))
async def lossy(ctx: inngest.Context) -> Any:
    return {"token": token_of(ctx)}


@client.create_function(fn_id="gateway", trigger=inngest.TriggerEvent(event="compat/gateway"))
async def gateway(ctx: inngest.Context) -> Any:
    # The engine makes this request (an `AIGateway` op), here to the app's own fake model.
    adapter = ai_openai.Adapter(auth_key="compat", base_url=f"{ORIGIN}/ai", model="compat-model")
    return await ctx.step.ai.infer("infer", adapter=adapter, body={"messages": [{"role": "user", "content": "hi"}]})


@client.create_function(
    fn_id="batched",
    trigger=inngest.TriggerEvent(event="compat/batched"),
    batch_events=inngest.Batch(max_size=5, timeout=datetime.timedelta(seconds=5)),
)
async def batched(ctx: inngest.Context) -> Any:
    return {"events": len(ctx.events)}


@client.create_function(
    fn_id="limited",
    trigger=inngest.TriggerEvent(event="compat/limited"),
    concurrency=[inngest.Concurrency(limit=2, key="event.data.user")],
)
async def limited(ctx: inngest.Context) -> Any:
    return {"user": ctx.event.data.get("user")}


@client.create_function(
    fn_id="rate-limited",
    trigger=inngest.TriggerEvent(event="compat/rate-limited"),
    rate_limit=inngest.RateLimit(limit=1, period=datetime.timedelta(hours=1), key="event.data.token"),
)
async def rate_limited(ctx: inngest.Context) -> Any:
    return {"token": ctx.event.data.get("token")}


@client.create_function(
    fn_id="debounced",
    trigger=inngest.TriggerEvent(event="compat/debounced"),
    debounce=inngest.Debounce(period=datetime.timedelta(minutes=5), key="event.data.token"),
)
async def debounced(ctx: inngest.Context) -> Any:
    return {"n": ctx.event.data.get("n")}


@client.create_function(
    fn_id="throttled",
    trigger=inngest.TriggerEvent(event="compat/throttled"),
    throttle=inngest.Throttle(limit=1, period=datetime.timedelta(minutes=1), key="event.data.token", burst=0),
)
async def throttled(ctx: inngest.Context) -> Any:
    return {"n": ctx.event.data.get("n")}


@client.create_function(
    fn_id="idempotent",
    trigger=inngest.TriggerEvent(event="compat/idempotent"),
    idempotency="event.data.token",
)
async def idempotent(ctx: inngest.Context) -> Any:
    return {"n": ctx.event.data.get("n")}


@client.create_function(
    fn_id="single",
    trigger=inngest.TriggerEvent(event="compat/single"),
    singleton=inngest.Singleton(key="event.data.token", mode="skip"),
)
async def single(ctx: inngest.Context) -> Any:
    got = await ctx.step.wait_for_event(
        "release",
        event="compat/release",
        if_exp="async.data.token == event.data.token",
        timeout=datetime.timedelta(hours=1),
    )
    return {"n": ctx.event.data.get("n"), "released": got is not None}


FUNCTIONS = [
    multi_step,
    with_input,
    sleeper,
    sleeper_until,
    waiter,
    child,
    failing_child,
    slow_child,
    invoke_only,
    parent,
    fan_out,
    fanned,
    parallel,
    parallel_wait,
    race,
    bounded,
    three_steps,
    slow_step,
    flaky,
    flaky_fn,
    filtered,
    wildcard,
    retry_after,
    non_retriable,
    doomed,
    cancellable,
    ticker,
    big_steps,
    big_event,
    lossy,
    gateway,
    batched,
    limited,
    rate_limited,
    debounced,
    throttled,
    idempotent,
    single,
]
_SERVED = os.environ.get("COMPAT_FUNCTIONS")

app = fastapi.FastAPI()
inngest.fast_api.serve(app, client, [fn for fn in FUNCTIONS if not _SERVED or fn.local_id in _SERVED.split(",")])


@app.post("/send")
async def send(body: dict[str, Any]) -> Any:
    sender = lossy_client if body.get("lossy") else client
    try:
        assert sender is not None, "COMPAT_LOSSY_URL is not set"
        ids = await sender.send([inngest.Event(**event) for event in body["events"]])
    except Exception as err:
        return fastapi.responses.JSONResponse({"error": f"{type(err).__name__}: {err}"}, status_code=500)
    return {"ids": ids}


@app.post("/ai/chat/completions")
async def fake_model(body: dict[str, Any], request: fastapi.Request) -> Any:
    """A model API: the engine makes this request (`step.ai.infer`), with the adapter's key and model."""
    if request.headers.get("authorization") != "Bearer compat" or body.get("model") != "compat-model":
        return fastapi.responses.JSONResponse({"error": "unauthorized or no model"}, status_code=401)
    return {"choices": [{"message": {"role": "assistant", "content": "hello"}}]}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
