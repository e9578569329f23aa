"""A Flask app (WSGI) served with `stepstone.flask.serve`, end to end with the engine."""

from __future__ import annotations

from pathlib import Path

import flask
import pytest

import stepstone
import stepstone.flask
from tests.harness import Harness, free_socket


@pytest.fixture
async def harness(tmp_path: Path):
    harness = Harness(tmp_path)
    await harness.start()
    yield harness
    await harness.stop()


async def test_a_flask_app_runs_sync_and_async_functions(harness: Harness) -> None:
    client = stepstone.Stepstone(app_id="flaskapp", is_dev=True, base_url=harness.url, environ={})

    @client.create_function(fn_id="sync", trigger=stepstone.TriggerEvent(event="flask/go"))
    def sync_fn(ctx: stepstone.ContextSync) -> int:
        return ctx.step.run("a", lambda: 20) + ctx.step.run("b", lambda: 22)

    @client.create_function(fn_id="async", trigger=stepstone.TriggerEvent(event="flask/go"))
    async def async_fn(ctx: stepstone.Context) -> str:
        return await ctx.step.run("c", lambda: "async in flask")

    app = flask.Flask("flaskapp")
    stepstone.flask.serve(app, client, [sync_fn, async_fn])
    sock = free_socket()
    served = await harness.serve_app(_wsgi(app), sock)
    await harness.sync(f"{served.url}/api/inngest")
    event_id = await harness.send("flask/go")
    assert (await harness.wait_run(event_id, function_id="flaskapp-sync"))["output"] == 42
    assert (await harness.wait_run(event_id, function_id="flaskapp-async"))["output"] == "async in flask"
    client.close()


def _wsgi(app: flask.Flask):
    from uvicorn.middleware.wsgi import WSGIMiddleware

    return WSGIMiddleware(app)
