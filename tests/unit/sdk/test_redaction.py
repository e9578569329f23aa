"""Event keys never reach the app's logs, though httpx logs every URL it requests."""

from __future__ import annotations

import logging

import httpx
import pytest

import stepstone


async def test_sending_events_does_not_log_the_event_key(caplog: pytest.LogCaptureFixture) -> None:
    def engine(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"], "status": 200})

    client = stepstone.Stepstone(
        app_id="app",
        event_key="very-secret-key",
        is_dev=False,
        signing_key="ab" * 32,
        environ={},
        transport=httpx.MockTransport(engine),
    )
    caplog.set_level(logging.DEBUG)
    await client.send(stepstone.Event(name="a/b"))
    await client.aclose()
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "/e/<redacted>" in text
    assert "very-secret-key" not in text
