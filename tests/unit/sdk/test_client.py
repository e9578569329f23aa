"""Sending events: payload, seed reuse across retries, errors, keys."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import stepstone
from stepstone.protocol import events, headers, signing
from stepstone.sdk import errors, sending


class EventAPI:
    def __init__(self, *answers: tuple[int, Any] | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, req: httpx.Request) -> httpx.Response:
        self.requests.append(req)
        answer = self.answers.pop(0) if self.answers else (200, {"ids": ["id1", "id2"], "status": 200})
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer[0], json=answer[1])


def make_client(api: EventAPI, **kwargs: Any) -> stepstone.Stepstone:
    mock = httpx.MockTransport(api)
    return stepstone.Stepstone("app", environ={}, transport=mock, sync_transport=mock, **kwargs)


async def test_send_posts_a_json_array_and_returns_the_ids() -> None:
    api = EventAPI()
    client = make_client(api, is_dev=True, event_key="ek")
    ids = await client.send([stepstone.Event(name="a", data={"n": 1}), stepstone.Event(name="b", id="mine", ts=5)])
    assert ids == ["id1", "id2"]
    [sent] = api.requests
    assert str(sent.url) == "http://127.0.0.1:8288/e/ek"
    payload = json.loads(sent.content)
    assert payload[0]["name"] == "a" and "id" not in payload[0] and payload[0]["ts"] > 0
    assert (payload[1]["id"], payload[1]["ts"]) == ("mine", 5)
    assert events.parse_seed(sent.headers[headers.EVENT_ID_SEED]) is not None


async def test_the_seed_stays_the_same_across_retries_and_4xx_is_not_retried() -> None:
    api = EventAPI((503, {}), httpx.ConnectError("down"), (200, {"ids": ["x"], "status": 200}))
    client = make_client(api, is_dev=True)
    assert await client.send(stepstone.Event(name="a")) == ["x"]
    assert len({r.headers[headers.EVENT_ID_SEED] for r in api.requests}) == 1
    assert len(api.requests) == 3
    refused = EventAPI((400, {"error": "bad event", "ids": []}))
    with pytest.raises(errors.SendEventsError, match="bad event"):
        await make_client(refused, is_dev=True).send(stepstone.Event(name="a"))
    assert len(refused.requests) == 1


def test_send_gives_up_after_five_attempts() -> None:
    api = EventAPI(*[(500, {})] * 10)
    with pytest.raises(errors.SendEventsError):
        make_client(api, is_dev=True).send_sync(stepstone.Event(name="a"))
    assert len(api.requests) == sending.MAX_SEND_ATTEMPTS


def test_an_error_answer_carries_the_ids_accepted_before_it() -> None:
    api = EventAPI((400, {"ids": ["ok1"], "error": "event 2 is invalid"}))
    with pytest.raises(errors.SendEventsError) as caught:
        make_client(api, is_dev=True).send_sync([stepstone.Event(name="a"), stepstone.Event(name="")])
    assert caught.value.ids == ["ok1"]


def test_event_keys_by_mode() -> None:
    api = EventAPI()
    make_client(api, is_dev=True).send_sync(stepstone.Event(name="a"))
    assert api.requests[0].url.path == "/e/NO_EVENT_KEY_SET"
    with pytest.raises(errors.EventKeyUnspecifiedError, match="event key"):
        make_client(api).send_sync(stepstone.Event(name="a"))
    assert len(api.requests) == 1


async def test_send_event_is_a_step_that_sends() -> None:
    api = EventAPI()
    client = make_client(api, is_dev=True)

    @client.create_function(fn_id="f", trigger=stepstone.TriggerEvent(event="go"))
    async def fn(ctx: stepstone.Context) -> list[str]:
        return await ctx.step.send_event("send", stepstone.Event(name="next"))

    from .helpers import call, handler, ops

    [op] = ops(await call(handler(client, [fn]), fn))
    assert (op["op"], op["opts"], op["data"]) == ("StepRun", {"type": "step.sendEvent"}, ["id1", "id2"])
    assert json.loads(api.requests[0].content)[0]["name"] == "next"


async def test_send_signal_posts_name_and_data_signed_and_returns_the_run() -> None:
    api = EventAPI((200, {"data": {"run_id": "01RUN"}}))
    client = make_client(api, is_dev=False, signing_key="signkey-prod-abc123", event_key="ek")
    assert await client.send_signal("approve-A-1", {"by": "ana"}) == "01RUN"
    [sent] = api.requests
    assert (sent.method, str(sent.url)) == ("POST", "http://127.0.0.1:8288/v1/signals")
    assert json.loads(sent.content) == {"signal": "approve-A-1", "data": {"by": "ana"}}
    assert sent.headers[headers.AUTHORIZATION] == f"Bearer {signing.bearer_token('signkey-prod-abc123')}"


def test_a_signal_no_run_waits_for_is_none_and_a_refusal_an_error() -> None:
    client = make_client(EventAPI((404, {"error": "No signal found", "status": 404})), is_dev=True)
    assert client.send_signal_sync("nobody") is None
    refused = EventAPI((401, {"error": "wrong key", "status": 401}), (401, {"error": "wrong key", "status": 401}))
    client = make_client(
        refused, is_dev=False, signing_key="signkey-prod-aa11", signing_key_fallback="signkey-prod-bb22"
    )
    with pytest.raises(errors.SendSignalError, match="the engine answered 401: wrong key"):
        client.send_signal_sync("s")
    assert len(refused.requests) == 2  # the fallback key was tried too
