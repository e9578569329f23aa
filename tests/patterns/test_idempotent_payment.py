"""Idempotent payment (docs/patterns/idempotent-payment.md): one charge per invoice."""

from __future__ import annotations

from datetime import timedelta

from examples.patterns import idempotent_payment, services

from tests.patterns.conftest import Serve, run_of

INVOICE = {"invoice_id": "in_42", "customer": "cus_1", "cents": 1999}


async def test_a_lost_answer_is_retried_without_a_second_charge(engine: Serve) -> None:
    harness = await engine(idempotent_payment)
    services.payments.lose_answers = 2  # the card is charged, but the first two answers never arrive
    event_id = await harness.send("billing/invoice.due", INVOICE)
    run = await run_of(harness, event_id, "billing-charge-invoice", step=timedelta(minutes=1))
    assert run["output"] == {"invoice_id": "in_42", "charge_id": "ch_invoice-in_42"}
    assert services.payments.charges == {"invoice-in_42": 1999}
    attempts = [step for step in run["steps"] if step["id"] == "charge-card"]
    assert attempts and attempts[0]["status"] == "Completed"


async def test_the_same_invoice_sent_twice_starts_one_run(engine: Serve) -> None:
    harness = await engine(idempotent_payment)
    first = await harness.send("billing/invoice.due", INVOICE)
    await run_of(harness, first, "billing-charge-invoice")
    second = await harness.send("billing/invoice.due", INVOICE)  # a new event id, the same invoice
    answer = (await harness.http.get(f"/v1/events/{second}/runs")).json()
    assert answer["data"] == [] and answer["skipped"]
    assert services.payments.charges == {"invoice-in_42": 1999}
