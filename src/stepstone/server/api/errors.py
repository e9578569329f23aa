"""The one table from exceptions to answers, used by the hot router and the framework routes alike.

An exception that leaves a handler (hot or framework), a dependency or a helper is answered by the
row of its class, or of its nearest base class listed (the order of its MRO, as `except` clauses
would pick), with the API's error body `{"error": ..., "status": ...}`:

| exception                 | status              | message                                              |
| ------------------------- | ------------------- | ---------------------------------------------------- |
| `APIError`                | its own             | its own (plus its extra fields, e.g. `ids`)          |
| `HTTPException` (routing) | its own (404, 405)  | its detail                                           |
| `RequestValidationError`  | 400                 | `invalid request: <where>: <what>`                   |
| `UnstorableValueError`    | 400                 | `invalid request: a value cannot be stored: ...`     |
| `RunNotFoundError`        | 404                 | `run not found: <run id, or why>`                    |
| `FunctionNotFoundError`   | 404                 | `function <id> not found (or archived): ...`         |
| `AppNotFoundError`        | 404                 | `app <id> not found: ...`                            |
| `RerunError`              | 400                 | `invalid request: <why>` (unknown step, input)       |
| `BulkTargetError`         | 404                 | `app / function <id> not found: ...`                 |
| `RunEndedError`           | 409                 | `run <id> has already ended`                         |
| `SyncError`               | 422                 | `the app did not sync: <why>`                        |
| `StoreUnavailable`        | 503                 | `the database cannot serve now: <why>; try again...` |
| `SchemaError`             | 503                 | `the database schema does not match ...: <why>`      |
| any other `Exception`     | 500                 | `internal error: ...` (logged, traceback included)   |

The hot router calls `answer` itself; `install` registers the same rows as the framework's
exception handlers, so a route lets the engine's errors through instead of catching them. What
is a handler's own reading of its request (a body that is not JSON, an invalid event, a stale
checkpoint) it answers with `common.error`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from stepstone.server.api.common import JSONAnswer, error, redact_path
from stepstone.server.engine import (
    AppNotFoundError,
    FunctionNotFoundError,
    RunEndedError,
    RunNotFoundError,
    SyncError,
)
from stepstone.server.execution.bulk import BulkTargetError
from stepstone.server.execution.reruns import RerunError
from stepstone.server.store.base import SchemaError, StoreUnavailable, UnstorableValueError

log = logging.getLogger("stepstone.api")
INTERNAL = "internal error: the engine logged the details"


class APIError(Exception):
    """Raise to answer `error(status, message, **extra)`."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def _invalid_request(exc: RequestValidationError) -> JSONAnswer:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return error(400, f"invalid request: {where}: {first.get('msg')}")


def _internal(_: Exception) -> JSONAnswer:
    return error(500, INTERNAL)


ERRORS: dict[type[Exception], Callable[[Any], JSONAnswer]] = {
    APIError: lambda exc: error(exc.status, exc.message, **exc.extra),
    HTTPException: lambda exc: error(exc.status_code, str(exc.detail)),
    RequestValidationError: _invalid_request,
    UnstorableValueError: lambda exc: error(400, f"invalid request: a value cannot be stored: {exc}"),
    RunNotFoundError: lambda exc: error(404, f"run not found: {exc}"),
    FunctionNotFoundError: lambda exc: error(404, f"function {exc} not found (or archived): see GET /v1/functions"),
    AppNotFoundError: lambda exc: error(404, f"app {exc} not found: see GET /v1/apps"),
    RerunError: lambda exc: error(400, f"invalid request: {exc}"),
    BulkTargetError: lambda exc: error(404, str(exc)),
    RunEndedError: lambda exc: error(409, f"run {exc} has already ended"),
    SyncError: lambda exc: error(422, f"the app did not sync: {exc}"),
    StoreUnavailable: lambda exc: error(503, f"the database cannot serve now: {exc}; try again in a moment"),
    SchemaError: lambda exc: error(503, f"the database schema does not match this engine: {exc}"),
    Exception: _internal,
}


def answer(exc: Exception, method: str, path: str) -> JSONAnswer:
    """The answer to `exc`, raised while handling `method path`; an unexpected one is logged (key redacted)."""
    rule = next(ERRORS[kind] for kind in type(exc).__mro__ if kind in ERRORS)
    if rule is _internal:
        log.error("unexpected error on %s %s", method, redact_path(path), exc_info=exc, extra={"action": "http.error"})
    elif isinstance(exc, StoreUnavailable | SchemaError):  # the store's messages hold no secret
        log.warning("database trouble on %s %s: %s", method, redact_path(path), exc, extra={"action": "http.error"})
    return rule(exc)


def install(app: FastAPI) -> None:
    """Answer the framework routes' exceptions from the same table."""

    async def handle(request: Request, exc: Exception) -> Response:
        return answer(exc, request.method, request.url.path)

    for kind in ERRORS:
        app.add_exception_handler(kind, handle)
