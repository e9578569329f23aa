"""The run-time findings (STP101-STP104), described as the lint rules are: what the engine reports when a
run's code takes another path than its stored history (server/runs/nondeterminism.py finds them; see
docs/nondeterminism.md), with the reason, the fix and a wrong and a right example.

They are not static checks: `stepstone lint` never reports these codes, but `--explain` prints them and
docs/sharp-edges.md lists them. Each wrong example is code that produces the finding and that a static rule
already flags (a tested promise: lint catches the cause before deploy). Imports only `stepstone.lint.rules`.
"""

from __future__ import annotations

from stepstone.lint.rules import Rule, fn

FINDING_LIST = [
    Rule(
        "STP101",
        "step-not-reached",
        "a stored step the code no longer reaches while it moves on to new steps or returns",
        "Compute whatever decides which steps run inside a step, so every call sees the stored value; to change "
        "the steps of a released function, keep the old ids until the runs in flight have finished",
        "On each call the SDK replays the stored steps the code asks for. When a branch outside a step (the "
        "clock, randomness, the environment) or a deploy changes which steps the code reaches, a step the run "
        "already did is skipped, and its effect is not undone: the run goes on as another run would.",
        fn(
            "    if datetime.now().hour < 12:\n"
            "        await ctx.step.run('morning-report', report)\n"
            "    await ctx.step.run('send', send)\n"
        ),
        fn(
            "    hour = await ctx.step.run('hour', lambda: datetime.now().hour)\n"
            "    if hour < 12:\n"
            "        await ctx.step.run('morning-report', report)\n"
            "    await ctx.step.run('send', send)\n"
        ),
    ),
    Rule(
        "STP102",
        "step-kind-changed",
        "a step reached as another kind than stored (stored as a sleep, now a `step.run`)",
        "Give each kind of step its own id, and decide between them with a value stored by a step",
        "A step id names one stored result. When the code asks for that id as another kind of step (a sleep "
        "where a `step.run` was stored), the stored value is read as the wrong thing: a sleep's nothing becomes "
        "the step's output.",
        fn(
            "    if random.random() < 0.5:\n"
            "        await ctx.step.sleep('pause', timedelta(minutes=5))\n"
            "    else:\n"
            "        await ctx.step.run('pause', lambda: None)\n"
        ),
        fn(
            "    wait = await ctx.step.run('coin', lambda: random.random() < 0.5)\n"
            "    if wait:\n"
            "        await ctx.step.sleep('pause', timedelta(minutes=5))\n"
        ),
    ),
    Rule(
        "STP103",
        "step-order-changed",
        "stored steps reached in another order than the one they ran in",
        "Decide the order with a value stored by a step (or keep a fixed order)",
        "Steps that ran one after the other may depend on each other (a charge before a receipt). When a call "
        "reaches them in another order, the code sees results in an order that never happened, and what it does "
        "next may be wrong.",
        fn(
            "    channels = ['email', 'sms']\n"
            "    if time.time() % 2 < 1:\n"
            "        channels.reverse()\n"
            "    for channel in channels:\n"
            "        await ctx.step.run(channel, notify, channel)\n"
        ),
        fn(
            "    first = await ctx.step.run('pick-first', lambda: 'sms' if time.time() % 2 < 1 else 'email')\n"
            "    channels = [first, 'email' if first == 'sms' else 'sms']\n"
            "    for channel in channels:\n"
            "        await ctx.step.run(channel, notify, channel)\n"
        ),
    ),
    Rule(
        "STP104",
        "unknown-step-targeted",
        "the engine asked the app to run a planned step that the code does not reach any more",
        "Use step ids that stay the same across calls and deploys (no clock, randomness or counters in them)",
        "The engine runs a planned step by its id in a later call. When that id is built from a value that "
        "changes between calls, or a deploy renamed the step, the code never meets it: the official SDKs answer "
        "that the step was not found, and the work is planned again under a new id.",
        fn("    await ctx.step.run(f'charge-{int(time.time())}', charge)\n"),
        fn("    await ctx.step.run('charge', charge)\n"),
    ),
]

FINDINGS = {finding.code: finding for finding in FINDING_LIST}
