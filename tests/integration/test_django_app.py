"""A Django project serving functions with `stepstone.django.serve`, end to end with the engine: the plain
view behind WSGI and the async view (`async_mode=True`) behind ASGI."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import stepstone
import stepstone.django
from tests.harness import Harness, free_socket

URLCONF = "tests_stepstone_django_urls"  # a module made here: the project's ROOT_URLCONF


@pytest.fixture(scope="module")
def urls() -> Iterator[types.ModuleType]:
    import django
    from django.conf import settings

    module = types.ModuleType(URLCONF)
    module.urlpatterns = []  # type: ignore[attr-defined]
    sys.modules[URLCONF] = module
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="not-a-secret: tests only",
            ALLOWED_HOSTS=["127.0.0.1", "localhost"],
            ROOT_URLCONF=URLCONF,
            MIDDLEWARE=["django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware"],
            INSTALLED_APPS=[],
            USE_TZ=True,
        )
        django.setup()
    yield module
    del sys.modules[URLCONF]


def project(urls: types.ModuleType, engine_url: str, app_id: str, *, async_mode: bool) -> stepstone.Stepstone:
    from django.urls import clear_url_caches

    client = stepstone.Stepstone(app_id=app_id, is_dev=True, base_url=engine_url, environ={})

    @client.create_function(fn_id="sync", trigger=stepstone.TriggerEvent(event="django/go"))
    def sync_fn(ctx: stepstone.ContextSync) -> int:
        return ctx.step.run("a", lambda: 20) + ctx.step.run("b", lambda: 22)

    @client.create_function(fn_id="async", trigger=stepstone.TriggerEvent(event="django/go"))
    async def async_fn(ctx: stepstone.Context) -> str:
        await ctx.step.sleep("nap", "1s")
        return await ctx.step.run("c", lambda: f"async in django ({ctx.event.data['mode']})")

    urls.urlpatterns = [stepstone.django.serve(client, [sync_fn, async_fn], async_mode=async_mode)]
    clear_url_caches()
    return client


@pytest.mark.parametrize("mode", ["wsgi", "asgi"])
async def test_a_django_project_runs_sync_and_async_functions(
    tmp_path: Path, urls: types.ModuleType, mode: str
) -> None:
    harness = Harness(tmp_path)
    await harness.start()
    try:
        client = project(urls, harness.url, f"django-{mode}", async_mode=mode == "asgi")
        served = await harness.serve_app(_application(mode), free_socket())
        await harness.sync(f"{served.url}/api/inngest")
        event_id = await harness.send("django/go", {"mode": mode})
        assert (await harness.wait_run(event_id, function_id=f"django-{mode}-sync"))["output"] == 42
        waiting = await harness.wait_run(event_id, function_id=f"django-{mode}-async", status="Running")
        assert [step["id"] for step in waiting["steps"]] == ["nap"]
        await harness.advance(timedelta(seconds=2))
        done = await harness.wait_run(event_id, function_id=f"django-{mode}-async")
        assert done["output"] == f"async in django ({mode})"

        # What the view answers besides the engine's calls: a description, and 405 for other methods.
        described = await harness.http.get(f"{served.url}/api/inngest")
        assert described.status_code == 200 and described.json()["function_count"] == 2
        refused = await harness.http.delete(f"{served.url}/api/inngest")
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, POST, PUT")
        await client.aclose()
    finally:
        await harness.stop()


def _application(mode: str) -> Any:
    if mode == "asgi":
        from django.core.asgi import get_asgi_application

        return get_asgi_application()
    from django.core.wsgi import get_wsgi_application
    from uvicorn.middleware.wsgi import WSGIMiddleware

    return WSGIMiddleware(get_wsgi_application())
