"""Subprocesses of the benchmark: the engine, the app, the trivial HTTP app and the DBOS workload.

Each starts in its own session, so a Ctrl-C in the terminal reaches only `bench.run`, which then stops
them through `Processes` (terminate, wait, kill) on its way out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import TypeVar

import httpx

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOP_TIMEOUT = 8.0
# The console script, run by this interpreter (`stepstone.cli.main` has no `__main__` entry).
ENGINE_SCRIPT = str(Path(PYTHON).parent / "stepstone")


class StartError(RuntimeError):
    """A subprocess exited, or did not become ready in time; the message names its log file."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Processes:
    """The subprocesses started so far; `stop_all` ends them, newest first."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.running.append((name, process))
        return process

    def log_of(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """Terminate `process`; kill it if it has not exited after `STOP_TIMEOUT` seconds."""
        self.running = [(name, other) for name, other in self.running if other is not process]
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        """Stop every process; a second Ctrl-C or SIGTERM meanwhile is ignored, so none is left behind."""
        with uninterrupted():
            for _, process in reversed(list(self.running)):
                self.stop(process)


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM in the block (clean-up that must finish); main thread only."""
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def wait_until(
    ready: Callable[[], bool], *, process: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 30.0
) -> None:
    """Poll `ready` until it returns True; raise `StartError` if `process` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"{what} exited with code {process.returncode}; see {log}")
        with contextlib.suppress(httpx.HTTPError):
            if ready():
                return
        time.sleep(0.05)
    raise StartError(f"{what} was not ready after {timeout:g} s; see {log}")


def uvicorn_command(target: str, port: int) -> list[str]:
    return [PYTHON, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]


def engine_command(tag: str, environ: Mapping[str, str]) -> list[str]:
    """The engine's command line up to its arguments; under cProfile when `BENCH_PROFILE_DIR` is set."""
    profile_dir = environ.get("BENCH_PROFILE_DIR")
    if not profile_dir:
        return [PYTHON, ENGINE_SCRIPT]
    return [PYTHON, "-m", "cProfile", "-o", str(Path(profile_dir).resolve() / f"engine-{tag}.prof"), ENGINE_SCRIPT]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process, from `/proc` (None where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_named(command: str) -> list[int]:
    """Pids of the live processes whose command name (`/proc/<pid>/comm`) is `command`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == command:
                    found.append(int(entry.name))
    return found


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over its cores (`/proc/stat`)."""
    ticks = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    total = sum(ticks[:8])  # guest time is already counted in user time
    return (total - idle) / os.sysconf("SC_CLK_TCK"), total / os.sysconf("SC_CLK_TCK")


def answers(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=1.0).status_code < 500


def interrupt_on_sigterm() -> None:
    """Turn SIGTERM into `KeyboardInterrupt`, so the subprocesses are stopped as on Ctrl-C."""

    def handle(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handle)


@contextlib.contextmanager
def processes(log_dir: Path) -> Iterator[Processes]:
    group = Processes(log_dir)
    try:
        yield group
    finally:
        group.stop_all()


def progress(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def busy_now(seconds: float = 1.0) -> float:
    """The share of the machine's CPU time that was busy over the next `seconds`."""
    busy, total = machine_cpu()
    time.sleep(seconds)
    busy_after, total_after = machine_cpu()
    return (busy_after - busy) / (total_after - total)


def guarded(work: Callable[[], T], work_dir: Path) -> T | int:
    """`work()`, or the exit code when it was interrupted or a process did not start (said on stderr)."""
    try:
        return work()
    except KeyboardInterrupt:
        print(f"interrupted; logs are in {work_dir}", file=sys.stderr)
        return 130
    except StartError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def publish(text: str, out: Path, work_dir: Path, *, keep_logs: bool) -> None:
    """Print the report and write it to `out`; keep the logs (and say where) only when something failed."""
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    if keep_logs:
        print(f"logs are in {work_dir}", file=sys.stderr)
    else:
        shutil.rmtree(work_dir, ignore_errors=True)
