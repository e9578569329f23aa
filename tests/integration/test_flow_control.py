"""Flow control end to end on both stores, with the fake clock; each test restarts the engine midway."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Harness, eventually, free_socket
from tests.integration import flow_app


@pytest.fixture
async def setup(tmp_path: Path, backend: dict[str, Any]):
    harness = Harness(tmp_path, backend)
    await harness.start()
    probe = flow_app.Probe()
    app, client = flow_app.build(harness.url, probe)
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    yield harness, probe
    for gate in probe.gates.values():
        gate.set()
    await harness.stop()
    await client.aclose()


async def event_answer(harness: Harness, event_id: str) -> dict[str, Any]:
    response = await harness.http.get(f"/v1/events/{event_id}/runs")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def skipped(harness: Harness, event_id: str) -> list[str]:
    """Why the functions the event triggered skipped it (waits for at least one)."""

    async def reasons() -> list[str]:
        return [skip["reason"] for skip in (await event_answer(harness, event_id))["skipped"]]

    return await eventually(reasons)


async def queued_because(harness: Harness, event_id: str, reason: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        runs = await harness.runs_for(event_id)
        return runs[0] if runs and runs[0]["status"] == "Queued" and runs[0]["reason"] == reason else None

    return await eventually(check)


async def settle(harness: Harness) -> None:
    """Let the engine pass over its queue a few times (for asserting that something did NOT happen)."""
    for _ in range(5):
        harness.engine.wake()
        await asyncio.sleep(0.06)


async def test_concurrency_limits_each_tenant_and_queued_runs_start_as_slots_free(setup) -> None:
    harness, probe = setup
    gates = [probe.gate("x0"), probe.gate("x1")]
    held = [await harness.send("flow/tenant", {"tenant": "x", "label": f"x{n}"}) for n in range(2)]
    await eventually(lambda: _async({"x0", "x1"} <= set(probe.began)))
    waiting = await harness.send("flow/tenant", {"tenant": "x", "label": "x2"})
    await queued_because(harness, waiting, "concurrency limit")
    other = await harness.send("flow/tenant", {"tenant": "y", "label": "y0"})
    await harness.wait_run(other)  # another tenant has its own slots
    await harness.restart()  # cuts x0 and x1 off in flight: their steps run again, holding the slots again
    for gate in gates:
        gate.set()
    more = [await harness.send("flow/tenant", {"tenant": t, "label": f"{t}{n}"}) for n in range(3, 8) for t in "xy"]
    for event_id in [*held, waiting, *more]:
        await harness.wait_run(event_id)
    assert probe.most["x"] == 2 and probe.most["y"] <= 2  # never more than the limit per tenant


async def test_a_sleeping_run_holds_no_concurrency_slot(setup) -> None:
    harness, probe = setup
    first = await harness.send("flow/nap", {"label": "one"})
    second = await harness.send("flow/nap", {"label": "two"})
    for event_id in (first, second):
        await eventually(lambda event_id=event_id: sleeping(harness, event_id))
    await harness.restart()
    await harness.advance(timedelta(hours=1, seconds=1))
    await harness.wait_run(first)
    await harness.wait_run(second)
    assert probe.most["napper"] == 1


async def test_a_queued_run_says_it_waits_for_a_shared_env_limit(setup) -> None:
    harness, probe = setup
    gate = probe.gate("held")
    held = await harness.send("flow/shared-a", {"label": "held"})
    await eventually(lambda: _async("held" in probe.began))
    other = await harness.send("flow/shared-b", {"label": "other"})  # another function, the same key
    await queued_because(harness, other, "concurrency limit")
    await settle(harness)
    assert "other" not in probe.began
    gate.set()
    await harness.wait_run(held)
    run = await harness.wait_run(other)
    assert run["reason"] is None and probe.most["mailer"] == 1


async def test_one_key_with_10000_queued_runs_does_not_hold_back_another_key(setup) -> None:
    harness, probe = setup
    gates = [probe.gate("busy0"), probe.gate("busy1")]  # the busy key's two slots stay taken
    events = [{"name": "flow/tenant", "data": {"tenant": "busy", "label": f"busy{n}"}} for n in range(10_000)]
    for start in range(0, len(events), 1_000):
        response = await harness.http.post("/e/key", json=events[start : start + 1_000], timeout=120)
        assert response.status_code == 200, response.text
    await eventually(lambda: _async({"busy0", "busy1"} <= set(probe.began)))
    quiet = await harness.send("flow/tenant", {"tenant": "quiet", "label": "quiet"})
    run = await harness.wait_run(quiet, timeout=30)
    assert run["output"] == "quiet/b"
    assert sorted(label for label in probe.began if label.startswith("busy")) == ["busy0", "busy1"]
    queued = (await harness.http.get("/v1/runs", params={"status": "Queued", "limit": 1})).json()
    assert queued["data"][0]["reason"] == "concurrency limit"
    for gate in gates:
        gate.set()


async def test_throttle_delays_runs_beyond_the_limit_and_drops_none(setup) -> None:
    harness, probe = setup
    ids = [await harness.send("flow/throttle", {"user": "u", "label": f"t{n}"}) for n in range(3)]
    other = await harness.send("flow/throttle", {"user": "v", "label": "v0"})
    await harness.wait_run(ids[0])
    await harness.wait_run(other)  # another key has its own limit
    await queued_because(harness, ids[1], "throttled")
    await harness.restart()
    await settle(harness)
    assert (await harness.runs_for(ids[1]))[0]["status"] == "Queued"
    await harness.advance(timedelta(minutes=1))
    await harness.wait_run(ids[1])
    assert (await harness.runs_for(ids[2]))[0]["status"] == "Queued"
    await harness.advance(timedelta(minutes=1))
    await harness.wait_run(ids[2])
    assert [label for label in probe.began if label.startswith("t")] == ["t0", "t1", "t2"]


async def test_rate_limit_drops_events_beyond_it_and_says_so(setup) -> None:
    harness, _ = setup
    first = await harness.send("flow/rate", {"user": "u", "label": "first"})
    await harness.wait_run(first)
    await harness.restart()
    dropped = await harness.send("flow/rate", {"user": "u", "label": "dropped"})
    assert await skipped(harness, dropped) == ["rate limited"]
    assert await harness.runs_for(dropped) == []
    await harness.wait_run(await harness.send("flow/rate", {"user": "v"}))  # another key
    await harness.advance(timedelta(hours=1))
    await harness.wait_run(await harness.send("flow/rate", {"user": "u"}))


async def test_debounce_runs_once_with_the_last_event_of_a_burst(setup) -> None:
    harness, _ = setup
    ids = []
    for n in range(3):
        ids.append(await harness.send("flow/debounce", {"user": "u", "label": f"d{n}"}))
        await harness.advance(timedelta(minutes=1))
    waiting = (await event_answer(harness, ids[2]))["waiting"]
    assert [(hold["function_id"], hold["reason"]) for hold in waiting] == [("flow-debounced", "debounced")]
    assert (await skipped(harness, ids[0]))[0].startswith("debounced")
    await harness.restart()
    await harness.advance(timedelta(minutes=3))
    await settle(harness)
    assert [await harness.runs_for(event_id) for event_id in ids] == [[], [], []]  # 4 quiet minutes of 5
    await harness.advance(timedelta(minutes=2))
    run = await harness.wait_run(ids[2])
    assert run["output"] == {"label": "d2", "events": 1}
    assert await harness.runs_for(ids[0]) == [] and await harness.runs_for(ids[1]) == []


async def test_debounce_starts_no_later_than_its_timeout(setup) -> None:
    harness, _ = setup
    ids = [await harness.send("flow/debounce", {"user": "w", "label": "w0"})]
    for n, pause in ((1, 4), (2, 4), (3, 3)):  # events at minutes 0, 4, 8 and 11: never 5 quiet minutes
        await harness.advance(timedelta(minutes=pause))
        if n == 2:
            await harness.restart()
        ids.append(await harness.send("flow/debounce", {"user": "w", "label": f"w{n}"}))
    await settle(harness)
    assert [await harness.runs_for(event_id) for event_id in ids] == [[], [], [], []]
    await harness.advance(timedelta(minutes=1))  # minute 12: the timeout, 4 minutes before w3's quiet period ends
    run = await harness.wait_run(ids[3])
    assert run["output"] == {"label": "w3", "events": 1}


async def test_a_batch_runs_when_full_or_when_its_timeout_expires(setup) -> None:
    harness, _ = setup
    full = [await harness.send("flow/batch", {"user": "u", "bulk": True, "label": f"f{n}"}) for n in range(3)]
    run = await harness.wait_run(full[0])
    assert run["output"] == ["f0", "f1", "f2"]
    assert (await harness.wait_run(full[2]))["run_id"] == run["run_id"]
    partial = [await harness.send("flow/batch", {"user": "u", "bulk": True, "label": f"p{n}"}) for n in range(2)]
    waiting = (await event_answer(harness, partial[1]))["waiting"]
    assert [(hold["function_id"], hold["reason"]) for hold in waiting] == [("flow-batched", "batched")]
    await harness.restart()
    await harness.advance(timedelta(seconds=29))
    await settle(harness)
    assert await harness.runs_for(partial[0]) == []
    await harness.advance(timedelta(seconds=1))
    assert (await harness.wait_run(partial[0]))["output"] == ["p0", "p1"]


async def test_a_batch_is_per_key_and_skips_events_its_if_rejects(setup) -> None:
    harness, _ = setup
    alone = await harness.send("flow/batch", {"user": "u", "label": "alone"})  # no `bulk`: not batched
    assert (await harness.wait_run(alone))["output"] == ["alone"]
    u = await harness.send("flow/batch", {"user": "u", "bulk": True, "label": "u0"})
    v = await harness.send("flow/batch", {"user": "v", "bulk": True, "label": "v0"})
    await harness.advance(timedelta(seconds=30))
    assert (await harness.wait_run(u))["output"] == ["u0"]
    assert (await harness.wait_run(v))["output"] == ["v0"]


async def test_priority_reorders_queued_runs(setup) -> None:
    harness, probe = setup
    gate = probe.gate("first")
    first = await harness.send("flow/priority", {"p": 0, "label": "first"})
    await eventually(lambda: _async("first" in probe.began))
    for label, p in (("plain", 0), ("late", -30), ("early", 30), ("plain2", 0), ("urgent", 600)):
        await harness.send("flow/priority", {"p": p, "label": label})
    await harness.restart()  # cuts `first` off in flight: its call is queued again, with its own priority (0)
    gate.set()
    await harness.wait_run(first)
    await eventually(lambda: _async(len(probe.began) == 7))
    assert probe.began == ["first", "urgent", "early", "first", "plain", "plain2", "late"]


async def test_idempotency_starts_one_run_per_key_within_24_hours(setup) -> None:
    harness, _ = setup
    first = await harness.send("flow/order", {"order": "A-1", "label": "first"})
    await harness.wait_run(first)
    await harness.restart()
    again = await harness.send("flow/order", {"order": "A-1", "label": "again"})
    assert (await skipped(harness, again))[0].startswith("idempotent duplicate")
    await harness.wait_run(await harness.send("flow/order", {"order": "B-2"}))
    await harness.advance(timedelta(hours=23))
    assert (await skipped(harness, await harness.send("flow/order", {"order": "A-1"})))[0].startswith("idempotent")
    await harness.advance(timedelta(hours=1, seconds=1))
    await harness.wait_run(await harness.send("flow/order", {"order": "A-1"}))


async def test_singleton_skip_keeps_one_run_per_key(setup) -> None:
    harness, _ = setup
    holder = await harness.send("flow/single-skip", {"user": "u", "label": "holder"})
    await harness.wait_run(holder, status="Running")
    await harness.restart()
    extra = await harness.send("flow/single-skip", {"user": "u", "label": "extra"})
    run = await harness.wait_run(extra, status="Skipped")
    assert run["reason"].startswith("singleton")
    await harness.wait_run(await harness.send("flow/single-skip", {"user": "v"}), status="Running")
    await harness.send("flow/go", {"user": "u"})
    assert (await harness.wait_run(holder))["output"] == "holder"
    after = await harness.send("flow/single-skip", {"user": "u", "label": "after"})
    await harness.wait_run(after, status="Running")  # the key is free again


async def test_singleton_cancel_replaces_the_running_run(setup) -> None:
    harness, _ = setup
    old = await harness.send("flow/single-cancel", {"user": "u", "label": "old"})
    await harness.wait_run(old, status="Running")
    await harness.restart()
    new = await harness.send("flow/single-cancel", {"user": "u", "label": "new"})
    cancelled = await harness.wait_run(old, status="Cancelled")
    assert cancelled["reason"].startswith("singleton")
    await harness.wait_run(new, status="Running")
    await harness.send("flow/go", {"user": "u"})
    assert (await harness.wait_run(new))["output"] == "new"


async def test_timeouts_cancel_runs_that_wait_too_long_to_start_or_to_finish(setup) -> None:
    harness, probe = setup
    gate = probe.gate("blocker")
    blocker = await harness.send("flow/start-timeout", {"label": "blocker"})
    await eventually(lambda: _async("blocker" in probe.began))
    late = await harness.send("flow/start-timeout", {"label": "late"})
    slow = await harness.send("flow/finish-timeout", {"label": "slow"})
    await harness.wait_run(slow, status="Running")
    await harness.restart()
    await harness.advance(timedelta(minutes=2))
    await harness.wait_run(late, status="Cancelled")
    await harness.advance(timedelta(minutes=9))
    await harness.wait_run(slow, status="Cancelled")
    gate.set()
    await harness.wait_run(blocker)
    assert "late" not in probe.began


async def test_bad_flow_control_fails_the_sync_and_changes_nothing(setup) -> None:
    harness, _ = setup
    before = (await harness.http.get("/v1/functions")).json()["data"]
    bad = {
        "url": "http://127.0.0.1:9/api/inngest",
        "appName": "flow",
        "functions": [
            {
                "id": "flow-throttled",
                "triggers": [{"event": "flow/throttle"}],
                "steps": {"step": {"runtime": {"url": "http://127.0.0.1:9/api/inngest?fnId=flow-throttled"}}},
                "throttle": {"limit": 1, "period": "1m", "key": "event.data.("},
                "rateLimit": {"limit": 1, "period": "2d"},
            }
        ],
    }
    response = await harness.http.post("/fn/register", json=bad)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "function 'flow-throttled': throttle.key" in error
    assert "function 'flow-throttled': rateLimit.period: must be at most 24h" in error
    assert (await harness.http.get("/v1/functions")).json()["data"] == before


async def _async(value: bool) -> bool:
    return value


async def test_a_changed_concurrency_limit_applies_to_runs_already_queued(setup) -> None:
    harness, probe = setup
    gates = [probe.gate("one/before"), probe.gate("two/before")]
    first = await harness.send("flow/nap", {"label": "one"})
    await eventually(lambda: _async("one/before" in probe.began))
    second = await harness.send("flow/nap", {"label": "two"})
    await queued_because(harness, second, "concurrency limit")
    app, client = flow_app.build(harness.url, probe, napper_limit=2)
    served = await harness.serve_app(app, free_socket())
    await harness.sync(f"{served.url}/api/inngest")
    await eventually(lambda: _async("two/before" in probe.began))  # the new limit (2) lets it start
    third = await harness.send("flow/nap", {"label": "three"})
    await queued_because(harness, third, "concurrency limit")  # two in flight: the new limit is full
    for gate in gates:
        gate.set()
    for event_id in (first, second, third):
        await eventually(lambda event_id=event_id: sleeping(harness, event_id))
    await harness.advance(timedelta(hours=1, seconds=1))
    for event_id in (first, second, third):
        await harness.wait_run(event_id)
    await client.aclose()


async def sleeping(harness: Harness, event_id: str) -> bool:
    runs = await harness.runs_for(event_id)
    steps = (await harness.run(runs[0]["run_id"]))["steps"] if runs else []
    return any(step["status"] == "Sleeping" for step in steps)


async def test_a_batch_passes_the_rate_limit_when_its_run_starts(setup) -> None:
    harness, _ = setup
    ids = [await harness.send("flow/batch-limited", {"n": n}) for n in range(4)]
    assert (await harness.wait_run(ids[0]))["output"] == 2
    assert await skipped(harness, ids[2]) == ["rate limited"]
    assert await skipped(harness, ids[3]) == ["rate limited"]


async def test_cron_runs_pass_the_rate_limit(setup) -> None:
    harness, _ = setup

    async def ticks() -> list[dict[str, Any]]:
        answer = await harness.http.get("/v1/runs", params={"function_id": "flow-ticker"})
        runs: list[dict[str, Any]] = answer.json()["data"]
        return runs

    for _ in range(3):
        await harness.advance(timedelta(minutes=1))
        await settle(harness)
    assert len(await eventually(ticks)) == 1
    await harness.advance(timedelta(hours=1))
    await eventually(lambda: _async_len(ticks, 2))


async def test_an_invoke_skipped_by_a_singleton_fails_at_once_and_a_rerun_is_skipped(setup) -> None:
    harness, _ = setup
    holder = await harness.send("flow/single-skip", {"user": "u", "label": "holder"})
    held = await harness.wait_run(holder, status="Running")
    caller = await harness.wait_run(await harness.send("flow/invoke", {"user": "u"}), function_id="flow-invoker")
    assert caller["output"].startswith("failed: invoked function skipped (singleton")
    response = await harness.http.post(f"/v1/runs/{held['run_id']}/rerun")
    assert response.status_code == 200, response.text
    rerun = response.json()["data"]
    assert rerun["status"] == "Skipped" and rerun["reason"].startswith("singleton")
    assert rerun["original_run_id"] == held["run_id"]


async def _async_len(read: Any, count: int) -> bool:
    return len(await read()) == count
