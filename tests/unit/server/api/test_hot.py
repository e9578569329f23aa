"""The hot router and the framework routes share one error table and one auth check.

The hot router (`api.hot`) answers events and checkpoints ahead of FastAPI; every other route is
FastAPI's. An exception raised behind either gets the same status and body, from `api.errors`; a
key is checked by the same function of `api.auth`. Each hot route is also declared to the framework
(for the OpenAPI document), with the same handler behind it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from stepstone.server.api import auth, errors, events, hot, sdk
from stepstone.server.api.app import create_app
from stepstone.server.api.errors import APIError
from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine, RunEndedError
from stepstone.server.store.base import UnstorableValueError
from stepstone.server.store.sqlite.store import SqliteStore
from tests.integration.offline import NoNetwork

RUN_ID = "01KB0000000000000000000000"
SIGNING_KEY = "signkey-prod-" + "ab" * 32
CHECKPOINT = {"run_id": RUN_ID, "qi_id": "q", "steps": []}
Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def started(tmp_path: Path, settings: EngineSettings) -> Engine:
    engine = Engine(SqliteStore(tmp_path / "stepstone.db"), settings, transport=NoNetwork())
    await engine.start(release_all_leases=True)
    return engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    engine = await started(tmp_path, EngineSettings())
    yield engine
    await engine.stop()
    await engine.store.close()


@pytest.fixture
async def production(tmp_path: Path) -> AsyncIterator[Engine]:
    engine = await started(tmp_path, EngineSettings(dev=False, signing_key=SIGNING_KEY, event_keys=("ek",)))
    yield engine
    await engine.stop()
    await engine.store.close()


def client(app: FastAPI) -> httpx.AsyncClient:
    # The framework's last-resort handler answers a 500, then raises again for the server to log.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8288")


def without_hot_router(app: FastAPI) -> FastAPI:
    """The same app, its hot routes answered by their framework declarations."""
    app.user_middleware = [entry for entry in app.user_middleware if cast(object, entry.cls) is not hot.HotRouter]
    return app


def answered_by(engine: Engine, method: str, exc: Exception) -> None:
    async def broken(*args: object, **kwargs: object) -> Any:
        raise exc

    setattr(engine, method, broken)


# the hot requests, and framework requests, each reaching an engine method a test breaks
HOT: dict[str, tuple[str, Call]] = {
    "POST /e/{key}": ("send_events", lambda http: http.post("/e/key", json={"name": "a/b"})),
    "POST /v1/checkpoint": ("checkpoint", lambda http: http.post(f"/v1/checkpoint/{RUN_ID}/async", json=CHECKPOINT)),
}
FRAMEWORK: dict[str, tuple[str, Call]] = {
    "DELETE /v1/runs/{id}": ("cancel_run", lambda http: http.delete(f"/v1/runs/{RUN_ID}")),
    "POST /v1/functions/{id}/invoke": ("invoke", lambda http: http.post("/v1/functions/f/invoke", json={})),
}
RAISED = [
    pytest.param(APIError(418, "short and stout", ids=[]), 418, id="APIError"),
    pytest.param(UnstorableValueError("a NUL character"), 400, id="UnstorableValueError"),
    pytest.param(RunEndedError(RUN_ID), 409, id="RunEndedError"),
    pytest.param(RuntimeError("the disk is on fire"), 500, id="unexpected"),
]


@pytest.mark.parametrize(("exc", "status"), RAISED)
async def test_an_exception_gets_the_same_answer_from_the_hot_router_and_the_framework(
    engine: Engine, exc: Exception, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    answers: dict[str, tuple[int, Any]] = {}
    async with client(create_app(engine)) as http:
        for name, (method, send) in {**HOT, **FRAMEWORK}.items():
            answered_by(engine, method, exc)
            response = await send(http)
            answers[name] = (response.status_code, response.json())
    async with client(without_hot_router(create_app(engine))) as http:
        for name, (method, send) in HOT.items():
            answered_by(engine, method, exc)
            response = await send(http)
            answers[f"{name} (framework declaration)"] = (response.status_code, response.json())
    assert {answer[0] for answer in answers.values()} == {status}, answers
    assert len({repr(answer) for answer in answers.values()}) == 1, answers
    logged = [record for record in caplog.records if record.getMessage().startswith("unexpected error on")]
    assert len(logged) == (len(answers) if status == 500 else 0)
    assert all("/e/key" not in record.getMessage() for record in logged)  # the key is redacted


async def test_every_row_of_the_table_answers_the_framework_routes_too(engine: Engine) -> None:
    assert set(errors.ERRORS) <= set(create_app(engine).exception_handlers)


async def test_the_hot_routes_and_the_framework_routes_check_the_signing_key_in_one_place(
    production: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []

    def spy(settings: EngineSettings, authorization: str | None) -> None:
        seen.append(authorization)
        raise APIError(401, "the spy says no")

    monkeypatch.setattr(auth, "check_signing_key", spy)
    headers = {"authorization": "Bearer nope"}
    async with client(create_app(production)) as http:
        answers = [
            await http.post(f"/v1/checkpoint/{RUN_ID}/async", json=CHECKPOINT, headers=headers),  # hot
            await http.get("/v1/runs", headers=headers),  # REST
            await http.get(f"/v0/runs/{RUN_ID}/actions", headers=headers),  # SDK, framework
            await http.post("/fn/register", json={}, headers=headers),  # sync
        ]
    assert [(answer.status_code, answer.json()) for answer in answers] == [
        (401, {"error": "the spy says no", "status": 401})
    ] * 4
    assert seen == ["Bearer nope"] * 4


async def test_a_missing_key_gets_the_same_401_on_hot_and_framework_routes(production: Engine) -> None:
    async with client(create_app(production)) as http:
        hot_answer = await http.post(f"/v1/checkpoint/{RUN_ID}/async", json=CHECKPOINT)
        rest_answer = await http.get("/v1/runs")
        event_answer = await http.post("/e/wrong", json={"name": "a/b"})
    assert hot_answer.status_code == rest_answer.status_code == 401
    assert hot_answer.json() == rest_answer.json() == {"error": auth.SIGNING_KEY_REFUSED, "status": 401}
    assert event_answer.status_code == 401
    assert event_answer.json() == {"error": auth.EVENT_KEY_REFUSED, "status": 401, "ids": []}


async def test_the_event_key_check_is_the_auth_modules(production: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def spy(settings: EngineSettings, event_key: str) -> None:
        seen.append(event_key)

    monkeypatch.setattr(auth, "check_event_key", spy)
    async with client(create_app(production)) as http:
        answer = await http.post("/e/any-key", json={"name": "a/b"})
    assert answer.status_code == 200 and seen == ["any-key"]


def test_the_router_takes_posts_to_the_hot_paths_only(engine: Engine) -> None:
    async def framework(*args: object) -> None:
        raise AssertionError("not reached")

    router = hot.HotRouter(framework, engine, [events.SEND_EVENTS, sdk.CHECKPOINT])
    assert router.match("POST", "/e/some key") == (events.send_events, "some key")
    assert router.match("POST", f"/v1/checkpoint/{RUN_ID}/async") == (sdk.checkpoint, RUN_ID)
    for method, path in [
        ("GET", "/e/key"),
        ("POST", "/e/key/"),
        ("POST", "/e/"),
        ("POST", "/e/a/b"),
        ("POST", "/v1/runs"),
    ]:
        assert router.match(method, path) is None


async def test_the_framework_declarations_answer_other_methods_and_a_trailing_slash(engine: Engine) -> None:
    async with client(create_app(engine)) as http:
        assert (await http.get("/e/key")).json() == {"error": "Method Not Allowed", "status": 405}
        assert (await http.get(f"/v1/checkpoint/{RUN_ID}/async")).status_code == 405
        redirected = await http.post("/e/key/", json={"name": "a/b"})
        assert redirected.status_code == 307 and redirected.headers["location"].endswith("/e/key")


async def test_the_openapi_document_describes_the_hot_routes(engine: Engine) -> None:
    paths = create_app(engine).openapi()["paths"]
    for route in (events.SEND_EVENTS, sdk.CHECKPOINT):
        operation = paths[route.path]["post"]
        assert operation["summary"] == route.summary
        assert operation["operationId"].startswith(route.handler.__name__)  # as before the hot router
        assert [parameter["name"] for parameter in operation["parameters"]] == [route.parameter]
        assert operation["requestBody"]["content"]["application/json"]["schema"] == route.request_body


async def test_the_access_log_sees_the_hot_routes_answers(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="stepstone.access")
    async with client(create_app(engine)) as http:
        response = await http.post("/e/secret", json={"name": "a/b"})
    assert response.headers["x-inngest-server-kind"] == "dev"
    assert [record.getMessage().rsplit(" ", 1)[0] for record in caplog.records] == ["POST /e/<redacted> 200"]
