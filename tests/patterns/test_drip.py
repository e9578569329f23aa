"""Drip campaign (docs/patterns/drip.md): emails spaced by sleeps on the fake clock."""

from __future__ import annotations

from datetime import timedelta

from examples.patterns import drip, services

from tests.patterns.conftest import Serve, run_of, step_reached

USER = {"user_id": "u1", "email": "ann@example.com"}


async def test_the_tip_waits_a_day_and_the_nudge_three_more(engine: Serve) -> None:
    harness = await engine(drip)
    event_id = await harness.send("app/user.signed-up", USER)
    await step_reached(harness, event_id, "wait-a-day", "Sleeping")
    assert services.mailer.sent == [("ann@example.com", "Welcome!")]
    await harness.advance(timedelta(hours=23))
    await step_reached(harness, event_id, "wait-a-day", "Sleeping")  # still asleep after 23 hours
    run = await run_of(harness, event_id, "marketing-onboarding-drip", step=timedelta(hours=6))
    assert run["output"] == ["msg-1", "msg-2", "msg-3"]
    assert [subject for _, subject in services.mailer.sent] == [
        "Welcome!",
        "Tip: invite your team",
        "Your trial ends soon",
    ]


async def test_an_upgrade_skips_the_nudge(engine: Serve) -> None:
    harness = await engine(drip)
    event_id = await harness.send("app/user.signed-up", USER)
    await step_reached(harness, event_id, "wait-a-day", "Sleeping")
    await harness.advance(timedelta(days=1, minutes=1))
    await step_reached(harness, event_id, "wait-for-upgrade", "Waiting")
    await harness.send("billing/plan.upgraded", {"user_id": "u1"})
    run = await run_of(harness, event_id, "marketing-onboarding-drip")
    assert run["output"] == ["msg-1", "msg-2"]


async def test_deleting_the_account_cancels_the_sleeping_run(engine: Serve) -> None:
    harness = await engine(drip)
    event_id = await harness.send("app/user.signed-up", USER)
    await step_reached(harness, event_id, "wait-a-day", "Sleeping")
    await harness.send("app/user.deleted", {"user_id": "u2"})  # another user's account
    await harness.send("app/user.deleted", {"user_id": "u1"})
    run = await run_of(harness, event_id, "marketing-onboarding-drip")
    assert run["status"] == "Cancelled"
    await harness.advance(timedelta(days=5))
    assert services.mailer.sent == [("ann@example.com", "Welcome!")]
