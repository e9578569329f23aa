"""The serve endpoint, independent of any web framework: GET inspects, PUT syncs, POST executes.

Adapters (`stepstone.fastapi`, `stepstone.flask`) turn their request into a `CommRequest` and the
`CommResponse` back. `handle` serves async frameworks (plain functions then run in a thread pool);
`handle_sync` serves sync ones (async functions then run on a fresh event loop). In production mode
GET and POST must carry a valid signature, and answers to signed requests are signed.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stepstone.protocol import headers, signing
from stepstone.sdk import (
    errors,
    execution,
    execution_async,
    execution_sync,
    invocation,
    registration,
    settings,
    transport,
)
from stepstone.sdk.client import Stepstone
from stepstone.sdk.function import Function


@dataclass(frozen=True)
class CommRequest:
    """A request to the serve endpoint; header names are lower case."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls, *, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes, query: Mapping[str, str]
    ) -> CommRequest:
        return cls(method.upper(), url, {name.lower(): value for name, value in headers}, body, dict(query))


@dataclass(frozen=True)
class CommResponse:
    """An answer from the serve endpoint."""

    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Answer:
    """An answer before it is encoded and signed."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


UNAUTHORIZED = Answer(401, {"message": "Unauthorized"})
STEPS_USED_LIMIT = 48 * 1024  # past this the header leaves out where each step is (file:line)


def _with_steps_used(answer: Answer, prepared: execution.Invocation) -> Answer:
    """The answer with the stored steps the call used (`headers.STEPS_USED`), when it was given any."""
    if not prepared.memos:
        return answer
    used = prepared.used
    text = json.dumps(used, separators=(",", ":"))
    if len(text) > STEPS_USED_LIMIT:
        text = json.dumps([[hashed, op, "", parallel] for hashed, op, _, parallel in used], separators=(",", ":"))
    return Answer(answer.status, answer.body, {**answer.headers, headers.STEPS_USED: text})


class CommHandler:
    """Serves `functions` of `client` at one endpoint."""

    def __init__(
        self,
        client: Stepstone,
        functions: Sequence[Function],
        *,
        framework: str,
        serve_origin: str | None = None,
        serve_path: str | None = None,
        options: execution.Options | None = None,
    ) -> None:
        if not client.is_dev and not client.signing_key:
            raise errors.SigningKeyMissingError(
                "serving in production mode needs a signing key: pass signing_key= or set STEPSTONE_SIGNING_KEY "
                "(or set STEPSTONE_DEV=1 for dev mode, which checks no signatures)"
            )
        self.client = client
        self.functions = list(functions)
        self.framework = framework
        self.serve_origin = serve_origin or client.settings.serve_origin
        self.serve_path = serve_path or client.settings.serve_path or settings.DEFAULT_SERVE_PATH
        self.options = options or execution.Options()

    async def handle(self, req: CommRequest) -> CommResponse:
        """Answer one request (async frameworks)."""
        key = None
        try:
            key = self._verify(req)
            answer = self._admit(req, key)
            if answer is None and req.method == "PUT":
                answer = self._put_answer(*await transport.drive(self._register(req), self.client.http()))
            elif answer is None:
                answer = await self._post(req)
        except Exception as err:
            answer = self._crash(err)
        return self._finish(answer, key)

    def handle_sync(self, req: CommRequest) -> CommResponse:
        """Answer one request (sync frameworks)."""
        key = None
        try:
            key = self._verify(req)
            answer = self._admit(req, key)
            if answer is None and req.method == "PUT":
                answer = self._put_answer(*transport.drive_sync(self._register(req), self.client.http_sync()))
            elif answer is None:
                answer = self._post_sync(req)
        except Exception as err:
            answer = self._crash(err)
        return self._finish(answer, key)

    def _admit(self, req: CommRequest, key: str | None) -> Answer | None:
        """Answer GET, refuse unsigned requests in production mode; None lets PUT and POST through."""
        signed = key is not None
        if req.method not in ("GET", "POST", "PUT"):
            return Answer(405, {"code": "method_not_allowed", "message": f"{req.method} is not served here"})
        if not self.client.is_dev and not signed and req.method != "PUT":
            return UNAUTHORIZED
        if req.method == "GET":
            return Answer(200, self._inspection(signed))
        if req.method == "POST" and req.query.get("probe") == "trust":
            return Answer(200, None)
        return None

    async def _post(self, req: CommRequest) -> Answer:
        prepared = await transport.drive(self._prepare(req), self.client.http())
        if isinstance(prepared, invocation.Refusal):
            return Answer(prepared.status, prepared.body)
        if inspect.iscoroutinefunction(prepared.handler):
            outcome = await execution_async.run_async(prepared, self.options)
        else:
            outcome = await asyncio.to_thread(execution_sync.run_sync, prepared, self.options)
        return _with_steps_used(Answer(*invocation.answer(outcome)), prepared)

    def _post_sync(self, req: CommRequest) -> Answer:
        prepared = transport.drive_sync(self._prepare(req), self.client.http_sync())
        if isinstance(prepared, invocation.Refusal):
            return Answer(prepared.status, prepared.body)
        if inspect.iscoroutinefunction(prepared.handler):
            outcome = asyncio.run(self._run_on_fresh_loop(prepared))
        else:
            outcome = execution_sync.run_sync(prepared, self.options)
        return _with_steps_used(Answer(*invocation.answer(outcome)), prepared)

    async def _run_on_fresh_loop(self, prepared: execution.Invocation) -> Any:
        try:
            return await execution_async.run_async(prepared, self.options)
        finally:
            await self.client.close_loop_http()

    def _prepare(self, req: CommRequest) -> transport.Flow[execution.Invocation | invocation.Refusal]:
        return invocation.prepare(self.client, self.functions, req.query, req.body, req.headers)

    def _register(self, req: CommRequest) -> transport.Flow[tuple[int, dict[str, Any]]]:
        url = registration.serve_url(
            req.url, origin=self.serve_origin, path=self.serve_path, mode=self.client.settings.mode
        )
        return registration.register_flow(
            self.client, self.functions, url=url, framework=self.framework, query=req.query
        )

    def _put_answer(self, status: int, body: dict[str, Any]) -> Answer:
        return Answer(status, body, {headers.SYNC_KIND: "out_of_band"})

    def _inspection(self, signed: bool) -> dict[str, Any]:
        return registration.inspection(
            self.client,
            len(self.functions),
            authenticated=signed,
            framework=self.framework,
            serve_origin=self.serve_origin,
            serve_path=self.serve_path,
        )

    def _verify(self, req: CommRequest) -> str | None:
        """The key that signed the request, or None (always None in dev mode, which checks nothing)."""
        if self.client.is_dev:
            return None
        header = req.headers.get(headers.SIGNATURE)
        now = int(time.time())
        for key in (self.client.signing_key, self.client.signing_key_fallback):
            if key and signing.verify_request(req.body, header, [key], now=now):
                return key
        return None

    def _crash(self, err: Exception) -> Answer:
        self.client.logger.error("serve endpoint failed", exc_info=err, extra={"action": "comm_failed"})
        return Answer(500, {"code": "unknown", "message": str(err), "name": type(err).__name__})

    def _finish(self, answer: Answer, key: str | None) -> CommResponse:
        try:
            body = json.dumps(answer.body, separators=(",", ":")).encode()
        except (TypeError, ValueError) as err:
            answer = Answer(500, {"code": "output_unserializable", "message": f"answer is not JSON: {err}"})
            body = json.dumps(answer.body).encode()
        result = transport.sdk_headers(framework=self.framework, env=self.client.env)
        result[headers.SDK_HANDLED] = "true"
        result.update(answer.headers)
        if key is not None:
            result[headers.SIGNATURE] = signing.sign_response(body, key, at=int(time.time()))
        return CommResponse(answer.status, body, result)
