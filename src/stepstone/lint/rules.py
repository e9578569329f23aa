"""The rules' metadata: code, name, what each flags, its fix, why, and a wrong and a right example.

`stepstone lint --explain`, docs/lint.md's table and the SARIF output all read this one table. Codes are
stable: users write them in suppressions and configuration. The examples are function bodies that assume
`client = stepstone.Stepstone(...)` and the usual imports; tests check each wrong one is flagged with its
code and each right one is not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One check.

    Attributes:
        code: `STPnnn`.
        name: A short kebab-case name.
        flags: What it reports, in a phrase.
        fix: The fix, one sentence.
        reason: Why it matters for a durable function.
        wrong: A function that breaks the rule.
        right: The same function, fixed.
        default: On unless deselected (heuristic rules are off until selected).
    """

    code: str
    name: str
    flags: str
    fix: str
    reason: str
    wrong: str
    right: str
    default: bool = True


def fn(body: str, sync: bool = False) -> str:
    """An example function around `body` (four-space indented lines)."""
    head = "def" if sync else "async def"
    ctx = "stepstone.ContextSync" if sync else "stepstone.Context"
    return (
        '@client.create_function(fn_id="example", trigger=stepstone.TriggerEvent(event="shop/order.placed"))\n'
        f"{head} example(ctx: {ctx}) -> None:\n{body}"
    )


