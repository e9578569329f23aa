"""Human approval (docs/patterns/approval.md): a decision in time, and no decision at all."""

from __future__ import annotations

from datetime import timedelta

from examples.patterns import approval, services

from tests.patterns.conftest import Serve, run_of, step_reached

EXPENSE = {"expense_id": "E-7", "manager": "boss@example.com", "employee": "ann@example.com"}


async def test_the_managers_decision_resumes_the_waiting_run(engine: Serve) -> None:
    harness = await engine(approval)
    event_id = await harness.send("expense/submitted", EXPENSE)
    await step_reached(harness, event_id, "wait-for-decision", "Waiting")
    await harness.send("expense/decided", {"expense_id": "E-6", "approved": False})  # another expense's
    await harness.send("expense/decided", {"expense_id": "E-7", "approved": True})
    run = await run_of(harness, event_id, "expenses-approve-expense")
    assert run["output"] == {"expense_id": "E-7", "outcome": "approved"}
    assert services.mailer.sent == [
        ("boss@example.com", "Approve expense E-7?"),
        ("ann@example.com", "Your expense was approved"),
    ]


async def test_without_a_decision_the_wait_times_out_after_three_days(engine: Serve) -> None:
    harness = await engine(approval)
    event_id = await harness.send("expense/submitted", EXPENSE)
    run = await run_of(harness, event_id, "expenses-approve-expense", step=timedelta(hours=12))
    assert run["output"] == {"expense_id": "E-7", "outcome": "expired"}
    assert services.mailer.sent[-1] == ("ann@example.com", "Your expense was expired")
