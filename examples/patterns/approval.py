"""Human approval: a run waits up to three days for a manager's decision, then decides on its own."""

from __future__ import annotations

from typing import Any

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="expenses")


@client.create_function(fn_id="approve-expense", trigger=stepstone.TriggerEvent(event="expense/submitted"))
async def approve_expense(ctx: stepstone.Context) -> dict[str, Any]:
    expense = ctx.event.data

    await ctx.step.run(
        "ask-manager", services.mailer.send, expense["manager"], f"Approve expense {expense['expense_id']}?"
    )
    decision = await ctx.step.wait_for_event(
        "wait-for-decision",
        event="expense/decided",
        if_exp="async.data.expense_id == event.data.expense_id",  # this expense's decision, not any
        timeout="3d",
    )
    if decision is None:  # three days passed without an answer
        outcome = "expired"
    elif decision.data["approved"]:
        outcome = "approved"
    else:
        outcome = "rejected"
    await ctx.step.run("tell-employee", services.mailer.send, expense["employee"], f"Your expense was {outcome}")
    return {"expense_id": expense["expense_id"], "outcome": outcome}


functions = [approve_expense]
