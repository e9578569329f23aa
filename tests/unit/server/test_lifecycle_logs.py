"""Run lifecycle lines (`stepstone.runs`): one per event, written once the transaction that made it true committed.

The engine runs with a fake clock against a scripted app over loopback HTTP (`tests.harness`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from stepstone.protocol import durations
from stepstone.protocol.stepids import hash_step_id
from stepstone.server.core.clock import to_datetime
from stepstone.server.queue.work import Work
from stepstone.server.runs import lifecycle
from stepstone.server.store.records import RunStatus
from tests.harness import Harness, eventually, free_socket
from tests.integration import scripted_app
from tests.integration.scripted_app import done, ops

CHARGE = hash_step_id("charge")
NAP = hash_step_id("nap")
RUNS = "stepstone.runs"


@pytest.fixture
async def harness(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Harness]:
    caplog.set_level(logging.DEBUG, logger=RUNS)
    harness = Harness(tmp_path, retry_interval=timedelta(seconds=15))
    await harness.start()
    yield harness
    await harness.stop()


async def serve(harness: Harness, script: scripted_app.Script, *, retries: int = 0, **config: Any) -> None:
    served = await harness.serve_app(scripted_app.build(script), free_socket())
    registration = scripted_app.registration(f"{served.url}/api/inngest", retries=retries)
    registration["functions"][0].update(config)
    response = await harness.http.post("/fn/register", json=registration)
    assert response.status_code == 200, response.text


def lines(caplog: pytest.LogCaptureFixture, action: str | None = None) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == RUNS and (action is None or r.__dict__["action"] == action)]


async def logged(caplog: pytest.LogCaptureFixture, action: str, count: int = 1) -> list[logging.LogRecord]:
    """Wait until `count` lines of `action` were written; return them."""

    async def check() -> list[logging.LogRecord] | None:
        found = lines(caplog, action)
        return found if len(found) >= count else None

    return await eventually(check)


def at(harness: Harness, delay: timedelta) -> str:
    return durations.format_time(to_datetime(harness.clock.now_ms() + int(delay.total_seconds() * 1000)))


async def asleep(harness: Harness, run_id: str) -> None:
    """Wait until the run's sleep is stored (the clock may move then)."""

    async def check() -> bool:
        return any(step["status"] == "Sleeping" for step in (await harness.run(run_id))["steps"])

    await eventually(check)


async def sleeping(body: dict[str, Any], request: Request) -> Response:
    """A run that sleeps for an hour, then completes."""
    if NAP in body["steps"]:
        return done("rested")
    return ops({"op": "Sleep", "id": NAP, "name": "1h", "displayName": "nap", "opts": {"duration": "1h"}})


async def test_a_run_logs_its_start_and_end_once_each_committed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, str, str | None]] = []

    class StoreReader(logging.Handler):
        """At the moment a line is written, what another connection reads: the state is committed."""

        def emit(self, record: logging.LogRecord) -> None:
            with closing(sqlite3.connect(harness.backend["path"])) as connection:
                query = "SELECT status FROM runs WHERE id = ?"
                row = connection.execute(query, (record.__dict__["run_id"],)).fetchone()
            seen.append((record.__dict__["action"], record.__dict__["status"], row[0] if row else None))

    reader = StoreReader()
    logging.getLogger(RUNS).addHandler(reader)
    try:
        await serve(harness, sleeping)
        event_id = await harness.send("scripted/go")
        [started] = await logged(caplog, "run.started")
        await asleep(harness, started.__dict__["run_id"])
        await harness.advance(timedelta(hours=1))
        [completed] = await logged(caplog, "run.completed")
    finally:
        logging.getLogger(RUNS).removeHandler(reader)
    assert seen == [("run.started", "Running", "Running"), ("run.completed", "Completed", "Completed")]
    run_id = started.__dict__["run_id"]
    assert started.getMessage() == f"scripted-fn: run {run_id} started"
    assert completed.getMessage() == f"scripted-fn: run {run_id} completed"
    for line in (started, completed):
        assert line.levelno == logging.INFO
        fields = {key: line.__dict__[key] for key in ("run_id", "function_id", "app_id", "event_id")}
        assert fields == {"run_id": run_id, "function_id": "scripted-fn", "app_id": "scripted", "event_id": event_id}


