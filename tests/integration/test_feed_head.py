"""The change feed's `now`: a reader (the dashboard's live runs table) starts at the feed's end in one request
instead of reading every run ever changed; and run lists name each trigger event; on both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.harness import Harness, eventually, free_socket
from tests.integration import official_app


async def feed(harness: Harness, cursor: str) -> tuple[list[dict[str, Any]], str]:
    response = await harness.http.get("/v1/runs", params={"updated_after": cursor})
    assert response.status_code == 200, response.text
    answer = response.json()
    return answer["data"], answer["cursor"]


async def test_the_feed_from_now_starts_at_its_end_and_follows_new_changes(
    tmp_path: Path, backend: dict[str, Any]
) -> None:
    harness = Harness(tmp_path, backend)
    await harness.start()
    try:
        assert await feed(harness, "now") == ([], "0")  # an empty store: the start
        app, _ = official_app.build(harness.url, {})
        served = await harness.serve_app(app, free_socket())
        await harness.sync(f"{served.url}/api/inngest")
        for n in range(3):
            await harness.wait_run(await harness.send("test/three", {"n": n}))
        _, end = await feed(harness, "0")
        while True:  # read the whole feed to its end, as a reader without `now` must
            changed, after = await feed(harness, end)
            if not changed:
                break
            end = after
        assert await feed(harness, "now") == ([], end)  # the same end, in one request
        event_id = await harness.send("test/three", {"n": 9})
        seen: list[str] = []
        cursor = end

        async def completed() -> bool:
            nonlocal cursor
            changed, cursor = await feed(harness, cursor)
            seen.extend(run["run_id"] for run in changed if run["status"] == "Completed")
            runs = await harness.runs_for(event_id)
            return bool(runs) and runs[0]["run_id"] in seen

        await eventually(completed)
        assert len(set(seen)) == 1  # only the new run: nothing from before `now`
    finally:
        await harness.stop()


async def test_now_takes_no_other_cursor(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    await harness.start()
    try:
        response = await harness.http.get("/v1/runs", params={"updated_after": "now", "if": "true"})
        assert response.status_code == 400
        assert (await harness.http.get("/v1/runs", params={"updated_after": "later"})).status_code == 400
    finally:
        await harness.stop()


async def test_run_lists_name_each_trigger_event(tmp_path: Path, backend: dict[str, Any]) -> None:
    """Every list of runs (a page, a search, the change feed, an event's runs) carries `event_name`, so the
    dashboard's table asks for no event per row."""
    harness = Harness(tmp_path, backend)
    await harness.start()
    try:
        app, _ = official_app.build(harness.url, {})
        served = await harness.serve_app(app, free_socket())
        await harness.sync(f"{served.url}/api/inngest")
        event_id = await harness.send("test/three", {"n": 1})
        await harness.wait_run(event_id)
        answers = [
            await harness.http.get("/v1/runs"),
            await harness.http.get("/v1/runs", params={"if": "event.data.n == 1"}),
            await harness.http.get("/v1/runs", params={"updated_after": "0"}),
            await harness.http.get(f"/v1/events/{event_id}/runs"),
        ]
        for answer in answers:
            assert answer.status_code == 200, answer.text
            runs = [run for run in answer.json()["data"] if run["event_id"] == event_id]
            assert runs and all(run["event_name"] == "test/three" for run in runs), answer.json()
    finally:
        await harness.stop()
