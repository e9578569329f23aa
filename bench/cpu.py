"""CPU time of groups of processes and of the whole machine, sampled in a thread, so that a window can be
cut afterwards: the driver learns that the last run has ended only at its next poll, and the seconds
until then would otherwise count as idle time.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import procs

INTERVAL = 0.2  # a sample costs ~2 ms (a scan of /proc for new PostgreSQL backends)

Pids = Callable[[], list[int]]


@dataclass(frozen=True)
class Sample:
    at: float  # time.time()
    kinds: dict[str, dict[int, float]]  # kind -> pid -> CPU seconds
    machine: tuple[float, float]  # busy, total CPU seconds of the machine


class CpuSampler:
    """Samples the CPU seconds of each kind's processes (`kinds`: kind -> a function listing their pids)."""

    def __init__(self, kinds: dict[str, Pids]) -> None:
        self.kinds = kinds
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> Sample:
        found = {
            kind: {pid: s for pid in pids() if (s := procs.cpu_seconds(pid)) is not None}
            for kind, pids in self.kinds.items()
        }
        return Sample(time.time(), found, procs.machine_cpu())

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.samples.append(self.sample())

    def __enter__(self) -> CpuSampler:
        self.samples.append(self.sample())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.sample())

    def window(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds of each kind, and `machine busy` / `machine`, from the last sample at or before
        `start` to the first at or after `end` (a process that started in between counts whole)."""
        stamps = [sample.at for sample in self.samples]
        first = self.samples[max(0, bisect.bisect_right(stamps, start) - 1)]
        last = self.samples[min(len(stamps) - 1, bisect.bisect_left(stamps, end))]
        spent = {
            kind: sum(seconds - first.kinds[kind].get(pid, 0.0) for pid, seconds in now.items())
            for kind, now in last.kinds.items()
        }
        spent["machine busy"] = last.machine[0] - first.machine[0]
        spent["machine"] = last.machine[1] - first.machine[1]
        return spent
