"""Validation at sync and the catalog that matches events to functions."""

from __future__ import annotations

from typing import Any

import orjson

from stepstone.protocol import config as wire
from stepstone.protocol import events as wire_events
from stepstone.server.apps import registration
from stepstone.server.functions import registry
from stepstone.server.store.records import FunctionRecord


def function(slug: str, triggers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": slug,
        "name": slug,
        "triggers": triggers,
        "steps": {"step": {"runtime": {"url": f"http://app/api?fnId={slug}&stepId=step"}}},
    }


def compiled(config: dict[str, Any]) -> registry.Registered:
    parsed = wire.FunctionConfig.model_validate(config)
    record = FunctionRecord(
        id=f"uuid-{parsed.id}",
        app_id="app",
        slug=parsed.id,
        name=parsed.name,
        config_json=orjson.dumps(parsed.dump()).decode(),
        version=1,
        archived_at=None,
        created_at=0,
        updated_at=0,
    )
    return registry.compile_function(record)


def test_a_function_without_triggers_is_valid_and_runs_only_when_invoked() -> None:
    # The TypeScript SDK registers `triggers: []` for an invoke-only function (`createFunction({id})`).
    request = wire.RegisterRequest.model_validate(
        {"url": "http://app/api", "appName": "app", "functions": [function("app-invoked", [])]}
    )
    registration.validate(request)
    catalog = registry.Catalog([compiled(function("app-invoked", []))], 1, {})
    invoked = {"name": wire_events.FUNCTION_INVOKED, "data": {"_inngest": {"fn_id": "app-invoked"}}}
    assert [fn.slug for fn in catalog.match(invoked)] == ["app-invoked"]
    assert catalog.match({"name": "app/anything", "data": {}}) == []
