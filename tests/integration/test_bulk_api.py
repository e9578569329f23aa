"""Bulk cancellations and replays over REST, on both stores: the request and answer shapes, the filters, the
progress, thousands of runs in batches, and never two runs for one (replay, original run), also after a crash."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from stepstone.protocol import durations
from stepstone.server.core.ids import ULIDS
from stepstone.server.execution import bulk
from stepstone.server.intake import flow
from stepstone.server.store.records import EventRecord, RunQuery, RunRecord, RunStatus
from tests.harness import Harness, eventually, free_socket
from tests.integration import official_app, scripted_app


def rfc3339(millis: int) -> str:
    return durations.format_time(datetime.fromtimestamp(millis / 1000, tz=UTC))


@pytest.fixture
async def setup(tmp_path: Path, backend: dict[str, Any]):
    harness = Harness(tmp_path, backend)
    await harness.start()
    app, _ = official_app.build(harness.url, {})
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield harness
    await harness.stop()


async def job_done(harness: Harness, path: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        answer = await harness.http.get(path)
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()["data"]
        return job if job["done"] else None

    return await eventually(check, timeout=30)


async def test_a_bulk_cancellation_cancels_the_matching_runs_that_have_not_ended(setup: Harness) -> None:
    harness = setup
    runs = [await harness.wait_run(await harness.send("test/sleep", {"n": n}), status="Running") for n in range(4)]
    done = await harness.wait_run(await harness.send("test/three", {"name": "x"}))
    now = harness.clock.now_ms()
    body = {
        "app_id": "official",
        "function_id": "sleeper",
        "started_before": rfc3339(now + 1000),
        "if": "event.data.n < 3",
    }
    answer = await harness.http.post("/v1/cancellations", json=body)
    assert answer.status_code == 200, answer.text
    created = answer.json()["data"]
    assert set(created) >= {"id", "created_at", "app_id", "function_id", "started_after", "started_before", "if"}
    assert created["app_id"] == "official" and created["function_id"] == "official-sleeper"
    assert created["if"] == "event.data.n < 3" and created["started_after"] is None

    job = await job_done(harness, f"/v1/cancellations/{created['id']}")
    assert job["matched"] == 3 and job["cancelled"] == 3
    statuses = [(await harness.run(run["run_id"]))["status"] for run in runs]
    assert statuses == ["Cancelled", "Cancelled", "Cancelled", "Running"]
    assert (await harness.run(runs[0]["run_id"]))["reason"] == f"cancelled by bulk cancellation {created['id']}"
    assert (await harness.run(done["run_id"]))["status"] == "Completed"
    listed = (await harness.http.get("/v1/cancellations")).json()
    assert [item["id"] for item in listed["data"]] == [created["id"]] and listed["cursor"] is None

    # Again, by the registered slug and a time range that leaves the first three runs out: one left to cancel.
    body = {
        "app_id": "official",
        "function_id": "official-sleeper",
        "started_after": rfc3339(now - 3_600_000),
        "started_before": rfc3339(now + 1000),
    }
    second = (await harness.http.post("/v1/cancellations", json=body)).json()["data"]
    job = await job_done(harness, f"/v1/cancellations/{second['id']}")
    assert job["matched"] == 1 and job["cancelled"] == 1
    assert (await harness.run(runs[3]["run_id"]))["status"] == "Cancelled"


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"started_before": None}, 400, "started_before"),
        ({"started_before": "yesterday"}, 400, "RFC 3339"),
        ({"started_before": "+60s"}, 400, "at most 5 s"),
        ({"started_after": "+0s"}, 400, "started_after must be before"),
        ({"if": "event.data.n <"}, 400, "if: invalid expression"),
        ({"app_id": "nope"}, 404, "app 'nope' not found"),
        ({"function_id": "nope"}, 404, "function 'nope' of app 'official' not found"),
        ({"extra": 1}, 400, "extra"),
    ],
)
async def test_a_bad_bulk_request_is_refused_saying_why(
    setup: Harness, change: dict[str, Any], status: int, words: str
) -> None:
    harness = setup
    now = harness.clock.now_ms()
    body: dict[str, Any] = {"app_id": "official", "function_id": "sleeper", "started_before": rfc3339(now)}
    for key, value in change.items():
        if value is None:
            body.pop(key)
        elif isinstance(value, str) and value.startswith("+"):
            body[key] = rfc3339(now + int(value[1:-1]) * 1000)
        else:
            body[key] = value
    for path in ("/v1/cancellations", "/v1/replays"):
        answer = await harness.http.post(path, json={**body, **({"statuses": ["Failed"]} if "replays" in path else {})})
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]
    assert (await harness.http.get("/v1/cancellations/01ARZ3NDEKTSV4RRFFQ69G5FAV")).status_code == 404


async def test_a_replay_needs_ended_statuses(setup: Harness) -> None:
    body = {"app_id": "official", "function_id": "sleeper", "started_before": rfc3339(setup.clock.now_ms())}
    for statuses in ([], ["Running"], None):
        answer = await setup.http.post("/v1/replays", json={**body, **({"statuses": statuses} if statuses else {})})
        assert answer.status_code == 400 and "statuses" in answer.json()["error"]


async def test_a_replay_starts_one_new_run_per_matching_run(setup: Harness) -> None:
    harness = setup
    failed = await harness.wait_run(await harness.send("test/doomed"), status="Failed")
    completed = await harness.wait_run(await harness.send("test/child", {"n": 2}))
    now = harness.clock.now_ms()
    for function_id in ("doomed", "child"):
        body = {"app_id": "official", "function_id": function_id, "statuses": ["Failed", "Cancelled"]}
        body["started_before"] = rfc3339(now + 1000)
        answer = await harness.http.post("/v1/replays", json=body)
        assert answer.status_code == 200, answer.text
        job = await job_done(harness, f"/v1/replays/{answer.json()['data']['id']}")
        assert job["statuses"] == ["Failed", "Cancelled"]
        assert (job["matched"], job["started"]) == ((1, 1) if function_id == "doomed" else (0, 0))
        if function_id == "doomed":
            replay_id = job["id"]
    original = await harness.run(failed["run_id"])
    [new_id] = original["reruns"]
    new = await harness.run(new_id)
    assert new["original_run_id"] == failed["run_id"] and new["replay_id"] == replay_id
    assert (await harness.run(completed["run_id"]))["reruns"] == []
    replays = (await harness.http.get("/v1/replays")).json()["data"]
    assert len(replays) == 2 and replays[-1]["id"] == replay_id  # newest first
    assert (await harness.http.get(f"/v1/cancellations/{replay_id}")).status_code == 404


def insert_failed_runs(tx: Any, function: Any, count: int, now: int) -> list[str]:
    """`count` Failed runs of `function`, sharing one stored event: thousands of runs in one transaction."""
    event = EventRecord(0, ULIDS.new(now), "scripted/go", "", orjson.dumps({"name": "scripted/go"}).decode(), now, now)
    seq = tx.insert_event(event)
    ids = []
    for _ in range(count):
        run = RunRecord(
            id=ULIDS.new(now),
            function_id=function.id,
            function_slug=function.slug,
            function_version=1,
            app_version=None,
            event_id=event.internal_id,
            status=RunStatus.FAILED,
            created_at=now,
            ended_at=now,
        )
        tx.insert_run(run, [seq])
        ids.append(run.id)
    return ids


async def test_thousands_of_runs_are_replayed_in_batches_once_each_even_after_a_crash(
    tmp_path: Path, backend: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = Harness(tmp_path, backend, workers=0)  # the new runs stay queued: no app is called
    await harness.start()
    try:
        registration = scripted_app.registration("http://127.0.0.1:9/api/inngest")
        assert (await harness.http.post("/fn/register", json=registration)).status_code == 200
        now = harness.clock.now_ms()
        function = await harness.store.read(lambda tx: tx.get_function("scripted-fn"))
        originals = await harness.store.transact(lambda tx: insert_failed_runs(tx, function, 2500, now))
        await harness.advance(timedelta(seconds=1))

        # A batch that fails half-way (a crash) leaves nothing behind: its runs and the job's cursor roll back.
        started = 0
        real_start = flow.start

        def crashing_start(*args: Any, **kwargs: Any) -> RunRecord:
            nonlocal started
            started += 1
            if started == 50:
                raise RuntimeError("the engine died here")
            return real_start(*args, **kwargs)

        monkeypatch.setattr(bulk.flow, "start", crashing_start)

        async def idle() -> None:  # this engine's runner leaves the job to the test
            return None

        monkeypatch.setattr(harness.engine.bulk, "work_open_jobs", idle)
        body = {"app_id": "scripted", "function_id": "fn", "statuses": ["Failed"], "started_before": rfc3339(now + 1)}
        job = (await harness.http.post("/v1/replays", json=body)).json()["data"]
        with pytest.raises(RuntimeError, match="died"):
            await harness.engine.executor.transact(lambda work: bulk.work_batch(work, job["id"]))
        after_crash = (await harness.http.get(f"/v1/replays/{job['id']}")).json()["data"]
        assert (after_crash["matched"], after_crash["started"], after_crash["done"]) == (0, 0, False)
        monkeypatch.setattr(bulk.flow, "start", real_start)

        # One batch by hand, then a restart: the new engine's worker resumes after the last batch that committed.
        more, _ = await harness.engine.executor.transact(lambda work: bulk.work_batch(work, job["id"]))
        assert more
        monkeypatch.undo()
        await harness.restart()
        done = await job_done(harness, f"/v1/replays/{job['id']}")
        assert (done["matched"], done["started"]) == (2500, 2500)

        def replayed(tx: Any) -> list[tuple[str | None, str | None]]:
            return [
                (run.original_run_id, tx.replay_of(run.id))
                for run in tx.list_runs(RunQuery(function_slug="scripted-fn", limit=10_000))
                if run.status == RunStatus.QUEUED
            ]

        pairs = await harness.store.read(replayed)
        assert len(pairs) == 2500 and {original for original, _ in pairs} == set(originals)
        assert {replay for _, replay in pairs} == {job["id"]}
        # The unique key refuses a second run for the same (replay, original run).
        assert not await harness.store.transact(lambda tx: tx.claim_replay(job["id"], originals[0], "another"))
    finally:
        await harness.stop()


async def test_bulk_batches_leave_room_for_other_requests(setup: Harness) -> None:
    """While a job runs, the API answers: its batches are separate transactions."""
    harness = setup
    now = harness.clock.now_ms()
    body = {"app_id": "official", "function_id": "sleeper", "started_before": rfc3339(now)}
    created = (await harness.http.post("/v1/cancellations", json=body)).json()["data"]
    answers = await asyncio.gather(*(harness.http.get("/v1/runs") for _ in range(5)))
    assert all(answer.status_code == 200 for answer in answers)
    assert (await job_done(harness, f"/v1/cancellations/{created['id']}"))["matched"] == 0


@pytest.mark.postgres
async def test_two_engines_share_a_job_one_batch_at_a_time_on_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    backend = {"kind": "postgres", "dsn": postgres_dsn}
    one, two = Harness(tmp_path, backend, workers=0), Harness(tmp_path, backend, workers=0)
    await one.start()
    await two.start()
    try:
        registration = scripted_app.registration("http://127.0.0.1:9/api/inngest")
        assert (await one.http.post("/fn/register", json=registration)).status_code == 200
        now = one.clock.now_ms()
        function = await one.store.read(lambda tx: tx.get_function("scripted-fn"))
        originals = await one.store.transact(lambda tx: insert_failed_runs(tx, function, 1200, now))
        two.clock.advance(timedelta(seconds=1))
        await one.advance(timedelta(seconds=1))

        # While one engine holds a job's lock, the other's batch skips the job instead of waiting for it.
        body = {"app_id": "scripted", "function_id": "fn", "statuses": ["Cancelled"], "started_before": rfc3339(now)}
        idle = (await one.http.post("/v1/replays", json=body)).json()["data"]
        await job_done(one, f"/v1/replays/{idle['id']}")
        held, release = threading.Event(), threading.Event()

        def hold(tx: Any) -> None:
            tx.lock_bulk_job(idle["id"])
            held.set()
            release.wait(10)

        holding = asyncio.ensure_future(one.store.transact(hold))
        await asyncio.get_running_loop().run_in_executor(None, held.wait, 10)
        assert await two.store.transact(lambda tx: tx.lock_bulk_job(idle["id"])) is None
        release.set()
        await holding

        body["statuses"], body["started_before"] = ["Failed"], rfc3339(now + 1)
        job = (await one.http.post("/v1/replays", json=body)).json()["data"]
        two.engine.bulk.wake()
        done = await job_done(two, f"/v1/replays/{job['id']}")
        assert (done["matched"], done["started"]) == (1200, 1200)

        def replayed(tx: Any) -> list[str | None]:
            runs = tx.list_runs(RunQuery(function_slug="scripted-fn", limit=10_000))
            return [run.original_run_id for run in runs if run.status == RunStatus.QUEUED]

        started = await one.store.read(replayed)
        assert len(started) == 1200 and set(started) == set(originals)
    finally:
        await two.stop()
        await one.stop()
