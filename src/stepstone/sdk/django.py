"""Serve functions from a Django project: one view for GET, POST and PUT, as a URL pattern to add.

    urlpatterns = [..., stepstone.django.serve(client, functions)]

The view is exempt from CSRF checks (the engine's calls are signed instead, outside dev mode). A
plain (sync) view by default, which suits a WSGI deployment: async functions then run on an event
loop per call. Under ASGI, `async_mode=True` makes it an async view, so that calls do not queue on
the single thread Django runs sync views on there.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt

from stepstone.sdk import execution
from stepstone.sdk.client import Stepstone
from stepstone.sdk.comm import CommHandler, CommRequest, CommResponse
from stepstone.sdk.function import Function

FRAMEWORK = "django"
METHODS = ("GET", "POST", "PUT")


def serve(
    client: Stepstone,
    functions: Sequence[Function],
    *,
    async_mode: bool = False,
    serve_path: str | None = None,
    serve_origin: str | None = None,
    checkpoint_max_runtime: timedelta = execution.DEFAULT_MAX_RUNTIME,
) -> URLPattern:
    """The URL pattern serving `functions` at `serve_path`: add it to the project's `urlpatterns`.

    Args:
        client: The client the functions were created with.
        functions: The functions to serve.
        async_mode: An async view (for a project served with ASGI) instead of a plain one.
        serve_path: The endpoint's path (default: `SERVE_PATH`, then `/api/inngest`).
        serve_origin: The origin the engine should call (default: `SERVE_ORIGIN`).
        checkpoint_max_runtime: How long one call may run steps in checkpoint mode (default 10 s).

    Raises:
        SigningKeyMissingError: production mode without a signing key.
    """
    handler = CommHandler(
        client,
        functions,
        framework=FRAMEWORK,
        serve_origin=serve_origin,
        serve_path=serve_path,
        options=execution.Options(max_runtime=checkpoint_max_runtime),
    )
    view: Callable[[HttpRequest], HttpResponse | Coroutine[Any, Any, HttpResponse]]

    if async_mode:

        async def async_view(request: HttpRequest) -> HttpResponse:
            if request.method not in METHODS:
                return _not_allowed()
            return _response(await handler.handle(_comm_request(request)))

        view = async_view
    else:

        def sync_view(request: HttpRequest) -> HttpResponse:
            if request.method not in METHODS:
                return _not_allowed()
            return _response(handler.handle_sync(_comm_request(request)))

        view = sync_view
    return path(handler.serve_path.lstrip("/"), csrf_exempt(view), name="stepstone")


def _comm_request(request: HttpRequest) -> CommRequest:
    return CommRequest.build(
        method=str(request.method),
        url=request.build_absolute_uri(),
        headers=request.headers.items(),
        body=request.body,
        query=request.GET.dict(),
    )


def _response(answer: CommResponse) -> HttpResponse:
    return HttpResponse(answer.body, status=answer.status, headers=answer.headers)


def _not_allowed() -> HttpResponse:
    return HttpResponse(status=405, headers={"allow": ", ".join(METHODS)})
