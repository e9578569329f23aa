"""Production mode: signed calls both ways, keys on every API, and no key in any log."""

from __future__ import annotations

import logging
from pathlib import Path

import fastapi
import inngest
import inngest.fast_api
import pytest

from stepstone.protocol import signing
from tests.harness import Harness, free_socket

SIGNING_KEY = "signkey-test-" + "ab12" * 16
OTHER_KEY = "signkey-test-" + "cd34" * 16
EVENT_KEY = "event-key-4f9a1c"


def official_app(engine_url: str, key: str) -> fastapi.FastAPI:
    client = inngest.Inngest(
        app_id="prod",
        is_production=True,
        signing_key=key,
        event_key=EVENT_KEY,
        api_base_url=engine_url,
        event_api_base_url=engine_url,
    )

    @client.create_function(fn_id="hello", trigger=inngest.TriggerEvent(event="prod/hello"), retries=0)
    async def hello(ctx: inngest.Context) -> str:
        step = await ctx.step.run("greet", lambda: f"hello {ctx.event.data['who']}")
        return str(step)

    app = fastapi.FastAPI()
    inngest.fast_api.serve(app, client, [hello])
    return app


@pytest.fixture
async def harness(tmp_path: Path):
    harness = Harness(tmp_path, dev=False, signing_key=SIGNING_KEY, event_keys=(EVENT_KEY,))
    harness.http.headers["authorization"] = f"Bearer {SIGNING_KEY}"
    await harness.start()
    yield harness
    await harness.stop()


async def test_signed_calls_run_and_keys_never_reach_the_logs(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    served = await harness.serve_app(official_app(harness.url, SIGNING_KEY), free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    response = await harness.http.post(f"/e/{EVENT_KEY}", json={"name": "prod/hello", "data": {"who": "ada"}})
    assert response.status_code == 200
    run = await harness.wait_run(response.json()["ids"][0])
    assert run["output"] == "hello ada"
    # Everything but the test's own HTTP client (httpx/httpcore log the URLs the test requests).
    engine_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(record.getMessage() for record in engine_records)
    assert "/e/<redacted>" in text
    for secret in (EVENT_KEY, SIGNING_KEY, signing.strip_key_prefix(SIGNING_KEY)):
        assert secret not in text


async def test_unknown_event_key_is_401(harness: Harness) -> None:
    response = await harness.http.post("/e/not-a-key", json={"name": "prod/hello"})
    assert response.status_code == 401
    assert response.json()["error"] == "Event key not found"


@pytest.mark.parametrize(
    "token", [SIGNING_KEY, signing.strip_key_prefix(SIGNING_KEY), signing.hash_signing_key(SIGNING_KEY)]
)
async def test_rest_api_accepts_the_key_plain_or_hashed(harness: Harness, token: str) -> None:
    response = await harness.http.get("/v1/runs", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200


@pytest.mark.parametrize("headers", [{}, {"authorization": f"Bearer {OTHER_KEY}"}, {"authorization": "Basic x"}])
async def test_rest_and_sdk_apis_reject_missing_or_wrong_keys(harness: Harness, headers: dict[str, str]) -> None:
    harness.http.headers.pop("authorization")
    for method, path in (("GET", "/v1/runs"), ("POST", "/fn/register"), ("GET", "/v0/runs/x/actions")):
        response = await harness.http.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert SIGNING_KEY not in response.text


async def test_an_app_with_another_key_cannot_register(harness: Harness) -> None:
    served = await harness.serve_app(official_app(harness.url, OTHER_KEY), free_socket())
    await harness.engine.syncer.ping(f"{served.url}/api/inngest")
    functions = (await harness.http.get("/v1/functions")).json()["data"]
    assert functions == []


async def test_a_call_signed_with_another_key_is_rejected_by_the_app(harness: Harness) -> None:
    good = await harness.serve_app(official_app(harness.url, SIGNING_KEY), free_socket())
    await harness.sync(f"{good.url}/api/inngest")
    # The app that actually serves the calls holds another key: the engine's signatures fail there.
    wrong = await harness.serve_app(official_app(harness.url, OTHER_KEY), free_socket())
    await harness.engine.store.transact(lambda tx: _point_functions_at(tx, good.url, wrong.url))
    await harness.engine.store.transact(lambda tx: tx.bump_functions_version())
    response = await harness.http.post(f"/e/{EVENT_KEY}", json={"name": "prod/hello", "data": {"who": "x"}})
    run = await harness.wait_run(response.json()["ids"][0], status="Failed")
    assert run["attempts"][0]["error"]["name"] == "SignatureError" or "401" in run["attempts"][0]["error"]["error"]


def _point_functions_at(tx, old: str, new: str) -> None:
    for fn in tx.list_functions():
        fn.config_json = fn.config_json.replace(old, new)
        tx.upsert_function(fn)


async def test_start_requires_a_hex_signing_key() -> None:
    from click.testing import CliRunner

    from stepstone.cli.main import main

    result = CliRunner().invoke(main, ["start", "--signing-key", "not-hex", "--event-key", "k"])
    assert result.exit_code != 0
    assert "even-length hex" in result.output
    result = CliRunner().invoke(main, ["start", "--signing-key", "abcd"], env={"STEPSTONE_EVENT_KEY": ""})
    assert result.exit_code != 0
    assert "event-key" in result.output


def stepstone_app(engine_url: str, key: str):
    import fastapi

    import stepstone
    import stepstone.fastapi

    client = stepstone.Stepstone(
        app_id="ours", signing_key=key, event_key=EVENT_KEY, base_url=engine_url, is_dev=False, environ={}
    )

    @client.create_function(fn_id="greet", trigger=stepstone.TriggerEvent(event="prod/greet"), retries=0)
    async def greet(ctx: stepstone.Context) -> str:
        first = await ctx.step.run("first", lambda: "hello")
        second = await ctx.step.run("second", lambda: ctx.event.data["who"])
        return f"{first} {second}"

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [greet])
    return app, client


async def test_stepstone_sdk_in_production_mode_checkpoints_with_its_key(harness: Harness) -> None:
    app, client = stepstone_app(harness.url, SIGNING_KEY)
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    ids = await client.send(__import__("stepstone").Event(name="prod/greet", data={"who": "grace"}))
    run = await harness.wait_run(ids[0])
    assert run["output"] == "hello grace"
    assert [step["id"] for step in run["steps"]] == ["first", "second"]
    await client.aclose()


async def test_the_stepstone_sdk_rejects_unsigned_and_wrongly_signed_calls(harness: Harness) -> None:
    app, client = stepstone_app(harness.url, SIGNING_KEY)
    served = await harness.serve_app(app, free_socket())
    url = f"{served.url}/api/inngest?fnId=ours-greet&stepId=step"
    body = (
        b'{"event":{"name":"prod/greet","data":{}},"steps":{},"use_api":false,'
        b'"ctx":{"run_id":"r","attempt":0,"stack":{"stack":[]},"disable_immediate_execution":false}}'
    )
    import httpx

    async with httpx.AsyncClient() as http:
        unsigned = await http.post(url, content=body)
        forged = await http.post(
            url,
            content=body,
            headers={"x-inngest-signature": signing.sign_request(body, OTHER_KEY, at=int(__import__("time").time()))},
        )
        stale = await http.post(
            url,
            content=body,
            headers={
                "x-inngest-signature": signing.sign_request(body, SIGNING_KEY, at=int(__import__("time").time()) - 3600)
            },
        )
    assert unsigned.status_code == forged.status_code == stale.status_code == 401
    await client.aclose()
