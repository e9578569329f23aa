"""The CLI as users run it: `stepstone dev --app examples.app:app`, help texts, graceful stop."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e import processes
from tests.e2e.processes import REPO, wait_until

pytestmark = pytest.mark.slow


def test_the_quickstart_runs_the_example_app_end_to_end(tmp_path: Path) -> None:
    port, app_port = processes.free_port(), processes.free_port()
    engine = processes.engine(tmp_path, port, "--app", "examples.app:app", "--app-port", str(app_port))
    engine.start()
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        wait_until(lambda: http.get("/health").status_code == 200, what="health")
        wait_until(lambda: len(http.get("/v1/functions").json()["data"]) == 4, what="the example app synced")
        event = {"name": "shop/order.placed", "data": {"order_id": "A-1", "amount": 42}}
        event_id = http.post("/e/anything", json=event).json()["ids"][0]

        def step_status(step: str) -> str | None:
            runs = http.get(f"/v1/events/{event_id}/runs").json()["data"]
            if not runs:
                return None
            steps = http.get(f"/v1/runs/{runs[0]['run_id']}").json()["data"]["steps"]
            return next((s["status"] for s in steps if s["id"] == step), None)

        wait_until(lambda: step_status("cooling-off") == "Sleeping", what="the run sleeping")
        assert http.post("/dev/clock/advance", json={"duration": "10m"}).status_code == 200
        wait_until(lambda: step_status("wait-for-shipping") == "Waiting", what="the run waiting")
        http.post("/e/anything", json={"name": "shop/order.shipped", "data": {"order_id": "A-1"}})
        wait_until(lambda: step_status("wait-for-shipping") == "Completed", what="the run resumed")
        run_id = http.get(f"/v1/events/{event_id}/runs").json()["data"][0]["run_id"]
        run = wait_until(
            lambda: (r := http.get(f"/v1/runs/{run_id}").json()["data"])["status"] == "Completed" and r,
            what="completion",
        )
        assert run["output"] == {"items": ["sku-0", "sku-1"], "charge": "ch_123", "shipped": True}
        paid = http.get("/v1/events", params={"name": "shop/order.paid"}).json()["data"]
        assert paid and paid[0]["data"]["reference"] == "ch_123"
    finally:
        http.close()
        assert engine.process is not None
        engine.process.send_signal(signal.SIGTERM)
        assert engine.process.wait(timeout=30) == 0


@pytest.mark.parametrize("command", ["dev", "start"])
def test_every_flag_documents_its_environment_variable(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stepstone", command, "--help"], capture_output=True, text=True, cwd=REPO, check=True
    )
    text = " ".join(result.stdout.split())
    flags = set(re.findall(r"--([a-z][a-z-]+)", text)) - {"help"}
    assert {"port", "host", "db", "sdk-url"} <= flags
    for flag in flags:
        env = "STEPSTONE_" + flag.upper().replace("-", "_")
        assert env in text, f"--{flag} does not show {env}"
    assert "default: 8288" in text and "default: 127.0.0.1" in text
