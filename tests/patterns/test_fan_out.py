"""Fan-out (docs/patterns/fan-out.md): one event starts three functions, and one of them starts a fourth."""

from __future__ import annotations

from examples.patterns import fan_out, services

from tests.patterns.conftest import Serve, run_of, settled


async def test_one_event_runs_every_function_that_listens_to_it(engine: Serve) -> None:
    harness = await engine(fan_out)
    event_id = await harness.send("app/user.signed-up", {"user_id": "u1", "email": "ann@example.com"})
    welcome = await run_of(harness, event_id, "accounts-send-welcome-email")
    crm = await run_of(harness, event_id, "accounts-add-to-crm")
    trial = await run_of(harness, event_id, "accounts-start-trial")
    assert (welcome["status"], crm["output"], trial["output"]) == (
        "Completed",
        "u1",
        {"user_id": "u1", "plan": "trial"},
    )
    [synced] = await settled(harness, "accounts-sync-contact")
    assert synced["status"] == "Completed"
    assert sorted(services.mailer.sent) == [
        ("ann@example.com", "Welcome aboard"),
        ("sales@example.com", "ann@example.com"),
    ]
    assert services.crm.contacts == {"u1": {"email": "ann@example.com"}}


async def test_a_follow_up_event_sent_again_with_its_id_starts_no_second_run(engine: Serve) -> None:
    harness = await engine(fan_out)
    await harness.send("app/user.signed-up", {"user_id": "u2", "email": "bob@example.com"})
    await settled(harness, "accounts-sync-contact")
    # The same announcement again, as a retried send would make it: the id marks it a duplicate.
    again = await harness.send("crm/contact.created", {"user_id": "u2"}, id="contact-created-u2")
    answer = (await harness.http.get(f"/v1/events/{again}/runs")).json()
    assert answer["data"] == [] and "duplicate" in answer["skipped"][0]["reason"]
    assert len(await settled(harness, "accounts-sync-contact")) == 1
