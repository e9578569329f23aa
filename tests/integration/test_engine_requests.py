"""`step.ai.infer` with the official Inngest Python SDK: the engine makes the model request, on both stores.

A fake provider, served here, records what it receives and answers as told. Checked: the request the
engine makes per format (body, authentication), the provider's JSON stored as the step's output and
returned to the function, a failed answer retried as the function's retries allow and then failing
the step, and the key never stored in the database or written to the log.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import fastapi
import inngest
import inngest.fast_api
import psycopg
import pytest
from inngest.experimental.ai import anthropic as ai_anthropic
from inngest.experimental.ai import gemini as ai_gemini
from inngest.experimental.ai import openai as ai_openai

from tests.harness import Harness, eventually, free_socket

KEY = "sk-test-b7f0c1d2e3secret"
PROMPT = {"messages": [{"role": "user", "content": "hi"}]}
ANSWER = {"id": "cmpl-1", "choices": [{"message": {"role": "assistant", "content": "hello"}}]}


@dataclass
class Provider:
    """A model API: records each request; answers with the statuses queued in `fail` first, then `ANSWER`."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    fail: list[int] = field(default_factory=list)

    def app(self) -> fastapi.FastAPI:
        app = fastapi.FastAPI()

        @app.post("/{path:path}")
        async def model(path: str, request: fastapi.Request) -> Any:
            self.requests.append(
                {
                    "path": path,
                    "query": dict(request.query_params),
                    "headers": dict(request.headers),
                    "body": await request.json(),
                }
            )
            if self.fail:
                return fastapi.responses.JSONResponse(
                    {"error": {"message": "overloaded"}}, status_code=self.fail.pop(0)
                )
            return ANSWER

        return app


def build(engine_url: str, provider_url: str) -> fastapi.FastAPI:
    client = inngest.Inngest(app_id="ai", is_production=False, api_base_url=engine_url, event_api_base_url=engine_url)
    adapters = {
        "openai": ai_openai.Adapter(auth_key=KEY, base_url=f"{provider_url}/v1", model="gpt-test"),
        "anthropic": ai_anthropic.Adapter(auth_key=KEY, base_url=f"{provider_url}/v1", model="claude-test"),
        "gemini": ai_gemini.Adapter(auth_key=KEY, base_url=f"{provider_url}/v1beta", model="gemini-test"),
    }

    @client.create_function(fn_id="ask", trigger=inngest.TriggerEvent(event="ai/ask"), retries=1)
    async def ask(ctx: inngest.Context) -> Any:
        adapter = adapters[ctx.event.data["provider"]]
        answer = await ctx.step.ai.infer("infer", adapter=adapter, body=dict(PROMPT))
        return {"said": answer["choices"][0]["message"]["content"]}  # type: ignore[index]

    app = fastapi.FastAPI()
    inngest.fast_api.serve(app, client, [ask])
    return app


@pytest.fixture
async def setup(tmp_path: Path, backend: dict[str, Any]) -> AsyncIterator[tuple[Harness, Provider]]:
    harness = Harness(tmp_path, backend, retry_interval=timedelta(seconds=1))
    await harness.start()
    provider = Provider()
    model = await harness.serve_app(provider.app(), free_socket())
    served = await harness.serve_app(build(harness.url, model.url), free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield harness, provider
    await harness.stop()


def stored_text(backend: dict[str, Any]) -> str:
    """Every value of every table, as text."""
    texts: list[str] = []
    if backend["kind"] == "sqlite":
        with sqlite3.connect(backend["path"]) as conn:
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                texts += [repr(row) for row in conn.execute(f"SELECT * FROM {table}")]
        conn.close()
        return "\n".join(texts)
    with psycopg.connect(backend["dsn"]) as pg:
        tables = [row[0] for row in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            texts += [repr(row) for row in pg.execute(f"SELECT * FROM {table}")]
    return "\n".join(texts)


async def test_the_engine_asks_the_model_and_the_function_gets_its_answer(
    setup: tuple[Harness, Provider], backend: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    harness, provider = setup
    caplog.set_level(logging.DEBUG)
    run = await harness.wait_run(await harness.send("ai/ask", {"provider": "openai"}))
    assert run["status"] == "Completed" and run["output"] == {"said": "hello"}
    [request] = provider.requests
    assert request["path"] == "v1/chat/completions"
    assert request["body"] == {**PROMPT, "model": "gpt-test"}
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["headers"]["content-type"] == "application/json"
    [step] = run["steps"]
    assert (step["id"], step["status"], step["output"]) == ("infer", "Completed", ANSWER)
    assert KEY not in stored_text(backend)
    assert KEY not in caplog.text


async def test_each_format_authenticates_as_its_provider_expects(setup: tuple[Harness, Provider]) -> None:
    harness, provider = setup
    for name in ("anthropic", "gemini"):
        run = await harness.wait_run(await harness.send("ai/ask", {"provider": name}))
        assert run["output"] == {"said": "hello"}, name
    anthropic, gemini = provider.requests
    assert anthropic["path"] == "v1/messages"
    assert anthropic["headers"]["x-api-key"] == KEY and "authorization" not in anthropic["headers"]
    assert anthropic["headers"]["anthropic-version"] == "2023-06-01"
    assert gemini["path"] == "v1beta/models/gemini-test:generateContent"
    assert gemini["query"] == {"key": KEY} and "authorization" not in gemini["headers"]


async def test_a_failed_answer_is_retried_then_fails_the_step(
    setup: tuple[Harness, Provider], backend: dict[str, Any]
) -> None:
    harness, provider = setup
    provider.fail = [503]
    event_id = await harness.send("ai/ask", {"provider": "gemini"})

    async def attempted() -> dict[str, Any] | None:
        runs = await harness.runs_for(event_id)
        found = runs and await harness.run(runs[0]["run_id"])
        return found if found and found["attempts"] else None

    run = await eventually(attempted)
    [attempt] = run["attempts"]
    assert attempt["error"]["name"] == "AIGatewayError"
    assert "answered 503" in attempt["error"]["message"] and "overloaded" in attempt["error"]["message"]
    await harness.advance(timedelta(minutes=1))
    run = await harness.wait_run(event_id)
    assert run["output"] == {"said": "hello"} and len(provider.requests) == 2

    provider.fail = [500, 500]  # the function's one retry is used up: the step fails, and so does the run
    event_id = await harness.send("ai/ask", {"provider": "gemini"})
    await eventually(lambda: _count(provider, 3))
    await harness.advance(timedelta(minutes=1))
    run = await harness.wait_run(event_id, status="Failed")
    assert len(provider.requests) == 4
    [step] = run["steps"]
    assert step["status"] == "Failed" and step["error"]["name"] == "AIGatewayError"
    text = stored_text(backend)
    assert KEY not in text  # the gemini key travels in the URL's query: errors show the URL without it
    assert "generateContent" in text
    # Four requests: one answered with the model's JSON, three failed attempts (a 503, then two 500s).
    metrics = (await harness.http.get("/metrics")).text
    assert 'stepstone_engine_request_seconds_count{fn="ai-ask",kind="ai",outcome="ok"} 1.0' in metrics
    assert 'stepstone_engine_request_seconds_count{fn="ai-ask",kind="ai",outcome="error"} 3.0' in metrics
    assert KEY not in metrics


async def _count(provider: Provider, n: int) -> bool:
    return len(provider.requests) >= n
