"""Idempotent payment: an invoice is charged once, however often its event is sent or its step retried."""

from __future__ import annotations

from typing import Any

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="billing")


@client.create_function(
    fn_id="charge-invoice",
    trigger=stepstone.TriggerEvent(event="billing/invoice.due"),
    idempotency="event.data.invoice_id",  # one run per invoice per 24 h, even for events with new ids
    retries=3,
)
async def charge_invoice(ctx: stepstone.Context) -> dict[str, Any]:
    invoice = ctx.event.data
    # The provider's idempotency key makes a retry after a lost answer return the first charge instead of
    # charging again: derived from the invoice, never from the clock, a random value or the attempt.
    charge_id = await ctx.step.run(
        "charge-card",
        lambda: services.payments.charge(
            invoice["customer"], invoice["cents"], idempotency_key=f"invoice-{invoice['invoice_id']}"
        ),
    )
    await ctx.step.send_event(
        "announce-payment",
        stepstone.Event(
            name="billing/invoice.paid",
            id=f"invoice-paid-{invoice['invoice_id']}",  # a second send of this event is dropped
            data={"invoice_id": invoice["invoice_id"], "charge_id": charge_id},
        ),
    )
    return {"invoice_id": invoice["invoice_id"], "charge_id": charge_id}


functions = [charge_invoice]
