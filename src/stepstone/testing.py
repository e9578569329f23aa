"""Run Stepstone functions in tests without an engine: `await stepstone.testing.run(fn, event)`."""

from __future__ import annotations

from stepstone.sdk.testing import TIMEOUT, Result, Status, run, run_sync

__all__ = ["TIMEOUT", "Result", "Status", "run", "run_sync"]
