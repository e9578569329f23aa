"""`GET /v1/stats` on both stores: a known workload at known fake-clock times (runs that complete, runs that
fail, a run held behind a concurrency limit for two minutes, and one still waiting) gives exact counts per
bucket, the backlog at each bucket's end, the queue latency percentiles and the step durations per function."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import fastapi
import pytest

import stepstone
import stepstone.fastapi
from stepstone.server.api import views
from tests.harness import Harness, eventually, free_socket

QUARTER = 15 * 60_000
MINUTE = timedelta(minutes=1)


def build(engine_url: str, gates: dict[str, asyncio.Event]) -> tuple[fastapi.FastAPI, stepstone.Stepstone]:
    client = stepstone.Stepstone(app_id="stats", is_dev=True, base_url=engine_url, environ={})

    def work_step(fail: bool) -> str:
        if fail:
            raise ValueError("no")
        return "ok"

    @client.create_function(fn_id="work", trigger=stepstone.TriggerEvent(event="stats/go"), retries=0)
    async def work(ctx: stepstone.Context) -> str:
        await ctx.step.run("a", work_step, bool(ctx.event.data.get("fail")))
        return await ctx.step.run("b", work_step, False)

    async def hold(gate: str) -> str:
        await gates[gate].wait()
        return gate

    @client.create_function(
        fn_id="gated",
        trigger=stepstone.TriggerEvent(event="stats/wait"),
        concurrency=[stepstone.Concurrency(limit=1)],
        retries=0,
    )
    async def gated(ctx: stepstone.Context) -> str:
        return await ctx.step.run("hold", hold, str(ctx.event.data["gate"]))

    app = fastapi.FastAPI()
    stepstone.fastapi.serve(app, client, [work, gated])
    return app, client


async def stats(harness: Harness, **params: str) -> dict[str, Any]:
    response = await harness.http.get("/v1/stats", params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def status_of(harness: Harness, event_id: str) -> str | None:
    runs = await harness.runs_for(event_id)
    return runs[0]["status"] if runs else None


async def reach(harness: Harness, event_id: str, status: str) -> None:
    await eventually(lambda: _is(harness, event_id, status))


async def _is(harness: Harness, event_id: str, status: str) -> bool:
    return await status_of(harness, event_id) == status


@pytest.fixture
async def workload(tmp_path: Path, backend: dict[str, Any]) -> Any:
    """Minute 0 of a quarter hour: 3 runs complete; minute 1: 2 fail; minute 2: run A holds the concurrency slot
    and B waits; minute 4: A and B complete, C holds the slot and D waits (until the test ends)."""
    harness = Harness(tmp_path, backend)
    harness.clock.set((harness.clock.now_ms() // QUARTER + 1) * QUARTER + 5_000)
    await harness.start()
    gates = {"first": asyncio.Event(), "last": asyncio.Event()}
    app, client = build(harness.url, gates)
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    t0 = harness.clock.now_ms() - 5_000

    for event_id in [await harness.send("stats/go") for _ in range(3)]:
        await reach(harness, event_id, "Completed")
    await harness.advance(MINUTE)
    for event_id in [await harness.send("stats/go", {"fail": True}) for _ in range(2)]:
        await reach(harness, event_id, "Failed")
    await harness.advance(MINUTE)
    a = await harness.send("stats/wait", {"gate": "first"})
    await reach(harness, a, "Running")
    b = await harness.send("stats/wait", {"gate": "first"})
    await reach(harness, b, "Queued")
    await harness.advance(2 * MINUTE)
    gates["first"].set()
    for event_id in (a, b):
        await reach(harness, event_id, "Completed")
    c = await harness.send("stats/wait", {"gate": "last"})
    await reach(harness, c, "Running")
    d = await harness.send("stats/wait", {"gate": "last"})
    await reach(harness, d, "Queued")
    yield harness, t0
    gates["last"].set()
    await harness.stop()
    await client.aclose()


def figures(bucket: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("started", "completed", "failed", "cancelled", "backlog", "queue_latency_p50_ms", "queue_latency_p95_ms")
    return tuple(bucket[key] for key in keys)


async def test_the_last_hour_by_minute(workload: Any) -> None:
    harness, t0 = workload
    data = await stats(harness, window="1h")
    assert data["window"] == "1h" and data["bucket_ms"] == 60_000 and len(data["buckets"]) == 60
    buckets = data["buckets"]
    assert buckets[55]["start"] == iso(t0) and buckets[-1]["start"] == iso(t0 + 4 * 60_000)
    assert [figures(bucket) for bucket in buckets[55:]] == [
        (3, 3, 0, 0, 0, 0, 0),
        (2, 0, 2, 0, 0, 0, 0),
        (1, 0, 0, 0, 1, 0, 0),  # A starts, B waits
        (0, 0, 0, 0, 1, None, None),
        (2, 2, 0, 0, 1, 0, 120_000),  # B starts after 2 minutes, C at once; D waits
    ]
    assert all(figures(bucket) == (0, 0, 0, 0, 0, None, None) for bucket in buckets[:55])
    assert data["totals"] == {
        "started": 8,
        "completed": 5,
        "failed": 2,
        "cancelled": 0,
        "failure_rate": round(2 / 7, 4),
        "backlog": 1,
        "backlog_max": 1,
        "queue_latency_p50_ms": 0,
        "queue_latency_p95_ms": 120_000,
    }
    # work: 3 x (a, b) + 2 x a, all at once on the fake clock; gated: A's step took 2 minutes, B's none.
    assert data["steps"] == [
        {"function_id": "stats-gated", "steps": 2, "duration_p50_ms": 0, "duration_p95_ms": 120_000},
        {"function_id": "stats-work", "steps": 8, "duration_p50_ms": 0, "duration_p95_ms": 0},
    ]


async def test_one_function_and_the_last_day(workload: Any) -> None:
    harness, t0 = workload
    gated = await stats(harness, window="1h", function_id="stats-gated")
    assert gated["function_id"] == "stats-gated"
    assert [(b["started"], b["completed"], b["backlog"]) for b in gated["buckets"][55:]] == [
        (0, 0, 0),
        (0, 0, 0),
        (1, 0, 1),
        (0, 0, 1),
        (2, 2, 1),
    ]
    assert [step["function_id"] for step in gated["steps"]] == ["stats-gated"]
    day = await stats(harness, window="24h")
    assert day["bucket_ms"] == 15 * 60_000 and len(day["buckets"]) == 96
    assert day["buckets"][-1]["start"] == iso(t0)  # the quarter hour the workload ran in
    assert figures(day["buckets"][-1]) == (8, 5, 2, 0, 1, 0, 120_000)
    assert sum(bucket["started"] for bucket in day["buckets"]) == 8


async def test_bad_parameters_are_400_and_an_unknown_function_404(workload: Any) -> None:
    harness, _ = workload
    for params in ({"window": "2h"}, {"window": ""}):
        answer = await harness.http.get("/v1/stats", params=params)
        assert answer.status_code == 400 and "use 1h or 24h" in answer.json()["error"], answer.text
    missing = await harness.http.get("/v1/stats", params={"function_id": "nope"})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    assert "/v1/stats" in (await harness.http.get("/openapi.json")).json()["paths"]


def iso(millis: int) -> str:
    text = views.iso(millis)
    assert text is not None
    return text


async def test_the_figures_survive_a_restart(workload: Any) -> None:
    """They are read from the store: a new engine on the same database answers the same."""
    harness, _ = workload
    before = await stats(harness, window="1h")
    await harness.restart()
    after = await stats(harness, window="1h")
    assert after["buckets"] == before["buckets"] and after["totals"] == before["totals"]
    assert after["steps"] == before["steps"]
