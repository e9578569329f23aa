"""Time for the engine: the only module that reads the OS clock.

Components receive a `Clock` and read it once per loop turn. Tests pass a `FakeClock` and advance it
by hand, so sleeps, retries, timeouts and cron are tested without waiting. `stepstone dev` uses an
`OffsetClock`: OS time plus an offset kept in the store, which `POST /dev/clock/advance` moves for
every engine process sharing the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of "now" for user-visible scheduling (sleeps, retries, timeouts, cron)."""

    def now_ms(self) -> int:
        """Unix milliseconds."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever time jumps (a fake or offset clock moved by hand)."""
        ...


def wall_ms() -> int:
    """The OS clock in unix milliseconds: for leases and signatures, never for scheduling."""
    return time.time_ns() // 1_000_000


def to_datetime(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


class SystemClock:
    """The OS clock."""

    def now_ms(self) -> int:
        return wall_ms()

    def subscribe(self, callback: Callable[[], None]) -> None:
        """The OS clock never jumps on purpose: nothing to notify."""


class _Notifier:
    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def notify(self) -> None:
        for callback in self._callbacks:
            callback()


class FakeClock(_Notifier):
    """A clock that moves only when told to (tests)."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00:00Z
        super().__init__()
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, delta: timedelta | float) -> None:
        """Move forward by a timedelta or by seconds, and wake whoever waits on time."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else delta
        self._now += int(seconds * 1000)
        self.notify()

    def set(self, millis: int) -> None:
        self._now = millis
        self.notify()


class OffsetClock(_Notifier):
    """OS time plus an offset (dev mode's movable clock). The offset lives in the store."""

    def __init__(self, offset_ms: int = 0) -> None:
        super().__init__()
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        return wall_ms() + self.offset_ms

    def set_offset(self, offset_ms: int) -> None:
        if offset_ms != self.offset_ms:
            self.offset_ms = offset_ms
            self.notify()


async def sleep_until_woken(event: asyncio.Event, seconds: float) -> None:
    """Wait up to `seconds` (real time) or until `event` is set, then clear it."""
    if seconds > 0:
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            pass
    event.clear()
