"""The engine's HTTP API: events, registration, the SDK endpoints and the REST API."""

from __future__ import annotations
