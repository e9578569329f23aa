"""Stepstone and apps written with the official SDKs, as subprocesses, and the REST calls the tests make.

A `Stack` is one engine (`stepstone dev` or `stepstone start`) and one app, each a process of its
own, pointed at each other only by the SDK's environment variables. Tests send events through the
app (the SDK's own `send`) and read runs through the engine's REST API. Every wait polls a condition;
time moves through the dev engine's clock (`POST /dev/clock/advance`), never by sleeping.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.processes import REPO, Process, free_port

TS_DIR = REPO / "tests" / "compat" / "ts"
TS_SDK_VERSION = "4.24.0"
WAIT_S = 20.0

# The SDKs under test: the Python SDK, and the TypeScript SDK with checkpoints (its default against an
# engine that sends `ctx.fn_id`) and without (`checkpointing: false`, the classic protocol).
PYTHON, TYPESCRIPT, TYPESCRIPT_CLASSIC = "python", "typescript", "typescript-classic"
APP_IDS = {PYTHON: "compat-py", TYPESCRIPT: "compat-ts", TYPESCRIPT_CLASSIC: "compat-ts-classic"}
# The functions each app registers: the same ones in both languages, and one failure handler
# (`doomed-failure`); the TypeScript app adds `signalled` and `signaller` (the Python SDK has no signals).
FUNCTION_COUNTS = {PYTHON: 39, TYPESCRIPT: 41, TYPESCRIPT_CLASSIC: 41}


def wait_until(check: Callable[[], Any], *, what: str, timeout: float = WAIT_S) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except (httpx.HTTPError, ValueError) as err:
            last = err
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout} s (last: {str(last)[:300]})")
        time.sleep(0.05)


def clean_environment() -> dict[str, str]:
    """The test process's environment without any Inngest or Stepstone setting (apps get only ours)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "STEPSTONE_", "COMPAT_"))}


