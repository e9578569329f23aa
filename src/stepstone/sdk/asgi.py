"""Serve functions from a Starlette app (FastAPI included): mounts GET, POST and PUT on one path."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from stepstone.sdk import execution
from stepstone.sdk.client import Stepstone
from stepstone.sdk.comm import CommHandler, CommRequest
from stepstone.sdk.function import Function

FRAMEWORK = "fast_api"


def serve(
    app: Starlette,
    client: Stepstone,
    functions: Sequence[Function],
    *,
    serve_path: str | None = None,
    serve_origin: str | None = None,
    checkpoint_max_runtime: timedelta = execution.DEFAULT_MAX_RUNTIME,
) -> CommHandler:
    """Serve `functions` at `serve_path` of `app`.

    Args:
        app: A Starlette or FastAPI app.
        client: The client the functions were created with.
        functions: The functions to serve.
        serve_path: The endpoint's path (default: `SERVE_PATH`, then `/api/inngest`).
        serve_origin: The origin the engine should call, when not the one requests arrive on
            (default: `SERVE_ORIGIN`).
        checkpoint_max_runtime: How long one call may run steps in checkpoint mode (default 10 s).

    Returns:
        The endpoint's handler.

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

    async def endpoint(request: Request) -> Response:
        comm_request = CommRequest.build(
            method=request.method,
            url=str(request.url),
            headers=request.headers.items(),
            body=await request.body(),
            query=dict(request.query_params),
        )
        answer = await handler.handle(comm_request)
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    app.add_route(handler.serve_path, endpoint, methods=["GET", "POST", "PUT"], include_in_schema=False)
    return handler
