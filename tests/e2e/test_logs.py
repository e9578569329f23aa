"""`stepstone dev --log-format json` as a log shipper sees it: every line JSON, a run's lifecycle included."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e import processes
from tests.e2e.processes import wait_until

pytestmark = pytest.mark.slow


def json_lines(log: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_the_json_log_is_one_object_a_line_with_a_runs_lifecycle(tmp_path: Path) -> None:
    port, app_port = processes.free_port(), processes.free_port()
    app = processes.example_app(tmp_path, app_port, port)
    app_url = f"http://127.0.0.1:{app_port}/api/inngest"
    engine = processes.engine(tmp_path, port, "--log-format", "json", "-u", app_url, "--poll-interval", "0.2")
    app.start()
    engine.start()
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        wait_until(lambda: len(http.get("/v1/functions").json()["data"]) == 4, what="the example app synced")
        event_id = http.post("/e/anything", json={"name": "example/steps", "data": {"count": 2}}).json()["ids"][0]
        run = wait_until(lambda: (runs := http.get(f"/v1/events/{event_id}/runs").json()["data"]) and runs[0])
        wait_until(lambda: http.get(f"/v1/runs/{run['run_id']}").json()["data"]["status"] == "Completed")
        wait_until(
            lambda: any(line.get("action") == "run.completed" for line in json_lines(engine.log)), what="the log"
        )
    finally:
        http.close()
        assert engine.process is not None
        engine.process.send_signal(signal.SIGTERM)
        assert engine.process.wait(timeout=30) == 0
        app.stop()
    lines = json_lines(engine.log)  # every line parses
    for line in lines:
        assert {"ts", "level", "logger", "msg"} <= set(line), line
        assert line["ts"].endswith("Z") and line["level"] in {"debug", "info", "warning", "error", "critical"}
    lifecycle = [line for line in lines if line["logger"] == "stepstone.runs" and line.get("run_id") == run["run_id"]]
    assert [line["action"] for line in lifecycle] == ["run.started", "run.completed"]
    assert all(line["function_id"] == "example-steps" and line["app_id"] == "example" for line in lifecycle)
    assert all(line["event_id"] == event_id for line in lifecycle)
    assert any(line["logger"] == "uvicorn.error" for line in lines)
    assert any(line["logger"] == "stepstone.sync" and line.get("app_id") == "example" for line in lines)
    events = [line for line in lines if line["logger"] == "stepstone.access" and line.get("method") == "POST"]
    assert any(line["path"] == "/e/<redacted>" and line["status"] == "200" for line in events)
    assert "anything" not in engine.log.read_text()  # the event key
