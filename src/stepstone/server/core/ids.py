"""ULIDs that sort in the order this process made them, also within one millisecond.

Queue items, runs and events sort by id where their times tie (a burst of events at one engine-clock
millisecond, queued runs of one concurrency key), so ids made in one millisecond count up from a random
start instead of being random: first in, first out.
"""

from __future__ import annotations

import os
import threading

from ulid import ULID


class UlidSource:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def new(self, millis: int) -> str:
        value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
        with self._lock:
            if value >> 80 == self._last >> 80 and value <= self._last:
                value = self._last + 1
            self._last = value
        return str(ULID.from_int(value))


ULIDS = UlidSource()
