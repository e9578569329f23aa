"""The management commands (`send`, `invoke`, `signal`, `runs`, `events`, `functions`, `apps`) as users run them:
subprocesses against a live `stepstone dev --app examples.app:app`, one engine for the module."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import processes
from tests.e2e.processes import REPO, wait_until

pytestmark = pytest.mark.slow

ANSI = "\x1b["


@dataclass
class Engine:
    url: str
    http: httpx.Client

    def cli(
        self, *args: str, url: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "STEPSTONE_URL": url or self.url, **(env or {})}
        for name in ("STEPSTONE_SIGNING_KEY", "INNGEST_SIGNING_KEY", "STEPSTONE_EVENT_KEY", "INNGEST_EVENT_KEY"):
            if name not in (env or {}):
                environment.pop(name, None)
        command = [sys.executable, "-m", "stepstone", *args]
        return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=environment, timeout=60)

    def json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def run(self, run_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get(f"/v1/runs/{run_id}").json()["data"]
        return data


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    tmp = tmp_path_factory.mktemp("manage")
    port, app_port = processes.free_port(), processes.free_port()
    process = processes.engine(tmp, port, "--app", "examples.app:app", "--app-port", str(app_port))
    process.start()
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, timeout=10)
    try:
        wait_until(lambda: http.get("/health").status_code == 200, what="health")
        wait_until(lambda: len(http.get("/v1/functions").json()["data"]) == 4, what="the example app synced")
        yield Engine(url, http)
    finally:
        http.close()
        process.stop()


def one_error_line(result: subprocess.CompletedProcess[str], exit_code: int = 1) -> str:
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


def readable(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert ANSI not in result.stdout  # stdout is not a terminal: rich prints without colour
    return result.stdout


def order(engine: Engine, order_id: str) -> str:
    """Send an order and return the id of the `process-order` run it started (it sleeps after three steps)."""
    [event_id] = engine.json("send", "shop/order.placed", "--data", json.dumps({"order_id": order_id, "amount": 42}))[
        "ids"
    ]
    runs = engine.http.get(f"/v1/events/{event_id}/runs").json()["data"]
    run_id: str = next(run["run_id"] for run in runs if run["function_id"] == "example-process-order")
    wait_until(lambda: any(s["id"] == "cooling-off" for s in engine.run(run_id)["steps"]), what="the run sleeping")
    return run_id


def test_send_shows_the_event_and_the_runs_it_started(engine: Engine) -> None:
    text = readable(engine.cli("send", "shop/order.placed", "--data", '{"order_id": "S-1", "amount": 1}'))
    assert text.startswith("sent shop/order.placed: event ") and "started run " in text
    assert "of example-process-order" in text
    sent = engine.json("send", "example/steps", "-d", '{"count": 1}', "--id", "fixed-id")
    again = engine.json("send", "example/steps", "-d", '{"count": 1}', "--id", "fixed-id")
    assert len(sent["ids"]) == 1 and len(again["ids"]) == 1
    runs = engine.http.get(f"/v1/events/{again['ids'][0]}/runs").json()
    assert runs["data"] == [] and runs["skipped"][0]["reason"].startswith("idempotent duplicate")


def test_runs_list_and_show_readable_and_as_json(engine: Engine) -> None:
    run_id = order(engine, "L-1")
    listed = engine.json("runs", "list", "--function", "example-process-order", "--limit", "5")
    assert run_id in [run["run_id"] for run in listed] and len(listed) <= 5
    assert all(run["status"] == "Running" for run in engine.json("runs", "list", "--status", "running"))
    table = readable(engine.cli("runs", "list", "--limit", "50"))
    assert run_id in table and "example-process-order" in table and "RUN ID" in table  # ids in full
    shown = engine.json("runs", "show", run_id)
    assert shown["run_id"] == run_id and [s["id"] for s in shown["steps"]][:2] == ["reserve-stock", "charge-card"]
    tree = readable(engine.cli("runs", "show", run_id))
    assert run_id in tree and "reserve-stock" in tree and '["sku-0", "sku-1"]' in tree and "Sleeping" in tree


def test_a_failed_run_is_shown_with_its_errors_and_exit_0(engine: Engine) -> None:
    started = engine.json("invoke", "example-steps", "--data", '{"count": "not a number"}')
    run_id = started["run_id"]

    def failed() -> bool:
        engine.http.post("/dev/clock/advance", json={"duration": "1h"})  # skip the retries' backoff
        return bool(engine.run(run_id)["status"] == "Failed")

    wait_until(failed, what="the run failing for good")
    tree = readable(engine.cli("runs", "show", run_id))
    assert "Failed" in tree and "ValueError" in tree and "failed attempts (5)" in tree
    assert engine.json("runs", "show", run_id)["status"] == "Failed"


def test_cancel_and_rerun(engine: Engine) -> None:
    run_id = order(engine, "C-1")
    assert readable(engine.cli("runs", "cancel", run_id)).strip() == f"cancelled run {run_id} of example-process-order"
    assert one_error_line(engine.cli("runs", "cancel", run_id)) == f"error: run {run_id} has already ended"
    rerun = engine.json("runs", "rerun", run_id)
    assert rerun["original_run_id"] == run_id and rerun["run_id"] != run_id
    text = readable(engine.cli("runs", "rerun", run_id))
    assert text.startswith("started run ") and text.strip().endswith(f"a rerun of {run_id}")


def test_a_bad_run_id_is_one_error_line_and_exit_1(engine: Engine) -> None:
    for command in (["runs", "show", "nope"], ["runs", "cancel", "nope"]):
        assert "not found" in one_error_line(engine.cli(*command))


def test_an_engine_that_is_down_is_one_clear_line_and_exit_1(engine: Engine) -> None:
    down = f"http://127.0.0.1:{processes.free_port()}"
    for command in (["runs", "tail"], ["send", "x", "--json"]):
        line = one_error_line(engine.cli(*command, url=down))
        assert line.startswith(f"error: cannot reach the engine at {down}: "), line


def test_usage_errors_exit_2(engine: Engine) -> None:
    for command in (
        ["send", "x", "--data", "{not json"],
        ["send", "x", "--data", "[1, 2]"],
        ["runs", "list", "--status", "Sleeping"],
        ["runs", "list", "--url", "ftp://example.com"],
        ["runs", "list", "--signing-key", "not-hex"],
        ["runs", "show"],
    ):
        result = engine.cli(*command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and "Usage:" in result.stderr


def test_events_list_and_show(engine: Engine) -> None:
    [event_id] = engine.json("send", "shop/order.placed", "--data", '{"order_id": "E-1", "amount": 3}')["ids"]
    listed = engine.json("events", "list", "--name", "shop/order.placed", "--limit", "3")
    assert listed[0]["internal_id"] == event_id and len(listed) <= 3
    assert event_id in readable(engine.cli("events", "list"))
    shown = engine.json("events", "show", event_id)
    assert shown["data"] == {"order_id": "E-1", "amount": 3}
    assert [run["function_id"] for run in shown["runs"]] == ["example-process-order"]
    tree = readable(engine.cli("events", "show", event_id))
    assert event_id in tree and "example-process-order" in tree and '"order_id": "E-1"' in tree
    assert "not found" in one_error_line(engine.cli("events", "show", "nope"))


def test_functions_and_apps(engine: Engine) -> None:
    functions = engine.json("functions", "list")
    assert {fn["id"] for fn in functions} == {
        "example-process-order",
        "example-send-receipt",
        "example-nightly-report",
        "example-steps",
    }
    table = readable(engine.cli("functions", "list"))
    assert "example-process-order" in table and "shop/order.placed" in table and "cron TZ=UTC 0 2 * * *" in table
    [app] = engine.json("apps", "list")
    assert app["name"] == "example" and len(app["functions"]) == 4
    assert app["url"] in readable(engine.cli("apps", "list"))
    synced = engine.json("apps", "sync", app["url"])
    assert synced["name"] == "example" and synced["error"] is None
    assert readable(engine.cli("apps", "sync", app["url"])).startswith("synced app example from ")
    nobody = f"http://127.0.0.1:{processes.free_port()}/api/inngest"
    assert "did not sync" in one_error_line(engine.cli("apps", "sync", nobody))


def test_invoke(engine: Engine) -> None:
    run = engine.json("invoke", "example-steps", "--data", '{"count": 2}')
    assert run["function_id"] == "example-steps"
    wait_until(lambda: engine.run(run["run_id"])["status"] == "Completed", what="the invoked run")
    assert engine.run(run["run_id"])["output"] == 1
    text = readable(engine.cli("invoke", "example-steps"))
    assert text.startswith("started run ") and "of example-steps" in text
    assert "not found" in one_error_line(engine.cli("invoke", "example-nope"))


def test_signal(engine: Engine) -> None:
    assert "no run waits for signal 'cli-s-1'" in one_error_line(engine.cli("signal", "cli-s-1"))
    [event_id] = engine.json("send", "example/steps", "--data", '{"count": 3, "signal": "cli-s-1"}')["ids"]
    run_id = engine.http.get(f"/v1/events/{event_id}/runs").json()["data"][0]["run_id"]
    wait_until(lambda: any(s["id"] == "signal" for s in engine.run(run_id)["steps"]), what="the run waiting")
    text = readable(engine.cli("signal", "cli-s-1", "--data", '{"approved": true}'))
    assert text.strip() == f"signal cli-s-1 resumed run {run_id}"
    wait_until(lambda: engine.run(run_id)["status"] == "Completed", what="the signalled run")
    [step] = [s for s in engine.run(run_id)["steps"] if s["id"] == "signal"]
    assert step["output"] == {"signal": "cli-s-1", "data": {"approved": True}}
    # --wait keeps trying while no run waits, then says how long it tried; --data must be JSON.
    assert "no run waits for signal 'cli-s-1' (tried for 0.3 s)" in one_error_line(
        engine.cli("signal", "cli-s-1", "--wait", "0.3")
    )
    bad = engine.cli("signal", "x", "--data", "{nope")
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr and "Traceback" not in bad.stderr


def test_runs_tail_follows_changes_until_ctrl_c(engine: Engine) -> None:
    command = [sys.executable, "-m", "stepstone", "runs", "tail", "--interval", "0.2", "--last", "500"]
    environment = {**os.environ, "STEPSTONE_URL": engine.url}
    tail = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=environment
    )
    try:
        run_id = engine.json("invoke", "example-steps", "--data", '{"count": 3}')["run_id"]
        assert tail.stdout is not None
        lines = []
        while not any(run_id in line and "Completed" in line for line in lines):
            line = tail.stdout.readline()
            assert line, "tail ended early"
            lines.append(line)
        assert "example-steps" in lines[-1] and ANSI not in lines[-1]
        tail.send_signal(signal.SIGINT)
        _, stderr = tail.communicate(timeout=20)
        assert tail.returncode == 0 and "Aborted" not in stderr and "Traceback" not in stderr
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()


def test_a_production_engine_needs_the_signing_key_and_an_event_key(tmp_path: Path, engine: Engine) -> None:
    signing_key, event_key = "signkey-test-" + "ab" * 32, "the-event-key"
    port = processes.free_port()
    command = [sys.executable, "-m", "stepstone", "start", "--port", str(port), "--db", str(tmp_path / "prod.db")]
    process = processes.Process(
        [*command, "--signing-key", signing_key, "--event-key", event_key],
        {**os.environ, "PYTHONUNBUFFERED": "1"},
        tmp_path / "prod.log",
    )
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, what="the production engine")
        assert "Authentication failed" in one_error_line(engine.cli("runs", "list", url=url))
        keyed = {"STEPSTONE_SIGNING_KEY": signing_key}
        assert readable(engine.cli("runs", "list", url=url, env=keyed)).strip() == "no runs"
        assert "--event-key" in one_error_line(engine.cli("send", "a/b", url=url, env=keyed))
        sent = engine.cli("send", "a/b", "--json", url=url, env={**keyed, "INNGEST_EVENT_KEY": event_key})
        assert sent.returncode == 0 and len(json.loads(sent.stdout)["ids"]) == 1, sent.stderr
        assert signing_key not in sent.stdout + sent.stderr
    finally:
        process.stop()


@pytest.mark.parametrize("group", ["send", "runs tail"])
def test_help_shows_the_environment_variables(engine: Engine, group: str) -> None:
    text = " ".join(readable(engine.cli(*group.split(), "--help")).split())
    assert "STEPSTONE_URL" in text and "STEPSTONE_SIGNING_KEY" in text and "--json" in text
    if group == "send":
        assert "STEPSTONE_EVENT_KEY" in text and "INNGEST_EVENT_KEY" in text