RULE_LIST = [
    Rule(
        "STP001",
        "clock-outside-step",
        "the clock read in a function body outside a step",
        "Read the clock inside a step (`await ctx.step.run('now', ...)`) so every call sees the stored value",
        "The function body runs again on every call (once per step and on retries): a clock read there gives a "
        "different value each time, so branches, step ids and outputs change under the run.",
        fn("    stamp = datetime.now().isoformat()\n    await ctx.step.run('save', save, stamp)\n"),
        fn(
            "    stamp = await ctx.step.run('stamp', lambda: datetime.now().isoformat())\n"
            "    await ctx.step.run('save', save, stamp)\n"
        ),
    ),
    Rule(
        "STP002",
        "random-outside-step",
        "randomness (`random`, `secrets`, `uuid1/uuid4`, `os.urandom`) outside a step",
        "Draw the value inside a step so it is stored once and every later call gets the same one",
        "Each call of the function draws a new value: whatever depends on it (an id, a branch) changes between "
        "calls while the stored steps do not.",
        fn("    order_id = str(uuid.uuid4())\n    await ctx.step.run('create', create_order, order_id)\n"),
        fn(
            "    order_id = await ctx.step.run('new-id', lambda: str(uuid.uuid4()))\n"
            "    await ctx.step.run('create', create_order, order_id)\n"
        ),
    ),
    Rule(
        "STP003",
        "network-outside-step",
        "network I/O (`requests`, `httpx`, `aiohttp`, `urllib.request`, `socket`, ...) outside a step",
        "Move the call into a step handler, which runs once and is retried on its own",
        "Code outside steps runs on every call: the request is repeated each time, is not retried as a step, "
        "and its answer can differ between calls.",
        fn(
            "    rates = httpx.get('https://rates.example/eur').json()\n"
            "    await ctx.step.run('convert', convert, rates)\n"
        ),
        fn(
            "    rates = await ctx.step.run('rates', lambda: httpx.get('https://rates.example/eur').json())\n"
            "    await ctx.step.run('convert', convert, rates)\n"
        ),
    ),
    Rule(
        "STP004",
        "database-outside-step",
        "database calls (cursor or session `execute`/`commit`/`query`, Django `.objects`, `connect`) outside a step",
        "Query or write the database inside a step handler",
        "The body runs again on every call: writes repeat and reads can return other rows the next time.",
        fn(
            "    rows = cursor.execute('select id from orders').fetchall()\n"
            "    await ctx.step.run('bill', bill, rows)\n"
        ),
        fn(
            "    rows = await ctx.step.run('orders', lambda: cursor.execute('select id from orders').fetchall())\n"
            "    await ctx.step.run('bill', bill, rows)\n"
        ),
    ),
    Rule(
        "STP005",
        "filesystem-outside-step",
        "file system access (`open`, `Path.read_*`/`write_*`, `os` file calls, `shutil`, `tempfile`, `glob`) "
        "outside a step",
        "Read or write files inside a step handler",
        "Files differ between machines and change over time; writes outside a step repeat on every call.",
        fn("    template = open('receipt.txt').read()\n    await ctx.step.run('send', send, template)\n"),
        fn(
            "    template = await ctx.step.run('template', lambda: open('receipt.txt').read())\n"
            "    await ctx.step.run('send', send, template)\n"
        ),
    ),
    Rule(
        "STP006",
        "blocking-sleep",
        "`time.sleep` or `asyncio.sleep` in a function body",
        "Use `ctx.step.sleep(step_id, duration)`, which frees the worker and survives deploys",
        "A sleep in the body holds the request, a worker and a connection, and starts over if the process "
        "restarts; a step sleep is stored by the engine, which calls the function again when it ends.",
        fn("    await asyncio.sleep(3600)\n    await ctx.step.run('remind', remind)\n"),
        fn("    await ctx.step.sleep('wait-an-hour', timedelta(hours=1))\n    await ctx.step.run('remind', remind)\n"),
    ),
    Rule(
        "STP007",
        "threads-or-processes",
        "threads, processes or executors (`threading`, `multiprocessing`, `concurrent.futures`, "
        "`asyncio.to_thread`, `run_in_executor`, `subprocess`) in a function body",
        "Do the work in a step handler (and fan out with `ctx.step.send_event` or `ctx.group.parallel`)",
        "Work started in the background escapes the step boundary: it repeats on every call, is not retried, "
        "and is killed when the request ends.",
        fn("    subprocess.run(['convert', 'in.png', 'out.jpg'])\n"),
        fn("    await ctx.step.run('convert', lambda: subprocess.run(['convert', 'in.png', 'out.jpg']).returncode)\n"),
    ),
    Rule(
        "STP008",
        "unawaited-step",
        "a step call in an `async def` function that is not awaited",
        "Write `await ctx.step.run(...)` (or pass the calls to `ctx.group.parallel`)",
        "An async step method returns a coroutine: without `await` the step never runs and the function moves on.",
        fn("    ctx.step.run('charge', charge)\n"),
        fn("    await ctx.step.run('charge', charge)\n"),
    ),
    Rule(
        "STP009",
        "unawaited-task",
        "`asyncio.create_task` / `ensure_future` whose result is dropped",
        "Await the work (in a step) instead of starting a task nobody waits for",
        "A task nobody awaits is cancelled when the request ends, and started again on the next call.",
        fn("    asyncio.create_task(notify())\n"),
        fn("    await ctx.step.run('notify', notify)\n"),
    ),
    Rule(
        "STP010",
        "unawaited-send",
        "an async client's `send(...)` not awaited",
        "Write `await client.send(...)` (in a step), or use `ctx.step.send_event`",
        "`send` on the async client returns a coroutine: without `await` no event is sent.",
        fn(
            "    await ctx.step.run('notify', lambda: client.send(stepstone.Event(name='shop/notified')))\n"
            "    client.send(stepstone.Event(name='shop/done'))\n"
        ),
        fn("    await ctx.step.send_event('done', stepstone.Event(name='shop/done'))\n"),
    ),
    Rule(
        "STP011",
        "send-outside-step",
        "`client.send` / `send_sync` in a function body",
        "Use `ctx.step.send_event(step_id, events)`, which sends once and is memoized",
        "The body runs again on every call, so the event is sent again each time; `step.send_event` is a step "
        "and sends once per run.",
        fn("    await client.send(stepstone.Event(name='shop/order.accepted'))\n"),
        fn("    await ctx.step.send_event('accepted', stepstone.Event(name='shop/order.accepted'))\n"),
    ),
    Rule(
        "STP012",
        "nested-step",
        "a step call inside a step handler",
        "Call the steps one after the other in the function body (a handler cannot run steps)",
        "Steps are planned by the function body; a step method called while a step runs cannot be stored, and "
        "the SDKs reject it.",
        fn(
            "    async def outer() -> None:\n        await ctx.step.run('inner', inner)\n\n"
            "    await ctx.step.run('outer', outer)\n"
        ),
        fn("    await ctx.step.run('outer', outer)\n    await ctx.step.run('inner', inner)\n"),
    ),
    Rule(
        "STP014",
        "swallowed-control-flow",
        "bare `except:`, `except BaseException` or `contextlib.suppress(BaseException)` around step calls "
        "without re-raise",
        "Catch `Exception` (or re-raise), so the SDK's own control flow can pass",
        "The SDKs stop the function at a new step by raising an exception that is not an `Exception`; catching "
        "`BaseException` swallows it and the function runs on as if the step had returned.",
        fn("    try:\n        await ctx.step.run('charge', charge)\n    except BaseException:\n        pass\n"),
        fn("    try:\n        await ctx.step.run('charge', charge)\n    except Exception:\n        pass\n"),
    ),
    Rule(
        "STP016",
        "unstable-step-id",
        "a step id built from the clock, randomness, `uuid`, `id()` or `hash()`",
        "Build step ids from stable values (literals, event data, loop indexes)",
        "A step's stored result is found by its id: an id that changes between calls never matches, so the "
        "step runs again on every call and the run never ends.",
        fn("    await ctx.step.run(f'charge-{time.time()}', charge)\n"),
        fn("    await ctx.step.run(f\"charge-{ctx.event.data['order_id']}\", charge)\n"),
    ),
    Rule(
        "STP019",
        "handler-called",
        "the handler called where it is passed (`step.run('x', fetch())`): the work runs outside the step",
        "Pass the callable and its arguments: `step.run('x', fetch, arg)`",
        "`step.run` takes a callable; a call's result is computed in the body, on every call, and the step only "
        "stores what it was given.",
        fn("    await ctx.step.run('fetch', await fetch(ctx.event.data['id']))\n"),
        fn("    await ctx.step.run('fetch', fetch, ctx.event.data['id'])\n"),
    ),
    Rule(
        "STP023",
        "print-in-function",
        "`print` / `logging` in a function body outside steps",
        "Log with `ctx.logger`, which stays quiet while stored steps are replayed",
        "The body runs again on every call, so a line printed there repeats once per step.",
        fn("    print('processing', ctx.event.data)\n    await ctx.step.run('process', process)\n"),
        fn("    ctx.logger.info('processing %s', ctx.event.data)\n    await ctx.step.run('process', process)\n"),
    ),
    Rule(
        "STP026",
        "sync-async-mismatch",
        "an `async def` function annotated with the sync context, or a `def` one with the async context",
        "Use `Context` with `async def` and `ContextSync` with `def`",
        "The SDKs pick the step API from the kind of function: a sync function gets `StepSync`, whose methods "
        "return values, and an async one gets awaitables.",
        '@client.create_function(fn_id="example", trigger=stepstone.TriggerEvent(event="shop/order.placed"))\n'
        "def example(ctx: stepstone.Context) -> None:\n    ctx.step.run('charge', charge)\n",
        fn("    ctx.step.run('charge', charge)\n", sync=True),
    ),
]
RULES = {rule.code: rule for rule in RULE_LIST}
