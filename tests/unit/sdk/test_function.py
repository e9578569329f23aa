"""Registration config of functions, and option validation at decoration time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import stepstone
from stepstone.sdk import errors

URL = "http://app.test/api/inngest"


async def noop(ctx: stepstone.Context) -> None:
    return None


async def on_failure(ctx: stepstone.Context) -> None:
    return None


def test_every_option_is_registered_in_its_wire_form(client: stepstone.Stepstone) -> None:
    fn = client.create_function(
        fn_id="all-opts",
        name="All options",
        trigger=[
            stepstone.TriggerEvent(event="app/a", expression="event.data.x == 1"),
            stepstone.TriggerCron(cron="TZ=UTC 0 * * * *", jitter="10s"),
        ],
        retries=3,
        batch_events=stepstone.Batch(max_size=100, timeout=5000, key="k", if_exp="true"),
        cancel=[
            stepstone.Cancel(event="app/cancel", if_exp="async.data.id == event.data.id", timeout=timedelta(days=1))
        ],
        concurrency=[stepstone.Concurrency(limit=2, key="event.data.user", scope="fn")],
        debounce=stepstone.Debounce(period="30s", key="k", timeout="5m"),
        idempotency="event.data.id",
        priority=stepstone.Priority(run="event.data.prio"),
        rate_limit=stepstone.RateLimit(limit=10, period=timedelta(hours=1), key="k"),
        throttle=stepstone.Throttle(limit=5, period="1m", key="k", burst=2),
        timeouts=stepstone.Timeouts(start="10s", finish=timedelta(minutes=2)),
        singleton=stepstone.Singleton(mode="skip", key="k"),
        on_failure=on_failure,
    )(noop)
    main, failure = (config.dump() for config in fn.configs(URL))
    assert main == {
        "id": "app-all-opts",
        "name": "All options",
        "triggers": [
            {"event": "app/a", "expression": "event.data.x == 1"},
            {"cron": "TZ=UTC 0 * * * *", "jitter": "10s"},
        ],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "runtime": {"type": "http", "url": f"{URL}?fnId=app-all-opts&stepId=step"},
                "retries": {"attempts": 3},
            }
        },
        "batchEvents": {"maxSize": 100, "timeout": "5s", "key": "k", "if": "true"},
        "cancel": [{"event": "app/cancel", "if": "async.data.id == event.data.id", "timeout": "1d"}],
        "concurrency": [{"limit": 2, "key": "event.data.user", "scope": "fn"}],
        "debounce": {"period": "30s", "key": "k", "timeout": "5m"},
        "idempotency": "event.data.id",
        "priority": {"run": "event.data.prio"},
        "rateLimit": {"limit": 10, "period": "1h", "key": "k"},
        "throttle": {"limit": 5, "period": "1m", "burst": 2, "key": "k"},
        "timeouts": {"start": "10s", "finish": "2m"},
        "singleton": {"mode": "skip", "key": "k"},
    }
    assert failure == {
        "id": "app-all-opts-failure",
        "name": "All options (failure)",
        "triggers": [{"event": "inngest/function.failed", "expression": "event.data.function_id == 'app-all-opts'"}],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "runtime": {"type": "http", "url": f"{URL}?fnId=app-all-opts-failure&stepId=step"},
                "retries": {"attempts": 0},
            }
        },
    }
    assert (fn.id, fn.local_id, fn.on_failure_fn_id) == ("app-all-opts", "all-opts", "app-all-opts-failure")


def test_a_minimal_function(client: stepstone.Stepstone) -> None:
    fn = client.create_function(fn_id="f", trigger=stepstone.TriggerEvent(event="e"))(noop)
    assert fn.config(URL).dump() == {
        "id": "app-f",
        "name": "f",
        "triggers": [{"event": "e"}],
        "steps": {
            "step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": f"{URL}?fnId=app-f&stepId=step"}}
        },
    }
    assert fn.failure_config(URL) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"throttle": stepstone.Throttle(limit=1, period=500)}, "throttle: period: duration must be at least 1 second"),
        ({"debounce": stepstone.Debounce(period="1.5s")}, "whole number of seconds"),
        ({"cancel": [stepstone.Cancel(event="x", timeout="soon")]}, "cancel: timeout: invalid duration"),
        ({"retries": -1}, "retries must be 0 or more"),
        ({"trigger": []}, "at least one trigger"),
        ({"on_failure": lambda ctx: None}, "on_failure must be async"),
    ],
)
def test_bad_options_fail_at_decoration(client: stepstone.Stepstone, options: dict[str, Any], message: str) -> None:
    kwargs: dict[str, Any] = {"fn_id": "f", "trigger": stepstone.TriggerEvent(event="e")} | options
    with pytest.raises(errors.FunctionConfigInvalidError, match=message) as caught:
        client.create_function(**kwargs)(noop)
    assert caught.value.fn_id == "f"
    assert "function 'f'" in str(caught.value)
