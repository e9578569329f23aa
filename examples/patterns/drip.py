"""Drip campaign: a welcome email now, a tip after a day, a nudge after three more unless they upgraded."""

from __future__ import annotations

from datetime import timedelta

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="marketing")


@client.create_function(
    fn_id="onboarding-drip",
    trigger=stepstone.TriggerEvent(event="app/user.signed-up"),
    cancel=[stepstone.Cancel(event="app/user.deleted", if_exp="async.data.user_id == event.data.user_id")],
)
async def onboarding_drip(ctx: stepstone.Context) -> list[str]:
    email = ctx.event.data["email"]
    sent = [await ctx.step.run("welcome", services.mailer.send, email, "Welcome!")]
    await ctx.step.sleep("wait-a-day", timedelta(days=1))  # no worker is held while the run sleeps
    sent.append(await ctx.step.run("first-tip", services.mailer.send, email, "Tip: invite your team"))
    upgraded = await ctx.step.wait_for_event(
        "wait-for-upgrade",
        event="billing/plan.upgraded",
        if_exp="async.data.user_id == event.data.user_id",
        timeout=timedelta(days=3),  # a sleep that an upgrade can end early
    )
    if upgraded is None:
        sent.append(await ctx.step.run("nudge", services.mailer.send, email, "Your trial ends soon"))
    return sent


functions = [onboarding_drip]
