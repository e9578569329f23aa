"""The official SDKs' functions on Stepstone: one engine and one app per SDK, one test per feature.

The same events go to the Python app (`py_app.py`) and the TypeScript app (`ts/app.mjs`, with its
default checkpoints and with `checkpointing: false`); every check reads the engine's REST API, and
step bodies note each execution in a file, so memoization is counted rather than assumed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.compat.stack import PYTHON, TYPESCRIPT, TYPESCRIPT_CLASSIC, Stack, serve, wait_until

pytestmark = pytest.mark.slow
compat = pytest.mark.compat


@pytest.fixture(scope="module", params=[PYTHON, TYPESCRIPT, TYPESCRIPT_CLASSIC])
def sdk(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, sdk: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if sdk != PYTHON:
        request.getfixturevalue("ts_sdk")
    with serve(sdk, tmp_path_factory.mktemp(sdk)) as running:
        yield running


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex[:12]


def step_of(run: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(step for step in run["steps"] if step["id"] == step_id)


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def run_multi_step(stack: Stack, token: str) -> dict[str, Any]:
    event_id = stack.send("compat/multi-step", token=token)
    run = stack.engine.first_run(event_id)
    stack.engine.wait_step(run["run_id"], "nap")
    stack.engine.advance("1m")
    return stack.engine.wait_run(event_id)


@compat("Steps", "`step.run`: several steps, then the function's return value")
def test_multi_step_function_returns_its_value(stack: Stack, token: str) -> None:
    run = run_multi_step(stack, token)
    assert run["output"] == {"sum": 6, "token": token}
    assert [(s["id"], s["status"], s["output"]) for s in run["steps"]] == [
        ("a", "Completed", 1),
        ("b", "Completed", 2),
        ("nap", "Completed", None),
        ("c", "Completed", 3),
    ]


@compat("Steps", "memoized steps: each step body runs once across replays")
def test_each_step_body_runs_once(stack: Stack, token: str) -> None:
    run = run_multi_step(stack, token)
    assert run["status"] == "Completed"
    assert stack.app.notes_of(token) == ["a", "b", "c"]


@compat("Protocol", "checkpoints (`/v1/checkpoint/{run}/async`, `RunComplete`) or the classic protocol")
def test_checkpoint_mode_is_used_exactly_by_the_typescript_sdk(stack: Stack, token: str) -> None:
    run = run_multi_step(stack, token)
    checkpoints = stack.engine.log.read_text().count(f"POST /v1/checkpoint/{run['run_id']}/async 200")
    assert run["output"] == {"sum": 6, "token": token}
    if stack.sdk == TYPESCRIPT:
        assert checkpoints >= 3  # a and b before the sleep; c and RunComplete after it
    else:
        assert checkpoints == 0


@compat("Time", "`sleep` for a duration, on the engine clock")
def test_sleep(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/sleep", token=token, seconds=stack.sleep_seconds(3600))
    run = stack.engine.first_run(event_id)
    stack.engine.wait_step(run["run_id"], "nap", "Sleeping")
    stack.engine.advance("30m")
    stack.engine.advance("31m")
    run = stack.engine.wait_run(event_id)
    assert run["output"] == "rested"
    nap = step_of(run, "nap")
    assert seconds_between(nap["started_at"], nap["ended_at"]) >= 3590


@compat("Time", "`sleep_until` / `sleepUntil` a time")
def test_sleep_until(stack: Stack, token: str) -> None:
    until = stack.engine.now() + timedelta(hours=1)
    event_id = stack.send("compat/sleep-until", token=token, until=until.isoformat())
    run = stack.engine.first_run(event_id)
    stack.engine.wait_step(run["run_id"], "nap", "Sleeping")
    stack.engine.advance("30m")
    stack.engine.advance("31m")
    run = stack.engine.wait_run(event_id)
    assert run["output"] == "woke"
    assert datetime.fromisoformat(step_of(run, "nap")["ended_at"]) >= until - timedelta(seconds=1)


@compat("Events", "`wait_for_event` matched by an `if` comparing `event.` and `async.` fields")
def test_wait_for_event_matched(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/wait", id=token)
    run = stack.engine.first_run(event_id)
    stack.engine.wait_step(run["run_id"], "approval", "Waiting")
    stack.send("compat/approve", id=f"{token}-other", who="mallory")
    stack.send("compat/approve", id=token, who="alice")
    run = stack.engine.wait_run(event_id)
    assert run["output"] == {"id": token, "who": "alice"}


@compat("Events", "`wait_for_event` timed out: the step gives null")
def test_wait_for_event_timed_out(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/wait", id=token)
    run = stack.engine.first_run(event_id)
    stack.engine.wait_step(run["run_id"], "approval", "Waiting")
    stack.engine.advance("2h")
    run = stack.engine.wait_run(event_id)
    assert run["output"] is None
    assert step_of(run, "approval")["status"] == "Completed"


@compat("Invoke", "`invoke`: the child's output")
def test_invoke_returns_the_child_output(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/parent", target="child", token=token)
    run = stack.engine.wait_run(event_id)
    assert run["output"] == {"result": {"doubled": 42}}
    children = stack.engine.get("/v1/runs", function_id=stack.slug("child"))["data"]
    assert [c["status"] for c in children if c["parent_run_id"] == run["run_id"]] == ["Completed"]


@compat("Invoke", "`invoke` of a function without triggers")
def test_invoke_of_a_function_without_triggers(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/parent", target="invoke-only", token=token)
    run = stack.engine.wait_run(event_id)
    assert run["output"] == {"result": {"tripled": 63}}
    assert stack.engine.functions()[stack.slug("invoke-only")]["triggers"] == []


@compat("Invoke", "`invoke` of a failing function raises the child's error")
def test_invoke_of_a_failing_function(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/parent", target="failing", token=token)
    run = stack.engine.wait_run(event_id)
    assert "child broke" in run["output"]["error"]["message"]


@compat("Invoke", "`invoke` timeout raises `InngestInvokeTimeoutError`")
def test_invoke_times_out(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/parent", target="slow", token=token)
    run = stack.engine.first_run(event_id)
    stack.engine.wait_step(run["run_id"], "call", "Invoking")
    child = wait_until(
        lambda: next(
            (
                c
                for c in stack.engine.get("/v1/runs", function_id=stack.slug("slow-child"))["data"]
                if c["parent_run_id"] == run["run_id"]
            ),
            None,
        ),
        what="the child run",
    )
    stack.engine.wait_step(child["run_id"], "never", "Waiting")
    stack.engine.advance("31m")
    run = stack.engine.wait_run(event_id)
    error = run["output"]["error"]
    assert "InngestInvokeTimeoutError" in f"{error['name']} {error['message']}" or "Timed out" in error["message"]
    assert stack.engine.run(child["run_id"])["status"] == "Running"


@compat("Events", "a trigger's `expression` / `if` filters events")
def test_trigger_expression_filters_events(stack: Stack, token: str) -> None:
    small, large = (stack.send("compat/filtered", token=token, amount=amount) for amount in (50, 500))
    assert stack.engine.wait_run(large)["output"] == {"amount": 500}
    assert stack.engine.runs_of_event(small) == []


@compat("Events", "a wildcard trigger (`compat/wild.*`)")
def test_wildcard_trigger(stack: Stack, token: str) -> None:
    run = stack.engine.wait_run(stack.send("compat/wild.card", token=token))
    assert run["output"] == {"name": "compat/wild.card"}


@compat("Events", "the SDK's `send` returns before the function it triggered starts (client middleware)")
def test_send_returns_before_the_function_starts(stack: Stack, token: str) -> None:
    # The app's client middleware notes `after_send_events` and `transform_input` (py_app.py, ts/app.mjs).
    event_id = stack.send("compat/child", n=1, order_token=token)
    stack.engine.wait_run(event_id)
    assert stack.app.notes_of(token) == ["after_send_events", "transform_input"]


@compat("Events", "an event `id` starts a function once (idempotent sends)")
def test_an_event_id_starts_a_function_once(stack: Stack, token: str) -> None:
    event = {"name": "compat/child", "id": f"order-{token}", "data": {"n": 4}}
    first, second = stack.app.send(event), stack.app.send(event)
    assert stack.engine.wait_run(first[0])["output"] == {"doubled": 8}
    answer = stack.engine.get(f"/v1/events/{second[0]}/runs")
    assert answer["data"] == []
    assert [skip["function_id"] for skip in answer["skipped"]] == [stack.slug("child")]


@compat("Events", "`send_event` / `sendEvent` from a step fans out to another function")
def test_send_event_fans_out(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/fan-out", token=token)
    run = stack.engine.wait_run(event_id)
    output = run["output"]
    ids = output if isinstance(output, list) else output["ids"]
    assert len(ids) == 2
    results = [stack.engine.wait_run(sent, function="fanned")["output"] for sent in ids]
    assert results == [{"got": 1}, {"got": 2}]
    assert step_of(run, "announce")["status"] == "Completed"


@compat("Steps", "parallel steps (`group.parallel` / `Promise.all`) finishing in reverse order")
def test_parallel_steps_finishing_in_any_order(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/parallel", token=token)
    run = stack.engine.wait_run(event_id)
    assert run["output"] == [0, 10, 20, 30]
    assert stack.app.notes_of(token) == ["p2 done", "p1 done", "p0 done"]
    assert sorted((s["id"], s["status"]) for s in run["steps"]) == [
        ("after", "Completed"),
        ("p0", "Completed"),
        ("p1", "Completed"),
        ("p2", "Completed"),
    ]
    if stack.sdk == TYPESCRIPT:
        # Once the group drained, the engine stopped forcing step plans (request version 2), so the SDK
        # ran `after` inside the next call and checkpointed it.
        assert f"POST /v1/checkpoint/{run['run_id']}/async 200" in stack.engine.log.read_text()


@compat("Steps", "a race group (`parallelMode: race`): the run goes on after the first step")
def test_a_race_group(stack: Stack, token: str) -> None:
    run = stack.engine.wait_run(stack.send("compat/race", token=token))
    # The TypeScript SDK resolves `Promise.race` with the first result; the Python SDK's
    # `ParallelMode.RACE` still returns every branch's result.
    assert run["output"] == (["fast", "slow"] if stack.sdk == PYTHON else ["fast"])
    assert stack.app.notes_of(token)[0] == "fast done"


@compat("Errors", "a step that throws is retried and succeeds on a later attempt")
def test_a_failing_step_is_retried(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/flaky", token=token)
    run = stack.engine.wait_run(event_id)
    assert run["output"] == "ok"
    assert stack.app.notes_of(token) == ["attempt"] * 3
    assert [(a["step_id"], a["attempt"]) for a in run["attempts"]] == [("maybe", 0), ("maybe", 1)]
    assert [a["error"]["message"] for a in run["attempts"]] == ["failure 1", "failure 2"]


@compat("Errors", "a function that throws outside any step is retried")
def test_a_failing_function_is_retried(stack: Stack, token: str) -> None:
    run = stack.engine.wait_run(stack.send("compat/flaky-fn", token=token))
    assert run["output"] == {"attempt": 1}
    assert [(a["step_id"], a["attempt"], a["error"]["message"]) for a in run["attempts"]] == [
        (None, 0, "the function itself failed")
    ]


@compat("Errors", "`RetryAfterError`: the retry waits until the time the app asked for")
def test_retry_after_is_honoured(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/retry-after", token=token, seconds=stack.sleep_seconds(3600))
    run = stack.engine.first_run(event_id)
    first = wait_until(lambda: stack.engine.run(run["run_id"])["attempts"], what="the first attempt failed")
    stack.engine.advance("30m")
    stack.engine.advance("31m")
    run = stack.engine.wait_run(event_id)
    assert run["output"] == "ok"
    assert stack.app.notes_of(token) == ["attempt", "attempt"]
    assert seconds_between(first[0]["at"], step_of(run, "later")["ended_at"]) >= 3590


@compat("Errors", "`NonRetriableError` fails the run without retries")
def test_non_retriable_error_fails_at_once(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/non-retriable", token=token)
    run = stack.engine.wait_run(event_id, "Failed")
    assert stack.app.notes_of(token) == ["attempt"]
    assert "no point retrying" in run["output"]["message"]


@compat("Errors", "`on_failure` / `onFailure` handler runs with the failure")
def test_on_failure_handler_runs(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/doomed", token=token)
    run = stack.engine.wait_run(event_id, "Failed")
    assert "doomed to fail" in run["output"]["message"]

    def handled() -> dict[str, Any] | None:
        runs = stack.engine.get("/v1/runs", function_id=stack.slug("doomed-failure"), status="Completed")["data"]
        return next((r for r in runs if r["output"]["failed_run"] == run["run_id"]), None)

    handler = wait_until(handled, what="the failure handler's run")
    assert "doomed to fail" in handler["output"]["message"]


@compat("Flow", "cancellation by an event matching `cancel` / `cancelOn` with an `if`")
def test_cancel_on_event(stack: Stack, token: str) -> None:
    targeted, spared = (stack.send("compat/cancellable", id=f"{token}-{n}") for n in (1, 2))
    for event_id in (targeted, spared):
        run = stack.engine.first_run(event_id)
        stack.engine.wait_step(run["run_id"], "forever", "Waiting")
    stack.send("compat/cancel", id=f"{token}-1")
    stack.engine.wait_run(targeted, "Cancelled")
    # The cancel event was matched against both runs' pauses in the transaction that stored it.
    assert stack.engine.first_run(spared)["status"] == "Running"


@compat("Time", "an event sent with a future `ts` starts its run then (a delayed run)")
def test_an_event_with_a_future_ts_is_delayed(stack: Stack, token: str) -> None:
    # The app stamps `ts` with its own clock, an hour from now.
    ts = int(time.time() * 1000) + 3_600_000
    event_id = stack.app.send({"name": "compat/child", "data": {"n": 3, "token": token}, "ts": ts})[0]
    run = stack.engine.first_run(event_id)
    assert run["status"] == "Queued"
    stack.engine.advance("30m")
    stack.engine.advance("31m")
    run = stack.engine.wait_run(event_id)
    assert run["output"] == {"doubled": 6}
    assert seconds_between(run["created_at"], run["started_at"]) >= 3590


@compat("Time", "a cron trigger fires when the clock passes its schedule")
def test_cron_fires(stack: Stack) -> None:
    slug = stack.slug("ticker")
    before = {r["run_id"] for r in stack.engine.get("/v1/runs", function_id=slug)["data"]}
    stack.engine.advance("1h")

    def new_run() -> dict[str, Any] | None:
        runs = stack.engine.get("/v1/runs", function_id=slug, status="Completed")["data"]
        return next((r for r in runs if r["run_id"] not in before), None)

    run = wait_until(new_run, what="a cron run")
    assert run["cron"] == "0 * * * *"
    assert run["output"] == {"event": "inngest/scheduled.timer"}


@compat("Limits", "step outputs over the inline limit reach the SDK through `/v0/runs/{run}/actions`")
def test_large_step_outputs_use_the_api(stack: Stack, token: str) -> None:
    size = 1_100_000  # five of these are over the 4 MiB a call carries inline
    event_id = stack.send("compat/big-steps", token=token, size=size)
    run = stack.engine.first_run(event_id)
    stack.engine.wait_step(run["run_id"], "rest")
    stack.engine.advance("1m")
    run = stack.engine.wait_run(event_id)
    assert run["output"] == {"sizes": [size] * 5, "digits": ["0", "1", "2", "3", "4"]}
    assert f"GET /v0/runs/{run['run_id']}/actions 200" in stack.engine.log.read_text()


@compat("Limits", "events over the inline limit reach the SDK through `/v0/runs/{run}/batch`")
def test_large_event_uses_the_api(stack: Stack, token: str) -> None:
    blob = "x" * (2560 * 1024)  # sent twice (`event` and `events`), over the 4 MiB a call carries inline
    event_id = stack.app.send({"name": "compat/big-event", "data": {"token": token, "blob": blob}})[0]
    run = stack.engine.wait_run(event_id)
    assert run["output"] == {"length": len(blob), "events": 1}
    assert f"GET /v0/runs/{run['run_id']}/batch 200" in stack.engine.log.read_text()


@compat("Events", "a retried send (same `x-inngest-event-id-seed`) keeps its event ids and starts one run")
def test_a_retried_send_keeps_its_ids(stack: Stack, token: str) -> None:
    assert stack.proxy is not None
    lost = stack.proxy.lost
    ids = stack.app.send({"name": "compat/lossy", "data": {"token": token}}, lossy=True)
    assert stack.proxy.lost == lost + 1  # the SDK's first attempt reached the engine, its answer did not
    receipts = [e for e in stack.engine.events("compat/lossy") if e["data"].get("token") == token]
    assert [e["internal_id"] for e in receipts] == ids * 2
    stack.engine.wait_run(ids[0])
    answer = stack.engine.get(f"/v1/events/{ids[0]}/runs")
    assert len(answer["data"]) == 1
    assert [skip["function_id"] for skip in answer["skipped"]] == [stack.slug("lossy")]


@compat("Steps", "requests the engine makes for a step (`step.ai.infer`, `step.fetch`)")
def test_requests_the_engine_makes(stack: Stack, token: str) -> None:
    run = stack.engine.wait_run(stack.send("compat/gateway", token=token))
    assert run["output"]["choices"][0]["message"]["content"] == "hello"


@compat("Steps", "`step.waitForSignal` resumed by `step.sendSignal` (`POST /v1/signals`); a second signal finds no run")
def test_signals(stack: Stack, token: str) -> None:
    if stack.sdk == PYTHON:
        pytest.skip("the Python SDK has no waitForSignal")
    waiter = stack.send("compat/signalled", token=token)
    run = stack.engine.first_run(waiter)
    stack.engine.wait_step(run["run_id"], "approval", "Waiting")
    sender = stack.engine.wait_run(stack.send("compat/signaller", token=token))
    assert sender["output"] == {"runId": run["run_id"]}
    done = stack.engine.wait_run(waiter)
    assert done["output"] == {"signal": f"approve-{token}", "data": {"by": "ts"}}
    assert stack.app.notes_of(token) == ["after"]
    # The wait is gone: the same signal again reaches no run (the SDK reads the 404 as `runId: undefined`).
    assert stack.engine.wait_run(stack.send("compat/signaller", token=token))["output"] == {"runId": None}


@compat("Flow", "`timeouts.finish` cancels a run that runs too long")
def test_timeouts_finish(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/bounded", token=token)
    run = stack.engine.first_run(event_id)
    stack.engine.wait_step(run["run_id"], "never", "Waiting")
    stack.engine.advance("11m")
    run = stack.engine.wait_run(event_id, "Cancelled")
    assert "timeouts.finish" in run["reason"]


@compat("Flow", "`batchEvents` and `concurrency` are accepted at sync and registered")
def test_batching_and_concurrency_are_registered(stack: Stack) -> None:
    functions = stack.engine.functions()
    batch = functions[stack.slug("batched")]["config"]["batchEvents"]
    assert (batch["maxSize"], batch["timeout"]) == (5, "5s")
    [limit] = functions[stack.slug("limited")]["config"]["concurrency"]
    assert (limit["limit"], limit["key"]) == (2, "event.data.user")


@compat("Flow", "a full batch of 5 events starts one run that receives all 5")
def test_a_full_batch_starts_one_run(stack: Stack, token: str) -> None:
    ids = stack.app.send(*({"name": "compat/batched", "data": {"token": token, "n": n}} for n in range(5)))
    run = stack.engine.wait_run(ids[0])
    assert run["output"] == {"events": 5}
    assert [event["data"]["n"] for event in run["events"]] == [0, 1, 2, 3, 4]


@compat("Flow", "`rateLimit`: a second event within the period starts no run, and the skip says why")
def test_rate_limit(stack: Stack, token: str) -> None:
    first = stack.send("compat/rate-limited", token=token)
    second = stack.send("compat/rate-limited", token=token)
    assert stack.engine.wait_run(first)["output"] == {"token": token}
    answer = stack.engine.get(f"/v1/events/{second}/runs")
    assert answer["data"] == [] and [skip["reason"] for skip in answer["skipped"]] == ["rate limited"]


@compat("Flow", "`debounce`: a burst of events starts one run, with the last event")
def test_debounce(stack: Stack, token: str) -> None:
    ids = [stack.send("compat/debounced", token=token, n=n) for n in range(3)]
    stack.engine.advance("6m")
    assert stack.engine.wait_run(ids[2])["output"] == {"n": 2}
    assert stack.engine.runs_of_event(ids[0]) == [] and stack.engine.runs_of_event(ids[1]) == []


@compat("Flow", "`throttle`: a run over the limit waits (reason `throttled`) and starts in the next period")
def test_throttle(stack: Stack, token: str) -> None:
    first = stack.send("compat/throttled", token=token, n=1)
    second = stack.send("compat/throttled", token=token, n=2)
    assert stack.engine.wait_run(first)["output"] == {"n": 1}
    waiting = wait_until(
        lambda: [run for run in stack.engine.runs_of_event(second) if run["reason"] == "throttled"],
        what="the second run waits for the throttle",
    )
    assert waiting[0]["status"] == "Queued"
    stack.engine.advance("1m")
    assert stack.engine.wait_run(second)["output"] == {"n": 2}


@compat("Flow", "`idempotency`: a second event with the same key starts no run")
def test_idempotency(stack: Stack, token: str) -> None:
    first = stack.send("compat/idempotent", token=token, n=1)
    second = stack.send("compat/idempotent", token=token, n=2)
    assert stack.engine.wait_run(first)["output"] == {"n": 1}
    answer = stack.engine.get(f"/v1/events/{second}/runs")
    assert answer["data"] == [] and answer["skipped"][0]["reason"].startswith("idempotent duplicate")


@compat("Flow", "`singleton` (skip): a second run while one holds the key is Skipped, with the reason")
def test_singleton_skip(stack: Stack, token: str) -> None:
    holder = stack.send("compat/single", token=token, n=1)
    run = stack.engine.first_run(holder)
    stack.engine.wait_step(run["run_id"], "release", "Waiting")
    extra = stack.send("compat/single", token=token, n=2)
    skipped = stack.engine.wait_run(extra, "Skipped")
    assert skipped["reason"].startswith("singleton")
    stack.send("compat/release", token=token)
    assert stack.engine.wait_run(holder)["output"] == {"n": 1, "released": True}


@compat("Steps", "a step and a `wait_for_event` in one parallel group")
def test_a_step_and_a_wait_in_parallel(stack: Stack, token: str) -> None:
    event_id = stack.send("compat/parallel-wait", token=token)
    run = stack.engine.first_run(event_id)
    stack.engine.wait_step(run["run_id"], "signal", "Waiting")
    stack.engine.wait_step(run["run_id"], "work", "Completed")
    stack.send("compat/signal", token=token, n=7)
    run = stack.engine.wait_run(event_id)
    assert run["output"] == ["worked", 7]
    assert stack.app.notes_of(token) == ["work"]


@compat("Protocol", "step results and `RunComplete` in one answer (checkpoint `bufferedSteps: 2`)")
def test_buffered_checkpoints(stack: Stack, token: str) -> None:
    run = stack.engine.wait_run(stack.send("compat/three-steps", token=token))
    assert run["output"] == {"values": [1, None, 3]}
    assert [(s["id"], s["status"], s["output"]) for s in run["steps"]] == [
        ("s1", "Completed", 1),
        ("s2", "Completed", None),
        ("s3", "Completed", 3),
    ]
    assert stack.app.notes_of(token) == ["s1", "s2", "s3"]
    if stack.sdk == TYPESCRIPT:
        assert stack.engine.log.read_text().count(f"POST /v1/checkpoint/{run['run_id']}/async 200") == 1


@compat("Protocol", "a step outlasting the checkpoint `maxRuntime` hands the rest back to the engine")
def test_checkpoint_max_runtime(stack: Stack, token: str) -> None:
    run = stack.engine.wait_run(stack.send("compat/slow-step", token=token))
    assert run["output"] == ["slow", "after"]
    assert stack.app.notes_of(token) == ["slow", "after"]
