"""Reading an app's answer to the sync PUT."""

from __future__ import annotations

import orjson

from stepstone.server.apps import syncer
from stepstone.server.core.transport import AppResponse


def answer(status: int, body: object) -> AppResponse:
    return AppResponse(status, {"content-type": "application/json"}, orjson.dumps(body))


def test_a_registered_app_has_no_problem() -> None:
    assert syncer.answer_problem(answer(200, {"ok": True, "modified": False, "app_id": "a", "sync_id": "s"})) is None
    assert syncer.answer_problem(answer(200, {"message": "Successfully registered", "modified": True})) is None
    assert syncer.answer_problem(AppResponse(200, {}, b"")) is None


def test_the_python_sdk_answers_200_with_the_engines_refusal() -> None:
    # inngest 0.5.19 answers the PUT with 200 and the engine's body when `POST /fn/register` failed.
    refused = answer(200, {"error": "Authentication failed: send Authorization: Bearer <signing key>", "status": 401})
    assert syncer.answer_problem(refused) == (
        "the app could not register: Authentication failed: send Authorization: Bearer <signing key>"
    )


def test_the_typescript_sdk_answers_with_the_engines_status() -> None:
    problem = syncer.answer_problem(answer(401, {"message": "Authentication failed", "modified": False}))
    assert problem is not None and problem.startswith("the app answered the sync with 401")
