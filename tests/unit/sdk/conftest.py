"""Fixtures for SDK tests: a dev-mode client with no environment, and no real backoff sleeps."""

from __future__ import annotations

import pytest

import stepstone
from stepstone.sdk import transport


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "RETRY_BASE_DELAY", 0.0)


@pytest.fixture
def client() -> stepstone.Stepstone:
    return stepstone.Stepstone("app", is_dev=True, environ={})
