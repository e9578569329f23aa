"""The FastAPI/Starlette and Flask adapters, end to end through their apps."""

from __future__ import annotations

import json

import fastapi
import flask
import httpx
from starlette.applications import Starlette

import stepstone
import stepstone.fastapi
import stepstone.flask
from stepstone.protocol import headers

from .helpers import body, hashed

EVENT = stepstone.TriggerEvent(event="app/go")


def functions(client: stepstone.Stepstone) -> list[stepstone.Function]:
    @client.create_function(fn_id="async-fn", trigger=EVENT)
    async def async_fn(ctx: stepstone.Context) -> int:
        return await ctx.step.run("a", lambda: 1) + 1

    @client.create_function(fn_id="sync-fn", trigger=EVENT)
    def sync_fn(ctx: stepstone.ContextSync) -> str:
        return ctx.step.run("a", lambda: "x") * 2

    return [async_fn, sync_fn]


def registry(seen: list[httpx.Request]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda req: seen.append(req) or httpx.Response(200, json={"ok": True}))


async def exercise_asgi(app: Starlette, seen: list[httpx.Request]) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
        put = await http.put("/api/inngest")
        assert (put.status_code, put.json()) == (200, {"message": "Successfully registered"})
        assert json.loads(seen[0].content)["url"] == "http://app.test/api/inngest"
        assert json.loads(seen[0].content)["framework"] == "fast_api"
        get = await http.get("/api/inngest")
        assert get.json()["function_count"] == 2
        for fn_id, first, final in (("app-async-fn", 1, 2), ("app-sync-fn", "x", "xx")):
            step = await http.post("/api/inngest", params={"fnId": fn_id, "stepId": "step"}, content=body())
            assert step.status_code == 206
            assert step.headers[headers.SDK_HANDLED] == "true"
            assert step.json()[0]["data"] == first
            done = await http.post(
                "/api/inngest",
                params={"fnId": fn_id, "stepId": "step"},
                content=body(steps={hashed("a"): {"data": first}}),
            )
            assert (done.status_code, done.json()) == (200, final)
        bad = await http.post("/api/inngest", params={"fnId": "app-async-fn"}, content=b"{")
        assert bad.status_code == 400
        assert bad.headers["content-type"] == "application/json"


async def test_fastapi_end_to_end() -> None:
    seen: list[httpx.Request] = []
    client = stepstone.Stepstone("app", is_dev=True, environ={}, transport=registry(seen))
    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, functions(client))
    await exercise_asgi(app, seen)


async def test_plain_starlette_end_to_end() -> None:
    seen: list[httpx.Request] = []
    client = stepstone.Stepstone("app", is_dev=True, environ={}, transport=registry(seen))
    app = Starlette()
    stepstone.fastapi.serve(app, client, functions(client))
    await exercise_asgi(app, seen)


def test_flask_end_to_end() -> None:
    seen: list[httpx.Request] = []
    client = stepstone.Stepstone("app", is_dev=True, environ={}, sync_transport=registry(seen))
    app = flask.Flask(__name__)
    stepstone.flask.serve(app, client, functions(client), serve_path="/stepstone")
    http = app.test_client()
    put = http.put("/stepstone")
    assert (put.status_code, put.get_json()) == (200, {"message": "Successfully registered"})
    assert json.loads(seen[0].content)["url"] == "http://localhost/stepstone"
    for fn_id, first, final in (("app-async-fn", 1, 2), ("app-sync-fn", "x", "xx")):
        step = http.post("/stepstone", query_string={"fnId": fn_id, "stepId": "step"}, data=body())
        assert step.status_code == 206
        assert step.headers[headers.FRAMEWORK] == "flask"
        assert step.get_json()[0]["data"] == first
        done = http.post(
            "/stepstone",
            query_string={"fnId": fn_id, "stepId": "step"},
            data=body(steps={hashed("a"): {"data": first}}),
        )
        assert (done.status_code, done.get_json()) == (200, final)
    assert http.get("/stepstone").get_json()["mode"] == "dev"