def node_problem() -> str | None:
    """Why the TypeScript SDK cannot run here, or None."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found on PATH (the TypeScript SDK runs on Node.js 20+)"
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        return f"Node.js {version} is too old: the TypeScript SDK {TS_SDK_VERSION} needs Node.js 20+"
    return None


def install_ts_sdk() -> None:
    """`npm ci` in tests/compat/ts when the pinned SDK is not installed there."""
    installed = TS_DIR / "node_modules" / "inngest" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == TS_SDK_VERSION:
        return
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=TS_DIR, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"npm ci failed in {TS_DIR}:\n{result.stdout}\n{result.stderr}")


def require_ts_sdk() -> None:
    """Install the pinned TypeScript SDK (`npm ci`) if needed; without Node.js skip the test, or fail it in CI."""
    import pytest

    problem = node_problem()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {problem}")
        pytest.skip(problem)
    install_ts_sdk()


class Engine:
    """`stepstone dev` (or `start`, with keys) on a fresh SQLite file, or on PostgreSQL at `postgres_uri`."""

    def __init__(
        self, tmp: Path, *, signing_key: str | None = None, event_key: str = "dev", postgres_uri: str | None = None
    ) -> None:
        self.tmp = tmp
        self.postgres_uri = postgres_uri
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.signing_key = signing_key
        self.event_key = event_key
        self.log = tmp / "engine.log"
        self.process: Process | None = None
        headers = {"authorization": f"Bearer {signing_key}"} if signing_key else {}
        self.http = httpx.Client(base_url=self.url, timeout=30, headers=headers)
        self.offset_ms = 0

    def start(self, *sdk_urls: str) -> None:
        """Start the engine, syncing the apps at `sdk_urls` (`-u`) as soon as they answer."""
        command = [sys.executable, "-m", "stepstone", "start" if self.signing_key else "dev", "--port", str(self.port)]
        command += ["--db", str(self.tmp / "engine.db"), "--retry-interval", "0.2", "--poll-interval", "1"]
        if self.postgres_uri:
            command += ["--postgres-uri", self.postgres_uri]
        if self.signing_key:
            command += ["--signing-key", self.signing_key, "--event-key", self.event_key]
        for url in sdk_urls:
            command += ["-u", url]
        self.process = Process(command, {**clean_environment(), "PYTHONUNBUFFERED": "1"}, self.log)
        self.process.start()
        wait_until(lambda: self.http.get("/health").status_code == 200, what="the engine is up")

    def stop(self) -> None:
        self.http.close()
        if self.process is not None:
            self.process.stop()

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def advance(self, duration: str) -> None:
        """Move the engine clock forward (dev mode)."""
        response = self.http.post("/dev/clock/advance", json={"duration": duration})
        assert response.status_code == 200, response.text
        self.offset_ms = int(response.json()["offset_ms"])

    def now(self) -> datetime:
        """The engine clock."""
        return datetime.fromtimestamp(time.time() + self.offset_ms / 1000, tz=UTC)

    def run(self, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = self.get(f"/v1/runs/{run_id}")["data"]
        return run

    def runs_of_event(self, event_id: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.get(f"/v1/events/{event_id}/runs")["data"]
        return runs

    def wait_run(self, event_id: str, status: str = "Completed", *, function: str | None = None) -> dict[str, Any]:
        """The run `event_id` started (of `function`, if several), once it has `status`."""

        def check() -> dict[str, Any] | None:
            for summary in self.runs_of_event(event_id):
                if function is None or summary["function_id"].endswith(f"-{function}"):
                    if summary["status"] == status:
                        return self.run(summary["run_id"])
                    if summary["status"] in ("Completed", "Failed", "Cancelled") and status != summary["status"]:
                        raise AssertionError(
                            f"run ended {summary['status']}, not {status}: {self.run(summary['run_id'])}"
                        )
            return None

        run: dict[str, Any] = wait_until(check, what=f"a {status} run of event {event_id}")
        return run

    def first_run(self, event_id: str, *, function: str | None = None) -> dict[str, Any]:
        """The run `event_id` started (of `function`, if several), whatever its status."""

        def check() -> dict[str, Any] | None:
            runs = self.runs_of_event(event_id)
            found = [r for r in runs if function is None or r["function_id"].endswith(f"-{function}")]
            return self.run(found[0]["run_id"]) if found else None

        run: dict[str, Any] = wait_until(check, what=f"a run of event {event_id}")
        return run

    def wait_step(self, run_id: str, step_id: str, status: str | None = None) -> dict[str, Any]:
        """Step `step_id` of the run once it has `status` (or once it exists)."""

        def check() -> dict[str, Any] | None:
            steps = self.run(run_id)["steps"]
            return next((s for s in steps if s["id"] == step_id and status in (None, s["status"])), None)

        step: dict[str, Any] = wait_until(check, what=f"step {step_id!r} of run {run_id} is {status}")
        return step

    def events(self, name: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.get("/v1/events", name=name)["data"]
        return events

    def functions(self) -> dict[str, dict[str, Any]]:
        return {fn["id"]: fn for fn in self.get("/v1/functions")["data"]}

    def wait_synced(self, app_id: str, count: int) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            app = next((a for a in self.get("/v1/apps")["data"] if a["name"] == app_id), None)
            return app if app and app["error"] is None and len(app["functions"]) == count else None

        app: dict[str, Any] = wait_until(check, what=f"app {app_id} synced with {count} functions")
        return app


class App:
    """An app written with one official SDK, served as its own process."""

    def __init__(
        self, sdk: str, tmp: Path, engine: Engine, *, app_id: str | None = None, port: int | None = None, **env: str
    ) -> None:
        self.sdk = sdk
        self.app_id = app_id or APP_IDS[sdk]
        self.port = port or free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.origin}/api/inngest"
        self.log = tmp / f"{self.app_id}-{self.port}.log"
        self.notes = tmp / f"{self.app_id}-{self.port}.notes"
        if engine.signing_key:
            sdk_env = {"INNGEST_DEV": "0", "INNGEST_BASE_URL": engine.url, "INNGEST_SIGNING_KEY": engine.signing_key}
            sdk_env["INNGEST_EVENT_KEY"] = engine.event_key
        else:
            sdk_env = {"INNGEST_DEV": engine.url}
        environment = {**clean_environment(), **sdk_env, "COMPAT_APP_ID": self.app_id, "COMPAT_LOG": str(self.notes)}
        environment["COMPAT_ORIGIN"] = self.origin
        environment.update(env)
        if sdk == PYTHON:
            command = [sys.executable, "-m", "uvicorn", "tests.compat.py_app:app", "--host", "127.0.0.1"]
            command += ["--port", str(self.port), "--log-level", "warning"]
            environment.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        else:
            command = ["node", str(TS_DIR / "app.mjs")]
            environment["PORT"] = str(self.port)
            if sdk == TYPESCRIPT_CLASSIC:
                environment["COMPAT_CHECKPOINTING"] = "0"
        self.process = Process(command, environment, self.log)
        self.http = httpx.Client(base_url=self.origin, timeout=30)

    def start(self) -> None:
        self.process.start()
        wait_until(lambda: self.http.get("/health").status_code == 200, what=f"the {self.sdk} app is up")

    def stop(self) -> None:
        self.http.close()
        self.process.stop()

    def send(self, *events: dict[str, Any], lossy: bool = False) -> list[str]:
        """Send events with the SDK's own `send`; their ids as the SDK returned them."""
        response = self.http.post("/send", json={"events": list(events), "lossy": lossy})
        assert response.status_code == 200, f"the SDK's send failed: {response.status_code} {response.text}"
        ids: list[str] = response.json()["ids"]
        return ids

    def notes_of(self, token: str) -> list[str]:
        """What step bodies noted for `token`, in order (one line per execution)."""
        text = self.notes.read_text() if self.notes.exists() else ""
        return [line.split(" ", 1)[1] for line in text.splitlines() if line.split(" ", 1)[0] == token]


