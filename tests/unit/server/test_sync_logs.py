"""What syncs log: a refused one at WARNING with why, a change at INFO, a repeated one at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from stepstone.server.apps import syncer
from stepstone.server.core import backoff
from stepstone.server.core.settings import EngineSettings
from stepstone.server.core.transport import AppResponse, TransportError
from tests.harness import Harness
from tests.integration import scripted_app

URL = "http://127.0.0.1:9/api/inngest"


def levels(caplog: pytest.LogCaptureFixture, logger: str) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == logger]


class Answers:
    """A transport that answers each PUT with the next scripted answer (an `AppResponse` or a failure)."""

    def __init__(self, *answers: AppResponse | str) -> None:
        self.answers = list(answers)

    async def request(self, method: str, url: str, body: bytes, headers: Any, **_: Any) -> AppResponse:
        answer = self.answers.pop(0)
        if isinstance(answer, str):
            raise TransportError(answer, kind="connect")
        return answer


async def test_the_periodic_sync_logs_the_first_success_and_changes_of_state_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="stepstone.syncer")
    ok = AppResponse(200, {}, orjson.dumps({"ok": True, "modified": False}))
    transport = Answers("refused", "refused", ok, ok, ok, "refused", "reset", ok)
    sync = syncer.Syncer(EngineSettings(), transport, (URL,))
    for _ in range(8):
        await sync.ping(URL)
    assert levels(caplog, "stepstone.syncer") == [
        (logging.WARNING, f"could not sync {URL}: refused"),  # once per distinct problem
        (logging.INFO, f"synced {URL}"),
        (logging.DEBUG, f"synced {URL}"),
        (logging.DEBUG, f"synced {URL}"),
        (logging.WARNING, f"could not sync {URL}: refused"),
        (logging.WARNING, f"could not sync {URL}: reset"),
        (logging.INFO, f"synced {URL} again"),
    ]
    assert all(r.__dict__["url"] == URL for r in caplog.records)


@pytest.fixture
async def harness(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Harness]:
    caplog.set_level(logging.DEBUG, logger="stepstone.sync")
    caplog.set_level(logging.DEBUG, logger="stepstone.access")
    harness = Harness(tmp_path)
    await harness.start()
    yield harness
    await harness.stop()


def registration(**config: Any) -> dict[str, Any]:
    body = scripted_app.registration(URL)
    body["functions"][0].update(config)
    return body


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "stepstone.sync" and r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (registration(triggers=[{"cron": "every tuesday"}]), {}, "function 'scripted-fn': triggers[0].cron"),
        ({**registration(), "functions": registration()["functions"] * 2}, {}, "registered twice in one sync"),
        (registration(), {"x-inngest-expected-server-kind": "cloud"}, "Expected server kind dev, got cloud"),
        (b"{not json", {}, "the body is not JSON"),
        (scripted_app.registration(URL, retries=-1), {}, "'scripted-fn': retries: must be 0 or more, found -1"),
    ],
)
async def test_a_refused_sync_is_logged_with_the_reason_and_the_app(
    harness: Harness, caplog: pytest.LogCaptureFixture, body: Any, headers: dict[str, str], reason: str
) -> None:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    response = await harness.http.post("/fn/register", content=content, headers=headers)
    assert response.status_code == 400
    [refused] = refusals(caplog)
    assert reason in refused.getMessage() and reason in response.json()["error"]
    assert refused.__dict__["action"] == "sync.refused"
    if isinstance(body, dict) and not headers:
        assert refused.__dict__["app_id"] == "scripted" and refused.__dict__["url"] == URL
        assert "app 'scripted', http://127.0.0.1:9/api/inngest" in refused.getMessage()
    access = [r for r in caplog.records if r.name == "stepstone.access"]
    assert [r.levelno for r in access] == [logging.INFO]  # a refusal stays in the access log


async def test_a_sync_that_changes_something_is_info_and_a_repeated_one_debug(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(2):
        response = await harness.http.post("/fn/register", json=registration())
        assert response.status_code == 200 and response.json()["warnings"] == []
    synced = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "stepstone.sync"]
    assert synced == [
        (logging.INFO, f"app 'scripted' synced from {URL}: 1 functions (scripted-fn)"),
        (logging.DEBUG, f"app 'scripted' synced from {URL}, nothing changed"),
    ]
    access = [r for r in caplog.records if r.name == "stepstone.access"]
    assert [r.levelno for r in access] == [logging.DEBUG, logging.DEBUG]  # `-u` apps sync every few seconds
    assert access[0].__dict__["path"] == "/fn/register" and access[0].__dict__["status"] == 200


async def test_retries_over_the_maximum_are_clamped_and_reported(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    expected = "function 'scripted-fn': retries: 50 is over the maximum of 20; each step gets 20 retries"
    for _ in range(2):
        response = await harness.http.post("/fn/register", json=scripted_app.registration(URL, retries=50))
        assert response.status_code == 200 and response.json()["warnings"] == [expected]
    [adjusted] = refusals(caplog)  # logged when the sync changed something, not on every periodic sync
    assert adjusted.getMessage() == f"app 'scripted': {expected}"
    assert adjusted.__dict__["action"] == "sync.adjusted"
    catalog = await harness.store.read(harness.engine.registry.catalog)
    assert catalog.get("scripted-fn").max_attempts == backoff.MAX_RETRIES + 1  # 20 retries after the first
