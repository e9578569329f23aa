"""Serve Stepstone functions from FastAPI or any Starlette app: `stepstone.fastapi.serve(app, client, functions)`."""

from __future__ import annotations

from stepstone.sdk.asgi import serve

__all__ = ["serve"]