class Stack:
    """One engine and one app of one SDK, synced."""

    def __init__(self, engine: Engine, app: App, proxy: LossyProxy | None = None) -> None:
        self.engine = engine
        self.app = app
        self.proxy = proxy
        self.sdk = app.sdk

    def logs(self) -> list[Path]:
        return [self.engine.log, self.app.log]

    def slug(self, function: str) -> str:
        return f"{self.app.app_id}-{function}"

    def send(self, name: str, **data: Any) -> str:
        """Send one event through the app; its id."""
        return self.app.send({"name": name, "data": data})[0]

    def sleep_seconds(self, seconds: float) -> float:
        """What to pass to the SDK's `sleep` (or retry-after) to sleep `seconds` on the engine clock.

        The Python SDK turns durations into times with its own (wall) clock, which the dev engine's
        clock has run ahead of by every advance so far; the TypeScript SDK sends durations.
        """
        return seconds + self.engine.offset_ms / 1000 if self.sdk == PYTHON else seconds


@contextlib.contextmanager
def serve(sdk: str, tmp: Path, *, postgres_uri: str | None = None) -> Iterator[Stack]:
    """An engine (`stepstone dev -u <app>`) and an app of `sdk`, synced; both stopped afterwards."""
    engine = Engine(tmp, postgres_uri=postgres_uri)
    proxy = LossyProxy(engine.url)
    app = App(sdk, tmp, engine, COMPAT_LOSSY_URL=proxy.url)
    proxy.start()
    try:
        engine.start(app.url)
        app.start()
        engine.wait_synced(app.app_id, FUNCTION_COUNTS[sdk])
        yield Stack(engine, app, proxy)
    finally:
        engine.stop()
        app.stop()
        proxy.stop()


class LossyProxy:
    """An event API in front of the engine that loses its first answer to each seeded request.

    The request reaches the engine (the events are stored); the SDK gets a 500 and retries with
    the same `x-inngest-event-id-seed`, as it would after a dropped connection.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.seen: set[str] = set()
        self.lost = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                response = httpx.post(f"{proxy.target}{self.path}", content=body, headers=forwarded, timeout=30)
                seed = self.headers.get("x-inngest-event-id-seed", "")
                status, answer = response.status_code, response.content
                if seed and seed not in proxy.seen:
                    proxy.seen.add(seed)
                    proxy.lost += 1
                    status, answer = 500, b'{"error": "the answer was lost on the way", "status": 500}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
