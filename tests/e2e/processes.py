"""Start the engine and apps as real processes, as users do, and talk to them over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.command = command
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen(self.command, env=self.env, cwd=REPO, stdout=output, stderr=output)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no drain."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def engine(tmp: Path, port: int, *args: str) -> Process:
    command = [sys.executable, "-m", "stepstone", "dev", "--port", str(port), "--db", str(tmp / "engine.db"), *args]
    return Process(command, {**os.environ, "PYTHONUNBUFFERED": "1"}, tmp / "engine.log")


def example_app(tmp: Path, port: int, engine_port: int, **env: str) -> Process:
    command = [sys.executable, "-m", "uvicorn", "examples.app:app", "--port", str(port), "--log-level", "warning"]
    environment = {**os.environ, "STEPSTONE_DEV": f"http://127.0.0.1:{engine_port}", "PYTHONPATH": str(REPO), **env}
    return Process(command, environment, tmp / "app.log")


def wait_until(check: Any, *, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.05)
