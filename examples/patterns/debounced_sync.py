"""Debounced sync: a contact edited ten times in a minute is written to the CRM once, with its last state."""

from __future__ import annotations

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="crm-sync")


@client.create_function(
    fn_id="sync-contact",
    trigger=stepstone.TriggerEvent(event="app/contact.updated"),
    # Start once 2 quiet minutes follow the last update of a contact, and never later than 10 minutes
    # after its first, so a contact edited all day still syncs.
    debounce=stepstone.Debounce(period="2m", key="event.data.contact_id", timeout="10m"),
)
async def sync_contact(ctx: stepstone.Context) -> str:
    contact = ctx.event.data  # the last event of the burst
    await ctx.step.run("write-to-crm", services.crm.upsert, contact["contact_id"], contact["fields"])
    return str(contact["contact_id"])


functions = [sync_contact]
