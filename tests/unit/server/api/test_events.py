"""The event API's reading of a sender's `ts`."""

from __future__ import annotations

from stepstone.server.api import events

WALL = 1_767_225_600_000


def test_a_future_ts_delays_the_runs_by_its_distance_from_the_os_clock() -> None:
    assert events.run_delay({"ts": WALL + 3_600_000}, WALL + 3_600_000, WALL) == 3_600_000


def test_a_past_or_missing_ts_starts_the_runs_now() -> None:
    assert events.run_delay({"ts": WALL - 5}, WALL - 5, WALL) == 0
    # a missing `ts` became the engine clock's now, which dev mode moves ahead of the OS clock
    assert events.run_delay({}, WALL + 86_400_000, WALL) == 0
    assert events.run_delay({"ts": 0}, WALL + 86_400_000, WALL) == 0
