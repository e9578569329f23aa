"""Flow-control configuration at sync: Inngest's rejections (naming function and field) and clamps."""

from __future__ import annotations

from typing import Any

import pytest

from stepstone.protocol import config as wire
from stepstone.server.apps import registration
from stepstone.server.functions import flow_rules, registry


def request(**fields: Any) -> wire.RegisterRequest:
    fn = {
        "id": "app-limited",
        "name": "limited",
        "triggers": [{"event": "app/go"}],
        "steps": {"step": {"runtime": {"url": "http://app/api?fnId=app-limited&stepId=step"}}},
        **fields,
    }
    return wire.RegisterRequest.model_validate({"url": "http://app/api", "appName": "app", "functions": [fn]})


def problems(**fields: Any) -> list[str]:
    with pytest.raises(registry.ConfigError) as err:
        registration.validate(request(**fields))
    return err.value.problems


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"concurrency": [{"limit": 1}, {"limit": 2}, {"limit": 3}]}, "concurrency: at most 2 limits, found 3"),
        ({"concurrency": [{"limit": 2, "scope": "env"}]}, "concurrency[0].key: a limit with scope 'env' needs a key"),
        ({"concurrency": [{"limit": 2, "key": "event.data.("}]}, "concurrency[0].key:"),
        ({"concurrency": [{"limit": -1}]}, "concurrency[0].limit: must not be negative"),
        ({"throttle": {"limit": 1, "period": "0s"}}, "throttle.period: must be at least 1s"),
        ({"throttle": {"limit": 1, "period": "8d"}}, "throttle.period: must be at most 7d"),
        ({"throttle": {"limit": 1, "period": "1m", "key": "))"}}, "throttle.key:"),
        ({"rateLimit": {"limit": 0, "period": "1h"}}, "rateLimit.limit: must be greater than 0, got 0"),
        ({"rateLimit": {"limit": 1, "period": "25h"}}, "rateLimit.period: must be at most 24h"),
        ({"rateLimit": {"limit": 1, "period": "soon"}}, "rateLimit.period: invalid duration 'soon'"),
        ({"idempotency": "event.data.id +"}, "idempotency:"),
        ({"debounce": {"period": "500ms"}}, "debounce.period: must be at least 1s"),
        ({"debounce": {"period": "8d"}}, "debounce.period: must be at most 7d"),
        ({"batchEvents": {"maxSize": 1, "timeout": "5s"}}, "batchEvents.maxSize: must be at least 2, got 1"),
        ({"batchEvents": {"maxSize": 5, "timeout": "1d"}}, "batchEvents.timeout: '1d' is not a duration in s, m or h"),
        ({"batchEvents": {"maxSize": 5, "timeout": "500ms"}}, "batchEvents.timeout: must be at least 1s"),
        ({"batchEvents": {"maxSize": 5, "timeout": "5s", "if": "event.("}}, "batchEvents.if:"),
        (
            {"batchEvents": {"maxSize": 5, "timeout": "5s"}, "cancel": [{"event": "app/stop"}]},
            "batchEvents: cannot be combined with cancel",
        ),
        (
            {"batchEvents": {"maxSize": 5, "timeout": "5s"}, "debounce": {"period": "5s"}},
            "batchEvents: cannot be combined with debounce",
        ),
        (
            {"batchEvents": {"maxSize": 5, "timeout": "5s"}, "singleton": {"mode": "skip"}},
            "batchEvents: cannot be combined with singleton",
        ),
        (
            {"batchEvents": {"maxSize": 5, "timeout": "5s"}, "priority": {"run": "10"}},
            "batchEvents: cannot be combined with priority",
        ),
        ({"priority": {"run": "event.data.p *"}}, "priority.run:"),
        ({"singleton": {"mode": "skip", "key": "event.data.("}}, "singleton.key:"),
    ],
)
def test_bad_flow_control_is_rejected_naming_the_function_and_field(fields: dict[str, Any], expected: str) -> None:
    found = problems(**fields)
    assert any(problem.startswith(f"function 'app-limited': {expected}") for problem in found), found


def test_an_unknown_singleton_mode_or_concurrency_scope_is_rejected_by_shape() -> None:
    with pytest.raises(registry.ConfigError) as err:
        registry.parse_functions([{"id": "f", "steps": {}, "singleton": {"mode": "queue"}}])
    assert err.value.problems[0].startswith("function 'f': singleton.mode:")


def test_valid_flow_control_passes() -> None:
    registration.validate(
        request(
            concurrency=[{"limit": 2, "key": "event.data.user"}, {"limit": 5, "scope": "account", "key": '"shared"'}],
            throttle={"limit": 3, "period": "7d", "burst": 2, "key": "event.data.user"},
            rateLimit={"limit": 10, "period": "24h"},
            idempotency="event.data.order",
            debounce={"period": "1s", "timeout": "30d"},
            priority={"run": "event.data.vip ? 120 : 0"},
            singleton={"mode": "cancel", "key": "event.data.user"},
        )
    )
    registration.validate(request(batchEvents={"maxSize": 2, "timeout": "1m30s", "key": "event.data.user"}))
    registration.validate(request(batchEvents={"maxSize": 100}))  # the timeout defaults to 60 s


def test_a_throttle_limit_of_zero_is_stored_as_one() -> None:
    config = request(throttle={"limit": 0, "period": "1m"}).functions[0]
    registration.validate(request(throttle={"limit": 0, "period": "1m"}))
    assert flow_rules.normalize(config).throttle == wire.ThrottleConfig(limit=1, period="1m")
    unchanged = request(throttle={"limit": 4, "period": "1m"}).functions[0]
    assert flow_rules.normalize(unchanged) is unchanged
