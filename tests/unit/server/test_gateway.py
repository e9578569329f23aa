"""The requests the engine makes for `step.ai.infer` and `step.fetch` (`execution.gateway`), with a fake transport."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from stepstone.protocol import opcodes
from stepstone.server.core.transport import AppResponse, TransportError
from stepstone.server.execution import gateway


class FakeTransport:
    def __init__(self, *answers: AppResponse | TransportError) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, bytes, dict[str, str]]] = []

    async def request(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, max_bytes: int
    ) -> AppResponse:
        self.sent.append((method, url, body, dict(headers)))
        answer = self.answers.pop(0)
        if isinstance(answer, TransportError):
            raise answer
        return answer

    async def close(self) -> None:
        pass


def op(kind: opcodes.Opcode, **opts: Any) -> opcodes.Op:
    return opcodes.Op(op=kind, id="h1", name="step", opts=opts)


async def carry(transport: FakeTransport, given: opcodes.Op) -> opcodes.Op:
    done, _ = await gateway.carry_out(transport, given, timeout=5, max_bytes=1000)
    return done


async def test_fetch_sends_the_method_headers_and_body_and_stores_any_status() -> None:
    answer = AppResponse(404, {"content-type": "text/plain"}, b"no such thing")
    transport = FakeTransport(answer)
    fetch = op(
        opcodes.Opcode.GATEWAY,
        url="https://api.example.com/x?token=abc",
        method="put",
        headers={"X-Id": "7"},
        body='{"a": 1}',
    )
    done = await carry(transport, fetch)
    [(method, url, body, headers)] = transport.sent
    assert (method, url, body) == ("PUT", "https://api.example.com/x?token=abc", b'{"a": 1}')
    assert headers == {"user-agent": "Stepstone", "X-Id": "7"}
    assert done.op == opcodes.Opcode.GATEWAY and done.error is None and done.opts is None
    assert done.data == {
        "url": "https://api.example.com/x",  # stored without the query
        "status_code": 404,
        "headers": {"content-type": "text/plain"},
        "body": "no such thing",
    }


async def test_a_no_content_answer_has_a_null_body_so_that_a_fetch_response_can_be_made_of_it() -> None:
    done = await carry(FakeTransport(AppResponse(204, {}, b"")), op(opcodes.Opcode.GATEWAY, url="http://h/x"))
    assert done.data["status_code"] == 204 and done.data["body"] is None
    assert (await carry(FakeTransport(AppResponse(200, {}, b"")), op(opcodes.Opcode.GATEWAY, url="http://h/"))).data[
        "body"
    ] == ""


async def test_no_answer_is_a_retryable_failure_that_names_the_url_without_its_query() -> None:
    transport = FakeTransport(TransportError("cannot connect to http://u:p@h:81/x?key=SECRET", kind="connect"))
    done = await carry(transport, op(opcodes.Opcode.GATEWAY, url="http://u:p@h:81/x?key=SECRET"))
    assert done.op == opcodes.Opcode.STEP_ERROR and done.opts is None and done.data is None
    assert done.error is not None and done.error.name == "GatewayError"
    assert done.error.message == "cannot connect to http://h:81/x" and "SECRET" not in str(done.error)


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({}, "the step names no URL to request"),
        ({"url": "file:///etc/passwd"}, "not an http(s) URL: file:///etc/passwd"),
        ({"url": "http://h:99999/"}, "not an http(s) URL: (an invalid URL)"),
        ({"url": "http://h/", "method": "BREW"}, "unsupported HTTP method 'BREW'"),
        ({"url": "http://h/", "headers": ["a"]}, "the step's headers are not an object"),
    ],
)
async def test_a_request_that_cannot_be_made_fails_the_step_without_retrying(
    opts: dict[str, Any], message: str
) -> None:
    transport = FakeTransport()
    done = await carry(transport, op(opcodes.Opcode.GATEWAY, **opts))
    assert transport.sent == []
    assert done.op == opcodes.Opcode.STEP_FAILED and done.error is not None
    assert (done.error.name, done.error.message) == ("InvalidStepError", message)


async def test_ai_requests_post_the_body_with_the_formats_authentication() -> None:
    ok = AppResponse(200, {}, b'{"ok": true}')
    cases = {
        "openai-chat": ("authorization", "Bearer K"),
        "grok": ("authorization", "Bearer K"),
        "bedrock": ("authorization", "K"),
        "anthropic": ("x-api-key", "K"),
    }
    for fmt, (name, value) in cases.items():
        transport = FakeTransport(ok)
        done = await carry(
            transport, op(opcodes.Opcode.AI_GATEWAY, url="https://m/v1", format=fmt, auth_key="K", body={"model": "m"})
        )
        [(method, _, body, headers)] = transport.sent
        assert (method, body, headers[name], headers["content-type"]) == (
            "POST",
            b'{"model":"m"}',
            value,
            "application/json",
        ), fmt
        assert done.data == {"ok": True}
    transport = FakeTransport(ok, ok)
    anthropic = op(opcodes.Opcode.AI_GATEWAY, url="https://m/v1", format="anthropic", auth_key="K")
    await carry(transport, anthropic)
    anthropic.opts = {**(anthropic.opts or {}), "headers": {"Anthropic-Version": "2024-01-01"}}
    await carry(transport, anthropic)
    assert transport.sent[0][3]["anthropic-version"] == "2023-06-01"
    assert transport.sent[1][3]["Anthropic-Version"] == "2024-01-01" and "anthropic-version" not in transport.sent[1][3]
    transport = FakeTransport(ok)
    await carry(transport, op(opcodes.Opcode.AI_GATEWAY, url="https://m/v1", format="gemini", auth_key="K"))
    assert transport.sent[0][1] == "https://m/v1?key=K" and "authorization" not in transport.sent[0][3]
    transport = FakeTransport(ok)  # the SDKs put the key in the URL already: not twice
    await carry(transport, op(opcodes.Opcode.AI_GATEWAY, url="https://m/v1?key=K", format="gemini", auth_key="K"))
    assert transport.sent[0][1] == "https://m/v1?key=K"


async def test_the_ops_own_headers_replace_the_defaults_whatever_their_case() -> None:
    transport = FakeTransport(AppResponse(200, {}, b"{}"))
    headers = {"Authorization": "Custom x", "Content-Type": "application/json; charset=utf-8"}
    await carry(transport, op(opcodes.Opcode.AI_GATEWAY, url="https://m/", auth_key="K", headers=headers))
    sent = transport.sent[0][3]
    assert {k.lower(): v for k, v in sent.items()} == {
        "authorization": "Custom x",
        "content-type": "application/json; charset=utf-8",
        "user-agent": "Stepstone",
    }


async def test_an_ai_answer_over_299_or_not_json_is_a_retryable_failure() -> None:
    failed = await carry(
        FakeTransport(AppResponse(429, {}, b"slow down")), op(opcodes.Opcode.AI_GATEWAY, url="http://m/")
    )
    assert failed.op == opcodes.Opcode.STEP_ERROR and failed.error is not None
    assert (failed.error.name, failed.error.message) == ("AIGatewayError", "http://m/ answered 429: slow down")
    html = await carry(FakeTransport(AppResponse(200, {}, b"<html>")), op(opcodes.Opcode.AI_GATEWAY, url="http://m/"))
    assert html.error is not None and html.error.message == "the answer of http://m/ is not JSON"


async def test_carry_out_all_keeps_other_ops_and_names_those_carried_out() -> None:
    ops = [
        op(opcodes.Opcode.AI_GATEWAY, url="http://m/"),
        opcodes.Op(op=opcodes.Opcode.STEP_RUN, id="h2", data=1),
        opcodes.Op(op=opcodes.Opcode.GATEWAY, id="h3", opts={"url": "http://m/"}),
    ]
    transport = FakeTransport(AppResponse(200, {}, b"{}"), AppResponse(500, {}, b"x"))
    done, carried, requests = await gateway.carry_out_all(transport, ops, timeout=5, max_bytes=100)
    assert [o.id for o in done] == ["h1", "h2", "h3"] and done[1] is ops[1]
    assert carried == frozenset({"h1", "h3"})  # a fetch's 500 is its answer, not a failure
    assert [(r.hashed_id, r.kind, r.status, r.error) for r in requests] == [
        ("h1", "ai", 200, None),
        ("h3", "fetch", 500, None),
    ]
    nothing = await gateway.carry_out_all(transport, ops[1:2], timeout=5, max_bytes=100)
    assert nothing == (ops[1:2], frozenset(), [])


async def test_what_the_observers_learn_of_a_request_holds_no_credentials() -> None:
    transport = FakeTransport(AppResponse(401, {}, b"bad key"))
    given = op(opcodes.Opcode.AI_GATEWAY, url="https://u:p@m/v1?key=SECRET", format="gemini", auth_key="SECRET")
    _, request = await gateway.carry_out(transport, given, timeout=5, max_bytes=100)
    assert (request.step_id, request.kind, request.method, request.status) == ("step", "ai", "POST", 401)
    assert request.url == "https://m/v1" and "SECRET" not in repr(request)
    assert request.error is not None and request.error.startswith("AIGatewayError: https://m/v1 answered 401")
    assert request.seconds >= 0
