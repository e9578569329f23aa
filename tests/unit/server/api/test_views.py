"""Records as the REST API shows them."""

from __future__ import annotations

from stepstone.protocol.stepids import hash_step_id
from stepstone.server.api import views
from stepstone.server.store.records import AttemptRecord, RunRecord, RunStatus, StepRecord, StepStatus


def test_failed_attempts_name_their_step_as_the_user_wrote_it() -> None:
    run = RunRecord("run", "fn-uuid", "app-fn", 1, None, "event", RunStatus.COMPLETED, created_at=0)
    hashed = hash_step_id("charge")
    steps = [StepRecord("run", hashed, "charge", 0, "StepRun", StepStatus.COMPLETED, memo_json='{"data": 1}')]
    attempts = [
        AttemptRecord("run", hashed, 0, '{"name": "Error", "message": "declined"}', at=0),
        AttemptRecord("run", "", 1, '{"name": "Error", "message": "the function failed"}', at=0),
    ]
    view = views.run(run, events=[], steps=steps, attempts=attempts)
    assert [(a["step_id"], a["hashed_step_id"], a["attempt"]) for a in view["attempts"]] == [
        ("charge", hashed, 0),
        (None, None, 1),
    ]
