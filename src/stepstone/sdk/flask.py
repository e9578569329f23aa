"""Serve functions from a Flask app: one view for GET, POST and PUT."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import flask

from stepstone.sdk import execution
from stepstone.sdk.client import Stepstone
from stepstone.sdk.comm import CommHandler, CommRequest
from stepstone.sdk.function import Function

FRAMEWORK = "flask"


def serve(
    app: flask.Flask,
    client: Stepstone,
    functions: Sequence[Function],
    *,
    serve_path: str | None = None,
    serve_origin: str | None = None,
    checkpoint_max_runtime: timedelta = execution.DEFAULT_MAX_RUNTIME,
) -> CommHandler:
    """Serve `functions` at `serve_path` of `app`. Async functions run on an event loop per call.

    Args:
        app: The Flask app.
        client: The client the functions were created with.
        functions: The functions to serve.
        serve_path: The endpoint's path (default: `SERVE_PATH`, then `/api/inngest`).
        serve_origin: The origin the engine should call (default: `SERVE_ORIGIN`).
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

    def endpoint() -> flask.Response:
        request = flask.request
        comm_request = CommRequest.build(
            method=request.method,
            url=request.url,
            headers=request.headers.items(),
            body=request.get_data(),
            query=request.args.to_dict(),
        )
        answer = handler.handle_sync(comm_request)
        return flask.Response(answer.body, status=answer.status, headers=answer.headers)

    app.add_url_rule(handler.serve_path, endpoint="stepstone", view_func=endpoint, methods=["GET", "POST", "PUT"])
    return handler
