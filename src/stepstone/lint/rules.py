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
            "    rows = await ctx.step.run('orders', lambda: cursor.execute('select id from orders').fetchmany(100))\n"
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
            "    template = await ctx.step.run('template', load_template)\n"
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
        "an async client's `send(...)` / `send_signal(...)` not awaited",
        "Write `await client.send(...)` (in a step), or use `ctx.step.send_event`",
        "`send` and `send_signal` on the async client return a coroutine: without `await` nothing is sent.",
        fn(
            "    await ctx.step.run('notify', lambda: client.send(stepstone.Event(name='shop/notified')))\n"
            "    client.send(stepstone.Event(name='shop/done'))\n"
        ),
        fn("    await ctx.step.send_event('done', stepstone.Event(name='shop/done'))\n"),
    ),
    Rule(
        "STP011",
        "send-outside-step",
        "`client.send` / `send_sync` (or `send_signal`) in a function body",
        "Use `ctx.step.send_event(step_id, events)`, which sends once and is memoized (a signal: send it in a "
        "`ctx.step.run`)",
        "The body runs again on every call, so the event is sent again each time; `step.send_event` is a step "
        "and sends once per run. A signal sent again finds the run it resumed gone on, or resumes another.",
        fn(
            "    await client.send(stepstone.Event(name='shop/order.accepted'))\n"
            "    await client.send_signal('order-accepted', ctx.event.data)\n"
        ),
        fn(
            "    await ctx.step.send_event('accepted', stepstone.Event(name='shop/order.accepted'))\n"
            "    await ctx.step.run('signal', client.send_signal, 'order-accepted', ctx.event.data)\n"
        ),
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
RULE_LIST += [
    Rule(
        "STP013",
        "mutation-in-step",
        "a step handler assigning to `nonlocal`/`global` names, closure objects' attributes or items, or "
        "calling `.append`/`.update`/... on them",
        "Return the value from the handler and use what the step returns",
        "A step's handler runs once; on every later call the SDK returns the stored output without running it, "
        "so a change the handler made to a variable outside itself is missing from then on.",
        fn(
            "    seen = []\n\n    def record() -> None:\n        seen.append(ctx.event.data['id'])\n\n"
            "    await ctx.step.run('record', record)\n"
        ),
        fn("    seen = [await ctx.step.run('record', lambda: ctx.event.data['id'])]\n"),
    ),
    Rule(
        "STP015",
        "unordered-parallel",
        "`asyncio.wait` / `as_completed` over steps; with the official SDK also `asyncio.gather` / `TaskGroup`",
        "Run steps in parallel with `ctx.group.parallel(...)` (or `asyncio.gather` with Stepstone's SDK)",
        "Steps awaited in completion order come back in a different order on each call; the official Python SDK "
        "plans parallel steps only through `group.parallel`.",
        fn("    done, _ = await asyncio.wait([ctx.step.run('a', fetch_a), ctx.step.run('b', fetch_b)])\n"),
        fn(
            "    a, b = await ctx.group.parallel(\n"
            "        (lambda: ctx.step.run('a', fetch_a), lambda: ctx.step.run('b', fetch_b))\n"
            "    )\n"
        ),
    ),
    Rule(
        "STP017",
        "set-order-steps",
        "steps started while iterating a `set` / `frozenset`",
        "Iterate a sorted list (`sorted(items)`) so the steps come in the same order on every call",
        "A set of strings iterates in an order that depends on the process's hash seed: another process "
        "(the next call) can start the steps in another order.",
        fn("    for sku in set(ctx.event.data['skus']):\n        await ctx.step.run(f'reserve-{sku}', reserve, sku)\n"),
        fn(
            "    for sku in sorted(set(ctx.event.data['skus'])):\n"
            "        await ctx.step.run(f'reserve-{sku}', reserve, sku)\n"
        ),
        default=False,
    ),
    Rule(
        "STP018",
        "duplicate-step-id",
        "the same literal step id twice in one function outside a loop",
        "Give each step its own id",
        "The SDKs number a repeated id (`id:1`), so the two steps are told apart only by their order; a "
        "rerun from a step and the dashboard need ids that say which step is which.",
        fn("    await ctx.step.run('save', save_order)\n    await ctx.step.run('save', save_invoice)\n"),
        fn("    await ctx.step.run('save-order', save_order)\n    await ctx.step.run('save-invoice', save_invoice)\n"),
    ),
    Rule(
        "STP020",
        "non-json-output",
        "a step handler annotated to return a type that is not JSON (set, bytes, datetime, a plain class) "
        "without `output_type`",
        "Return JSON (lists, dicts, strings, numbers), a pydantic model, or pass `output_type=`",
        "A step's output is stored as JSON: a value that is not JSON fails the step, or comes back as another "
        "type on the next call.",
        fn("    def tags() -> set[str]:\n        return {'a', 'b'}\n\n    await ctx.step.run('tags', tags)\n"),
        fn("    def tags() -> list[str]:\n        return sorted({'a', 'b'})\n\n    await ctx.step.run('tags', tags)\n"),
    ),
    Rule(
        "STP021",
        "unbounded-steps",
        "step calls inside `while True` or a loop over query results",
        "Fan out: send one event per item with `ctx.step.send_event` and handle each in its own function",
        "A run has at most 1,000 steps; a loop whose length the data decides reaches it sooner or later.",
        fn('    for row in cursor.fetchall():\n        await ctx.step.run(f"bill-{row[0]}", bill, row[0])\n'),
        fn(
            "    ids = await ctx.step.run('ids', lambda: [row[0] for row in cursor.fetchall()])\n"
            "    events = [stepstone.Event(name='shop/bill', data={'id': i}) for i in ids]\n"
            "    await ctx.step.send_event('fan-out', events)\n"
        ),
    ),
    Rule(
        "STP022",
        "large-step-output",
        "a step returning `fetchall()`, a whole file's content or a whole response body",
        "Return only what later steps need (a count, ids, a summary) and keep the bulk in your own storage",
        "A step output is at most 4 MiB and the run's state at most 32 MiB; whole tables, files and bodies "
        "outgrow that as the data grows.",
        fn("    rows = await ctx.step.run('rows', lambda: cursor.execute('select * from orders').fetchall())\n"),
        fn("    count = await ctx.step.run('count', lambda: cursor.execute('select count(*) from t').fetchone())\n"),
        default=False,
    ),
    Rule(
        "STP024",
        "process-state-branch",
        "branching in a function body on `os.environ`, `platform`, `socket.gethostname()` or a mutable module global",
        "Read the value in a step (or pass it in the event) so every call takes the same branch",
        "Calls of one run can reach different processes or machines, whose environment and memory differ: "
        "a branch on them changes which steps the run takes.",
        fn("    if os.environ.get('FAST_PATH'):\n        await ctx.step.run('fast', fast)\n"),
        fn(
            "    fast_path = await ctx.step.run('flag', lambda: bool(os.environ.get('FAST_PATH')))\n"
            "    if fast_path:\n        await ctx.step.run('fast', fast)\n"
        ),
        default=False,
    ),
    Rule(
        "STP025",
        "function-called-in-step",
        "another registered function called directly inside a step handler",
        "Call it with `ctx.step.invoke(step_id, function=...)`, or send an event it listens to",
        "A durable function called as a plain Python function has no context, no steps and no run of its own.",
        '@client.create_function(fn_id="child", trigger=stepstone.TriggerEvent(event="shop/child"))\n'
        "async def child(ctx: stepstone.Context) -> None:\n    return None\n\n\n"
        + fn("    await ctx.step.run('child', lambda: child(ctx))\n"),
        '@client.create_function(fn_id="child", trigger=stepstone.TriggerEvent(event="shop/child"))\n'
        "async def child(ctx: stepstone.Context) -> None:\n    return None\n\n\n"
        + fn("    await ctx.step.invoke('child', function=child)\n"),
    ),
    Rule(
        "STP027",
        "send-without-id",
        "events sent by the client inside a step handler without an `id`",
        "Give each event an `id` built from stable data, so a retried step's events are sent once",
        "A step that fails after sending is retried and sends again; the engine drops an event whose id it "
        "has seen (within 24 hours), so an id makes the send idempotent.",
        fn(
            "    async def notify() -> None:\n        await client.send(stepstone.Event(name='shop/notified'))\n\n"
            "    await ctx.step.run('notify', notify)\n"
        ),
        fn(
            "    async def notify() -> None:\n"
            "        await client.send(stepstone.Event(name='shop/notified', id=f'notified-{ctx.run_id}'))\n\n"
            "    await ctx.step.run('notify', notify)\n"
        ),
    ),
]
RULE_LIST.append(
    Rule(
        "STP028",
        "step-ids-changed",
        "with `--against GIT_REF`: step ids renamed, removed or reordered in a function since that revision",
        "Keep the ids of released steps; add new steps with new ids, and let runs in flight finish (or version "
        "the function with a new `fn_id`) before removing or reordering steps",
        "Runs in flight find their stored steps by id: a renamed or removed id runs the step again on the next "
        "call, and reordered ids make the code meet stored steps in another order than the one they ran in. "
        "(The examples change a function released with the steps `charge-card` and `send-receipt`.)",
        fn("    await ctx.step.run('charge', charge)\n    await ctx.step.run('send-receipt', send)\n"),
        fn(
            "    await ctx.step.run('charge-card', charge)\n    await ctx.step.run('send-receipt', send)\n"
            "    await ctx.step.run('log-sale', log_sale)\n"
        ),
    )
)
RULES = {rule.code: rule for rule in sorted(RULE_LIST, key=lambda rule: rule.code)}
