"""Serve Stepstone functions from Flask: `stepstone.flask.serve(app, client, functions)`."""

from __future__ import annotations

from stepstone.sdk.flask import serve

__all__ = ["serve"]
