"""The serve endpoint: headers, signatures, inspection, sync, use_api and bad requests."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

import stepstone
from stepstone.protocol import headers, signing
from stepstone.sdk.comm import CommHandler, CommRequest

from .helpers import URL, body, call, data, handler, request

KEY = "signkey-prod-" + "12" * 32
FALLBACK = "signkey-prod-" + "34" * 32
EVENT = stepstone.TriggerEvent(event="app/go")


def prod_client(**kwargs: Any) -> stepstone.Stepstone:
    return stepstone.Stepstone("app", environ={}, signing_key=KEY, **kwargs)


def hello(client: stepstone.Stepstone) -> stepstone.Function:
    @client.create_function(fn_id="hello", trigger=EVENT, retries=2)
    async def fn(ctx: stepstone.Context) -> str:
        return "hi"

    return fn


def signed(raw: bytes, key: str, *, at: int | None = None) -> dict[str, str]:
    return {headers.SIGNATURE: signing.sign_request(raw, key, at=at or int(time.time()))}


async def test_every_answer_carries_the_sdk_headers(client: stepstone.Stepstone) -> None:
    fn = hello(client)
    response = await call(handler(client, [fn]), fn)
    assert response.headers[headers.SDK].startswith("stepstone-py:v")
    assert response.headers[headers.SDK_HANDLED] == "true"
    assert response.headers[headers.REQUEST_VERSION] == "2"
    assert response.headers[headers.FRAMEWORK] == "test"
    assert response.headers[headers.CONTENT_TYPE] == "application/json"


def test_production_mode_needs_a_signing_key() -> None:
    unsigned = stepstone.Stepstone("app", environ={})
    with pytest.raises(stepstone.sdk.errors.SigningKeyMissingError, match="signing key"):
        CommHandler(unsigned, [hello(unsigned)], framework="test")


@pytest.mark.parametrize(
    ("sign_with", "age", "status"),
    [(KEY, 0, 200), (FALLBACK, 0, 200), ("signkey-prod-" + "56" * 32, 0, 401), (KEY, 600, 401), (None, 0, 401)],
)
async def test_production_mode_checks_post_signatures(sign_with: str | None, age: int, status: int) -> None:
    client = prod_client(signing_key_fallback=FALLBACK)
    fn = hello(client)
    raw = body()
    extra = signed(raw, sign_with, at=int(time.time()) - age) if sign_with else {}
    response = await handler(client, [fn]).handle(request(fn.id, raw, headers=extra))
    assert response.status == status
    if status == 401:
        assert data(response) == {"message": "Unauthorized"}
        assert headers.SIGNATURE not in response.headers
    else:
        assert signing.verify_response(response.body, response.headers[headers.SIGNATURE], [sign_with or ""], now=None)


async def test_dev_mode_checks_nothing(client: stepstone.Stepstone) -> None:
    fn = hello(client)
    response = await handler(client, [fn]).handle(request(fn.id, body(), headers={headers.SIGNATURE: "t=1&s=bad"}))
    assert response.status == 200


async def test_inspection(client: stepstone.Stepstone) -> None:
    fn = hello(client)
    answer = await handler(client, [fn]).handle(CommRequest("GET", URL, {}))
    assert data(answer) == {
        "schema_version": "2024-05-24",
        "function_count": 1,
        "has_event_key": False,
        "has_signing_key": False,
        "has_signing_key_fallback": False,
        "mode": "dev",
    }
    prod = prod_client(event_key="ek")
    h = handler(prod, [hello(prod)])
    assert (await h.handle(CommRequest("GET", URL, {}))).status == 401
    authed = data(await h.handle(CommRequest("GET", URL, signed(b"", KEY))))
    assert authed["authentication_succeeded"] is True
    assert authed["signing_key_hash"] == signing.hash_signing_key(KEY)
    assert (authed["mode"], authed["app_id"], authed["has_event_key"]) == ("cloud", "app", True)


class Registry:
    def __init__(self, status: int = 200, answer: Any = None) -> None:
        self.status, self.answer = status, answer or {"ok": True}
        self.requests: list[httpx.Request] = []

    def __call__(self, req: httpx.Request) -> httpx.Response:
        self.requests.append(req)
        return httpx.Response(self.status, json=self.answer)


async def test_put_registers_the_app() -> None:
    registry = Registry()
    client = prod_client(transport=httpx.MockTransport(registry), app_version="1.2")
    fn = hello(client)
    h = handler(client, [fn])
    response = await h.handle(CommRequest("PUT", "http://app.test:8000/api/inngest?x=1", {}, b"", {"deployId": "d1"}))
    assert (response.status, data(response)) == (200, {"message": "Successfully registered"})
    [sent] = registry.requests
    assert str(sent.url) == "http://127.0.0.1:8288/fn/register?deployId=d1"
    assert sent.headers["authorization"] == f"Bearer {signing.bearer_token(KEY)}"
    payload = json.loads(sent.content)
    assert {k: payload[k] for k in ("appName", "url", "framework", "v", "deployType", "appVersion")} == {
        "appName": "app",
        "url": "http://app.test:8000/api/inngest",
        "framework": "test",
        "v": "0.1",
        "deployType": "ping",
        "appVersion": "1.2",
    }
    assert payload["sdk"].startswith("stepstone-py:v")
    assert payload["capabilities"] == {"trust_probe": "v1"}
    [config] = payload["functions"]
    assert config["steps"]["step"]["runtime"]["url"] == "http://app.test:8000/api/inngest?fnId=app-hello&stepId=step"
    assert config["steps"]["step"]["retries"] == {"attempts": 2}


async def test_put_advertises_the_configured_origin_and_path() -> None:
    registry = Registry()
    client = stepstone.Stepstone(
        "app",
        is_dev=True,
        environ={"STEPSTONE_SERVE_ORIGIN": "myapp.local:9000"},
        transport=httpx.MockTransport(registry),
    )
    h = CommHandler(client, [hello(client)], framework="test", serve_path="/hooks/stepstone")
    await h.handle(CommRequest("PUT", URL, {}))
    assert json.loads(registry.requests[0].content)["url"] == "http://myapp.local:9000/hooks/stepstone"
    assert "authorization" not in registry.requests[0].headers


async def test_put_passes_on_the_engine_error() -> None:
    client = stepstone.Stepstone(
        "app", is_dev=True, environ={}, transport=httpx.MockTransport(Registry(400, {"error": "bad function"}))
    )
    response = await handler(client, [hello(client)]).handle(CommRequest("PUT", URL, {}))
    assert (response.status, data(response)) == (400, {"code": "registration_failed", "message": "bad function"})


def test_put_with_the_sync_handler() -> None:
    registry = Registry()
    client = stepstone.Stepstone("app", is_dev=True, environ={}, sync_transport=httpx.MockTransport(registry))
    response = handler(client, [hello(client)]).handle_sync(CommRequest("PUT", URL, {}))
    assert response.status == 200
    assert len(registry.requests) == 1


async def test_use_api_fetches_events_and_memos() -> None:
    seen: list[httpx.Request] = []

    def engine(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        if req.url.path.endswith("/batch"):
            return httpx.Response(200, json=[{"name": "app/go", "data": {"big": True}}])
        return httpx.Response(200, json={stepstone.protocol.stepids.hash_step_id("a"): {"data": 41}})

    client = stepstone.Stepstone("app", is_dev=True, environ={}, signing_key=KEY, transport=httpx.MockTransport(engine))

    @client.create_function(fn_id="big", trigger=EVENT)
    async def fn(ctx: stepstone.Context) -> Any:
        return [ctx.events[0].data, await ctx.step.run("a", lambda: 0)]

    raw = json.loads(body())
    raw.update(use_api=True, steps={}, events=[])
    response = await handler(client, [fn]).handle(request(fn.id, json.dumps(raw).encode()))
    assert data(response) == [{"big": True}, 41]
    assert [r.url.path for r in seen] == ["/v0/runs/run1/batch", "/v0/runs/run1/actions"]
    assert seen[0].headers["authorization"] == f"Bearer {signing.bearer_token(KEY)}"


@pytest.mark.parametrize(
    ("fn_id", "raw", "status", "code"),
    [
        ("app-hello", b"not json", 400, "body_invalid"),
        ("app-hello", b'{"event": {}}', 400, "body_invalid"),
        ("app-nope", body(), 500, "function_not_found"),
    ],
)
async def test_bad_requests_get_json_errors(
    client: stepstone.Stepstone, fn_id: str, raw: bytes, status: int, code: str
) -> None:
    response = await handler(client, [hello(client)]).handle(request(fn_id, raw))
    assert response.status == status
    assert data(response)["code"] == code


async def test_trust_probe_and_other_methods(client: stepstone.Stepstone) -> None:
    h = handler(client, [hello(client)])
    probe = await h.handle(CommRequest("POST", URL, {}, b"", {"probe": "trust"}))
    assert (probe.status, data(probe)) == (200, None)
    assert (await h.handle(CommRequest("DELETE", URL, {}))).status == 405


async def test_register_retries_with_the_fallback_key_on_401() -> None:
    seen: list[httpx.Request] = []

    def engine(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(401 if len(seen) == 1 else 200, json={})

    client = prod_client(signing_key_fallback=FALLBACK, transport=httpx.MockTransport(engine))
    response = await handler(client, [hello(client)]).handle(CommRequest("PUT", URL, {}))
    assert response.status == 200
    assert [r.headers["authorization"] for r in seen] == [
        f"Bearer {signing.bearer_token(KEY)}",
        f"Bearer {signing.bearer_token(FALLBACK)}",
    ]