async def test_a_failing_step_logs_each_attempt_and_when_the_next_one_is_due(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def script(body: dict[str, Any], request: Request) -> Response:
        if CHARGE in body["steps"]:  # the step failed for good: the function gives up without retries
            headers = {**scripted_app.SDK_HEADERS, "x-inngest-no-retry": "true"}
            return Response(b'{"name": "PaymentError", "message": "no card left"}', status_code=400, headers=headers)
        error = {"name": "CardError", "message": "card declined"}
        return ops({"op": "StepError", "id": CHARGE, "name": "charge", "displayName": "charge", "error": error})

    await serve(harness, script, retries=2)
    await harness.send("scripted/go")
    due = at(harness, timedelta(seconds=15))
    [first] = await logged(caplog, "step.retrying")
    run_id = first.__dict__["run_id"]
    assert first.getMessage() == (
        f'scripted-fn: run {run_id} step "charge" failed (attempt 1 of 3): CardError: card declined; '
        f"retrying in 15s at {due}"
    )
    assert {key: first.__dict__[key] for key in ("step_id", "attempt", "error", "status")} == {
        "step_id": "charge",
        "attempt": 1,
        "error": "CardError: card declined",
        "status": "Running",
    }
    await harness.advance(timedelta(seconds=15))
    second = (await logged(caplog, "step.retrying", 2))[1]
    assert "(attempt 2 of 3)" in second.getMessage()
    await harness.advance(timedelta(seconds=15))
    [last] = await logged(caplog, "step.failed")
    assert last.getMessage().endswith("(attempt 3 of 3): CardError: card declined; no attempts left")
    [failed] = await logged(caplog, "run.failed")
    assert failed.getMessage() == f"scripted-fn: run {run_id} failed: PaymentError: no card left"
    assert failed.__dict__["error"] == "PaymentError: no card left" and failed.__dict__["status"] == "Failed"
    assert [line.__dict__["action"] for line in lines(caplog)] == [
        "run.started",
        "step.retrying",
        "step.retrying",
        "step.failed",
        "run.failed",
    ]


async def test_a_step_being_retried_shows_the_id_written_and_the_next_attempt(
    backend: dict[str, Any], tmp_path: Path
) -> None:
    harness = Harness(tmp_path, backend, retry_interval=timedelta(seconds=15))
    await harness.start()
    try:
        await retried_step_view(harness)
    finally:
        await harness.stop()


async def retried_step_view(harness: Harness) -> None:
    async def script(body: dict[str, Any], request: Request) -> Response:
        if CHARGE in body["steps"]:
            return done("gave up on the card")
        error = {"name": "CardError", "message": "card declined"}
        return ops({"op": "StepError", "id": CHARGE, "name": "charge", "displayName": "charge", "error": error})

    await serve(harness, script, retries=1)
    event_id = await harness.send("scripted/go")
    due = at(harness, timedelta(seconds=15))

    async def retrying() -> dict[str, Any] | None:
        summaries = await harness.runs_for(event_id)
        run = await harness.run(summaries[0]["run_id"]) if summaries else None
        return run if run and run["attempts"] else None

    run = await eventually(retrying)
    assert run["steps"] == []  # the step has no outcome yet
    [attempt] = run["attempts"]
    assert attempt["step_id"] == "charge" and attempt["hashed_step_id"] == CHARGE
    assert attempt["next_attempt_at"] == due and run["next_attempt_at"] == due
    await harness.advance(timedelta(seconds=15))
    run = await harness.wait_run(event_id, status="Completed")  # the scripted app then answers the memo
    assert [a["step_id"] for a in run["attempts"]] == ["charge", "charge"]
    assert run["next_attempt_at"] is None and all(a["next_attempt_at"] is None for a in run["attempts"])


async def test_a_failing_function_logs_its_attempts_then_the_failed_run(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def script(body: dict[str, Any], request: Request) -> Response:
        return Response(b'{"name": "KeyError", "message": "order"}', status_code=500, headers=scripted_app.SDK_HEADERS)

    await serve(harness, script, retries=1)
    await harness.send("scripted/go")
    due = at(harness, timedelta(seconds=15))
    [retrying] = await logged(caplog, "step.retrying")
    run_id = retrying.__dict__["run_id"]
    expected = f"scripted-fn: run {run_id} attempt 1 of 2 failed: KeyError: order; retrying in 15s at {due}"
    assert retrying.getMessage() == expected
    assert retrying.__dict__["step_id"] is None
    await harness.advance(timedelta(seconds=15))
    [failed] = await logged(caplog, "run.failed")
    assert failed.getMessage() == f"scripted-fn: run {run_id} failed: KeyError: order"
    assert lines(caplog, "step.failed") == []  # the run's own line says it


@pytest.mark.parametrize(
    ("config", "cancel", "reason"),
    [
        ({}, "api", "cancelled through the API"),
        ({"cancel": [{"event": "scripted/stop"}]}, "event", "cancelled by event scripted/stop"),
        ({"timeouts": {"finish": "30m"}}, "clock", "timeouts.finish passed before it ended"),
        ({"singleton": {"mode": "cancel"}}, "again", "singleton: a newer run took the key"),
    ],
)
async def test_a_cancelled_run_logs_why(
    harness: Harness, caplog: pytest.LogCaptureFixture, config: dict[str, Any], cancel: str, reason: str
) -> None:
    await serve(harness, sleeping, **config)
    await harness.send("scripted/go")
    [started] = await logged(caplog, "run.started")
    run_id = started.__dict__["run_id"]
    if cancel == "api":
        assert (await harness.http.delete(f"/v1/runs/{run_id}")).status_code == 200
    elif cancel == "event":
        await harness.send("scripted/stop")
    elif cancel == "clock":
        await asleep(harness, run_id)
        await harness.advance(timedelta(minutes=30))
    else:
        await harness.send("scripted/go")
    [cancelled] = await logged(caplog, "run.cancelled")
    assert cancelled.getMessage() == f"scripted-fn: run {run_id} cancelled: {reason}"
    assert cancelled.__dict__["status"] == "Cancelled" and cancelled.levelno == logging.INFO


async def test_skipped_runs_and_events_log_why(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await serve(harness, sleeping, singleton={"mode": "skip"}, rateLimit={"limit": 10, "period": "1h"})
    await harness.send("scripted/go")
    [started] = await logged(caplog, "run.started")
    await harness.send("scripted/go")  # the singleton key is held (the rate limit allows a burst of two)
    [skipped_run] = await logged(caplog, "run.skipped")
    holder = started.__dict__["run_id"]
    assert skipped_run.getMessage().endswith(f"skipped: singleton: run {holder} holds the key")
    event_id = await harness.send("scripted/go")  # over the rate limit
    skipped = await logged(caplog, "run.skipped", 2)
    assert skipped[1].getMessage() == f"scripted-fn: event {event_id} starts no run: rate limited"
    assert skipped[1].__dict__["event_id"] == event_id and "run_id" not in skipped[1].__dict__


async def test_an_unreachable_app_is_logged_once_per_outage(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/inngest"
    sock.close()  # nothing listens
    response = await harness.http.post("/fn/register", json=scripted_app.registration(url))
    assert response.status_code == 200
    await harness.send("scripted/go")
    [first] = await logged(caplog, "app.unreachable")
    assert first.levelno == logging.INFO and "not counted as an attempt" in first.getMessage()
    await harness.advance(timedelta(minutes=1))
    second = (await logged(caplog, "app.unreachable", 2))[1]
    assert second.levelno == logging.DEBUG


@asynccontextmanager
async def sleeping_run(
    backend: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[Harness, str]]:
    """An engine with a run of `sleeping` asleep (its start logged): (harness, run id)."""
    caplog.set_level(logging.INFO, logger=RUNS)
    harness = Harness(tmp_path, backend)
    await harness.start()
    try:
        await serve(harness, sleeping)
        await harness.send("scripted/go")
        [started] = await logged(caplog, "run.started")
        run_id = started.__dict__["run_id"]
        await asleep(harness, run_id)
        yield harness, run_id
    finally:
        await harness.stop()


async def cancel_and_fail(harness: Harness, run_id: str) -> None:
    def script(work: Work) -> None:
        run = work.tx.lock_run(run_id)
        assert run is not None
        lifecycle.finalize(work, run, RunStatus.CANCELLED, output_json=None, reason="by the test")
        raise RuntimeError("the script fails after the change: its transaction rolls back")

    with pytest.raises(RuntimeError):
        await harness.engine.executor.transact(script)


async def test_a_rolled_back_transaction_logs_nothing(
    backend: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with sleeping_run(backend, tmp_path, caplog) as (harness, run_id):
        await cancel_and_fail(harness, run_id)
        assert lines(caplog, "run.cancelled") == []
        run = await harness.run(run_id)
        assert run["status"] == "Running"


class RetryingStore:
    """Runs every script twice, the first time in a transaction that rolls back, as a store that
    retries a script after a serialization failure would."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def transact(self, script: Any) -> Any:
        class Retry(Exception):
            pass

        def first_try(tx: Any) -> None:
            script(tx)
            raise Retry

        with suppress(Retry):
            await self.store.transact(first_try)
        return await self.store.transact(script)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def test_a_script_run_again_logs_once(
    backend: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with sleeping_run(backend, tmp_path, caplog) as (harness, run_id):
        harness.engine.executor.store = RetryingStore(harness.store)
        try:
            await harness.engine.cancel_run(run_id)
        finally:
            harness.engine.executor.store = harness.store
        [cancelled] = lines(caplog, "run.cancelled")
        assert cancelled.__dict__["run_id"] == run_id
