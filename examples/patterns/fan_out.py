"""Fan-out: one event, many functions, each with its own retries, and a follow-up event sent once."""

from __future__ import annotations

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="accounts")


@client.create_function(fn_id="send-welcome-email", trigger=stepstone.TriggerEvent(event="app/user.signed-up"))
async def send_welcome_email(ctx: stepstone.Context) -> str:
    return await ctx.step.run("send-email", services.mailer.send, ctx.event.data["email"], "Welcome aboard")


@client.create_function(fn_id="add-to-crm", trigger=stepstone.TriggerEvent(event="app/user.signed-up"))
async def add_to_crm(ctx: stepstone.Context) -> str:
    user = ctx.event.data
    await ctx.step.run("upsert-contact", services.crm.upsert, user["user_id"], {"email": user["email"]})
    # Tell the rest of the system, once: the event id makes a retried or replayed send a duplicate
    # the engine ignores, and step.send_event memoizes the send itself.
    await ctx.step.send_event(
        "announce-contact",
        stepstone.Event(name="crm/contact.created", id=f"contact-created-{user['user_id']}", data=user),
    )
    return str(user["user_id"])


@client.create_function(fn_id="start-trial", trigger=stepstone.TriggerEvent(event="app/user.signed-up"))
async def start_trial(ctx: stepstone.Context) -> dict[str, str]:
    return {"user_id": ctx.event.data["user_id"], "plan": "trial"}


@client.create_function(fn_id="sync-contact", trigger=stepstone.TriggerEvent(event="crm/contact.created"))
async def sync_contact(ctx: stepstone.Context) -> str:
    return await ctx.step.run("notify-sales", services.mailer.send, "sales@example.com", ctx.event.data["email"])


functions = [send_welcome_email, add_to_crm, start_trial, sync_contact]
