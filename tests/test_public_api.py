"""Pin the public names of `stepstone`, so that removing one is a conscious choice."""

from __future__ import annotations

import stepstone
import stepstone.fastapi
import stepstone.flask
import stepstone.testing


def test_public_api() -> None:
    assert stepstone.__all__ == [
        "Batch",
        "Cancel",
        "Concurrency",
        "Context",
        "ContextSync",
        "Debounce",
        "Event",
        "FetchResponse",
        "Function",
        "Group",
        "GroupSync",
        "NonRetriableError",
        "ParallelMode",
        "Priority",
        "RateLimit",
        "RetryAfterError",
        "Signal",
        "Singleton",
        "Step",
        "StepError",
        "StepSync",
        "Stepstone",
        "StepstoneError",
        "Throttle",
        "Timeouts",
        "TriggerCron",
        "TriggerEvent",
    ]
    assert stepstone.__all__ == sorted(stepstone.__all__)
    assert all(getattr(stepstone, name).__doc__ for name in stepstone.__all__)


def test_submodules() -> None:
    assert callable(stepstone.fastapi.serve)
    assert callable(stepstone.flask.serve)
    assert stepstone.testing.__all__ == ["TIMEOUT", "Result", "Status", "run", "run_sync"]
    assert [member.value for member in stepstone.ParallelMode] == ["wait", "race"]
