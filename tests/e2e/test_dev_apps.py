"""`stepstone dev --app` as users run it: `--reload`, an app that exits, and Ctrl+C.

Each test runs the engine as a process in a scratch directory holding its own app module, so the
reload watcher sees only that directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e import processes
from tests.e2e.processes import wait_until

pytestmark = pytest.mark.slow

APP = '''
"""A scratch app for `stepstone dev --app`."""

import pathlib
import time

import fastapi

import stepstone
import stepstone.fastapi

client = stepstone.Stepstone(app_id="scratch")
HERE = pathlib.Path(__file__).parent


@client.create_function(fn_id="first", trigger=stepstone.TriggerEvent(event="scratch/first"))
def first(ctx: stepstone.ContextSync) -> str:
    def hold() -> str:
        (HERE / "started").touch()
        while not (HERE / "release").exists():  # the test releases it
            time.sleep(0.01)
        return "held"

    return ctx.step.run("hold", hold)


FUNCTIONS = [first]
'''

SECOND = """

@client.create_function(fn_id="second", trigger=stepstone.TriggerEvent(event="scratch/second"))
def second(ctx: stepstone.ContextSync) -> str:
    return "second"


FUNCTIONS.append(second)
"""

SERVE = """
app = fastapi.FastAPI()
stepstone.fastapi.serve(app, client, FUNCTIONS)
"""


class Engine(processes.Process):
    """`stepstone dev --app scratch:app` run from `tmp` (its current directory, and the watched one)."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.tmp = tmp
        self.port, self.app_port = processes.free_port(), processes.free_port()
        command = [sys.executable, "-m", "stepstone", "dev", "--port", str(self.port), "--app", "scratch:app"]
        command += ["--app-port", str(self.app_port), "--poll-interval", "60", *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        super().__init__(command, env, tmp / "engine.log")
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    def start(self) -> None:
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen(self.command, env=self.env, cwd=self.tmp, stdout=output, stderr=output)

    def stop(self) -> None:
        self.http.close()
        super().stop()

    def text(self) -> str:
        return self.log.read_text()

    def functions(self) -> set[str]:
        return {fn["id"] for fn in self.http.get("/v1/functions").json()["data"]}

    def wait_exit(self) -> int:
        assert self.process is not None
        return self.process.wait(timeout=60)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    (tmp_path / "scratch.py").write_text(APP + SERVE)
    return tmp_path


def test_reload_restarts_the_app_on_a_change_and_syncs_it_at_once(scratch: Path) -> None:
    engine = Engine(scratch, "--reload")
    engine.start()
    try:
        wait_until(lambda: engine.functions() == {"scratch-first"}, what="the app synced")
        (scratch / "scratch.py").write_text(APP + SECOND + SERVE)
        # --poll-interval 60: the periodic sync would come too late, only the reload's own sync can pass
        wait_until(lambda: engine.functions() == {"scratch-first", "scratch-second"}, what="the app re-synced")
        assert "reloading scratch:app (changed: scratch.py)" in engine.text()
        event_id = engine.http.post("/e/dev", json={"name": "scratch/second"}).json()["ids"][0]
        run = wait_until(
            lambda: (
                (runs := engine.http.get(f"/v1/events/{event_id}/runs").json()["data"])
                and runs[0]["status"] == "Completed"
            ),
            what="the new function ran",
        )
        assert run
    finally:
        engine.stop()


def test_with_reload_an_app_that_fails_waits_for_the_next_change(scratch: Path) -> None:
    engine = Engine(scratch, "--reload")
    engine.start()
    try:
        wait_until(lambda: engine.functions() == {"scratch-first"}, what="the app synced")
        (scratch / "scratch.py").write_text(APP + SERVE + "\nraise RuntimeError('broken on purpose')\n")
        wait_until(
            lambda: "the app scratch:app exited with code 1; waiting for a change to restart it" in engine.text(),
            what="the failure logged",
        )
        assert engine.http.get("/health").status_code == 200  # the engine keeps running
        (scratch / "scratch.py").write_text(APP + SECOND + SERVE)
        wait_until(lambda: engine.functions() == {"scratch-first", "scratch-second"}, what="the fixed app synced")
    finally:
        engine.stop()


@pytest.mark.parametrize("module", ["nosuch.module:app", "scratch:broken"])
def test_an_app_that_does_not_start_stops_the_engine_with_a_message(scratch: Path, module: str) -> None:
    (scratch / "scratch.py").write_text("raise RuntimeError('broken on purpose')\n")
    engine = Engine(scratch)
    engine.command[engine.command.index("scratch:app")] = module
    engine.start()
    try:
        assert engine.wait_exit() == 1
    finally:
        engine.stop()
    text = engine.text()
    assert f"Error: the app {module} exited with code 1; fix it and start again, or use --reload" in text
    assert "stopped" in text and "Traceback" in text  # the app's own error, on the engine's terminal


def test_an_app_that_dies_later_stops_the_engine(scratch: Path) -> None:
    engine = Engine(scratch)
    engine.start()
    try:
        wait_until(lambda: engine.functions() == {"scratch-first"}, what="the app synced")
        assert engine.process is not None
        children = subprocess.run(["pgrep", "-P", str(engine.process.pid)], capture_output=True, text=True)
        (app_pid,) = map(int, children.stdout.split())
        os.kill(app_pid, signal.SIGKILL)
        assert engine.wait_exit() == 1
        expected = "Error: the app scratch:app was stopped by SIGKILL; fix it and start again, or use --reload"
        assert expected in engine.text()
    finally:
        engine.stop()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_drains_the_calls_in_flight_and_exits_0(scratch: Path, signum: signal.Signals) -> None:
    engine = Engine(scratch)
    engine.start()
    try:
        wait_until(lambda: engine.functions() == {"scratch-first"}, what="the app synced")
        event_id = engine.http.post("/e/dev", json={"name": "scratch/first"}).json()["ids"][0]
        wait_until(lambda: (scratch / "started").exists(), what="the step running in the app")
        run_id = engine.http.get(f"/v1/events/{event_id}/runs").json()["data"][0]["run_id"]
        assert engine.process is not None
        engine.process.send_signal(signum)  # what Ctrl+C sends (to the engine alone: apps have their own session)
        wait_until(lambda: "draining: no new work" in engine.text(), what="the engine draining")
        (scratch / "release").touch()
        assert engine.wait_exit() == 0
        text = engine.text()
        assert "Aborted!" not in text and "KeyboardInterrupt" not in text
        assert "stopped" in text.rstrip().splitlines()[-1]
        with pytest.raises(httpx.ConnectError):  # the app was stopped with the engine
            httpx.get(f"http://127.0.0.1:{engine.app_port}/api/inngest")
    finally:
        engine.stop()
    # The step that was running when the signal came finished, and its result was stored.
    after = Engine(scratch)
    after.command[after.command.index("--app") : after.command.index("--app") + 2] = []
    after.start()
    try:
        wait_until(lambda: after.http.get("/health").status_code == 200, what="the engine again")
        steps = after.http.get(f"/v1/runs/{run_id}").json()["data"]["steps"]
        assert ("hold", "Completed", "held") in [(step["id"], step["status"], step["output"]) for step in steps]
    finally:
        after.stop()


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_an_app_stops_when_the_engine_is_killed(scratch: Path) -> None:
    engine = Engine(scratch)
    engine.start()
    try:
        wait_until(lambda: engine.functions() == {"scratch-first"}, what="the app synced")
        engine.kill()  # SIGKILL: no drain, no clean-up

        def app_gone() -> bool:
            try:
                httpx.get(f"http://127.0.0.1:{engine.app_port}/api/inngest")
            except httpx.ConnectError:
                return True
            return False

        wait_until(app_gone, what="the app stopped")
    finally:
        engine.stop()


def test_reload_needs_an_app(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stepstone", "dev", "--reload"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "--reload restarts the --app processes" in result.stderr


def test_without_u_or_app_the_engine_finds_an_app_on_this_machine(tmp_path: Path) -> None:
    # The example app, alone on a port the engine scans ($PORT, as Inngest's dev server does), then
    # `stepstone dev` with no -u and no --app: the app is found, synced, and runs events.
    port, app_port = processes.free_port(), processes.free_port()
    app = processes.example_app(tmp_path, app_port, port)
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "PORT": str(app_port)}
    command = [sys.executable, "-m", "stepstone", "dev", "--port", str(port), "--db", str(tmp_path / "engine.db")]
    engine = processes.Process([*command, "--poll-interval", "0.5"], environment, tmp_path / "engine.log")
    app.start()
    engine.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            found = f"http://127.0.0.1:{app_port}/api/inngest"
            wait_until(lambda: found in _apps(http), what="the app found")  # (and any other this machine serves)
            event = http.post("/e/dev", json={"name": "example/steps", "data": {"count": 2}}).json()["ids"][0]
            wait_until(lambda: _statuses(http, event) == ["Completed"], what="the run")
        logged = (tmp_path / "engine.log").read_text()
        assert "looking for apps on 127.0.0.1 ports 80, 443, 3000-3010, 4321, 5000, 5173, 8000, " in logged
        assert f"found an app at http://127.0.0.1:{app_port}/api/inngest" in logged
    finally:
        engine.stop()
        app.stop()


def test_no_discovery_looks_for_no_app(tmp_path: Path) -> None:
    port, app_port = processes.free_port(), processes.free_port()
    app = processes.example_app(tmp_path, app_port, port)
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "PORT": str(app_port)}
    command = [sys.executable, "-m", "stepstone", "dev", "--port", str(port), "--db", str(tmp_path / "engine.db")]
    engine = processes.Process([*command, "--no-discovery"], environment, tmp_path / "engine.log")
    app.start()
    engine.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            wait_until(lambda: http.get("/health").status_code == 200, what="the engine")
            wait_until(lambda: httpx.get(f"http://127.0.0.1:{app_port}/api/inngest").status_code == 200, what="app")
            assert _apps(http) == []
        # The engine says at start-up whether it looks for apps; with --no-discovery it does not.
        logged = (tmp_path / "engine.log").read_text()
        assert "Dashboard on" in logged and "looking for apps" not in logged and "found an app" not in logged
    finally:
        engine.stop()
        app.stop()


def _apps(http: httpx.Client) -> list[str]:
    return [app["url"] for app in http.get("/v1/apps").json()["data"]]


def _statuses(http: httpx.Client, event_id: str) -> list[str]:
    return [run["status"] for run in http.get(f"/v1/events/{event_id}/runs").json()["data"]]
