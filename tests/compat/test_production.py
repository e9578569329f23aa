"""Production mode: `stepstone start` with keys, and apps in the SDKs' cloud mode.

The apps know the engine only from `INNGEST_BASE_URL`, `INNGEST_SIGNING_KEY` and `INNGEST_EVENT_KEY`
(and `INNGEST_DEV=0`, which the TypeScript SDK needs to leave dev mode). Every call the engine makes
is signed and every answer's signature checked, so a run that completes proves both directions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.compat.stack import FUNCTION_COUNTS, PYTHON, TYPESCRIPT, TYPESCRIPT_CLASSIC, App, Engine, Stack, wait_until

pytestmark = pytest.mark.slow
compat = pytest.mark.compat

SIGNING_KEY = "signkey-test-" + "5e3a" * 16
WRONG_KEY = "signkey-test-" + "9b07" * 16
EVENT_KEY = "compat-event-key"


@pytest.fixture(scope="module", params=[PYTHON, TYPESCRIPT, TYPESCRIPT_CLASSIC])
def sdk(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def production(
    request: pytest.FixtureRequest, sdk: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, App]]:
    """A signed engine with two apps of `sdk`: one with the engine's keys, one with wrong keys."""
    if sdk != PYTHON:
        request.getfixturevalue("ts_sdk")
    tmp = tmp_path_factory.mktemp(f"production-{sdk}")
    engine = Engine(tmp, signing_key=SIGNING_KEY, event_key=EVENT_KEY)
    app = App(sdk, tmp, engine)
    impostor = App(sdk, tmp, engine, app_id="impostor", INNGEST_SIGNING_KEY=WRONG_KEY, INNGEST_EVENT_KEY="wrong")
    try:
        engine.start(app.url, impostor.url)
        app.start()
        impostor.start()
        engine.wait_synced(app.app_id, FUNCTION_COUNTS[sdk])
        yield Stack(engine, app), impostor
    finally:
        engine.stop()
        app.stop()
        impostor.stop()


@compat("Production", "signed calls and answers (`stepstone start --signing-key`), parallel steps")
def test_signed_runs_complete(production: tuple[Stack, App]) -> None:
    stack, _ = production
    token = uuid.uuid4().hex[:12]
    run = stack.engine.wait_run(stack.send("compat/parallel", token=token))
    assert run["output"] == [0, 10, 20, 30]


@compat("Production", "a step sends events with `INNGEST_EVENT_KEY`; checkpoints carry the signing key")
def test_steps_send_events_and_checkpoint_with_the_keys(production: tuple[Stack, App]) -> None:
    stack, _ = production
    event_id = stack.send("compat/fan-out", token=uuid.uuid4().hex[:12])
    run = stack.engine.wait_run(event_id)
    ids = run["output"] if isinstance(run["output"], list) else run["output"]["ids"]
    assert [stack.engine.wait_run(sent)["output"] for sent in ids] == [{"got": 1}, {"got": 2}]
    checkpoints = stack.engine.log.read_text().count(f"POST /v1/checkpoint/{run['run_id']}/async 200")
    assert (checkpoints > 0) == (stack.sdk == TYPESCRIPT)


@compat("Production", "the REST API needs `Authorization: Bearer <signing key>`")
def test_the_rest_api_needs_the_signing_key(production: tuple[Stack, App]) -> None:
    stack, _ = production
    assert stack.engine.http.get("/v1/apps").status_code == 200
    for headers in ({}, {"authorization": f"Bearer {WRONG_KEY}"}):
        assert httpx.get(f"{stack.engine.url}/v1/apps", headers=headers).status_code == 401


@compat("Production", "an app with another signing key and event key is refused, and `-u` says so")
def test_wrong_keys_are_refused(production: tuple[Stack, App]) -> None:
    stack, impostor = production
    # `-u` PUTs the app; the SDK registers out of band with a Bearer token from its (wrong) key.
    refused = f"could not sync {impostor.url}: "
    wait_until(
        lambda: any(refused in x and "Authentication failed" in x for x in stack.engine.log.read_text().splitlines()),
        what="the engine reporting the impostor's refused sync",
    )
    assert "POST /fn/register 401" in stack.engine.log.read_text()
    assert "impostor" not in [app["name"] for app in stack.engine.get("/v1/apps")["data"]]
    response = impostor.http.post("/send", json={"events": [{"name": "compat/child", "data": {"n": 1}}]})
    assert response.status_code == 500
    assert "401" in response.text or "Event key not found" in response.text
    assert stack.engine.get("/v1/events", name="compat/child")["data"] == []
