"""SIGTERM drains a real `stepstone dev` process: `/health` answers 503 "draining" while a call is still in
flight, the call finishes and its run completes, then the process exits 0."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from pathlib import Path

import httpx

from tests.e2e import processes

APP = """
import asyncio
import os
from pathlib import Path

import fastapi

import stepstone
import stepstone.fastapi

client = stepstone.Stepstone(app_id="drained")
HERE = Path(os.environ["DRAIN_DIR"])


async def slow() -> str:
    (HERE / "began").touch()
    while not (HERE / "release").exists():
        await asyncio.sleep(0.05)
    return "finished"


@client.create_function(fn_id="slow", trigger=stepstone.TriggerEvent(event="drain/slow"))
async def slow_fn(ctx: stepstone.Context) -> str:
    return await ctx.step.run("slow", slow)


app = fastapi.FastAPI()
stepstone.fastapi.serve(app, client, [slow_fn])
"""


def test_sigterm_answers_draining_before_the_engine_stops(tmp_path: Path) -> None:
    (tmp_path / "drain_app.py").write_text(APP)
    engine_port, app_port = processes.free_port(), processes.free_port()
    env = {
        **os.environ,
        "STEPSTONE_DEV": f"http://127.0.0.1:{engine_port}",
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{processes.REPO}",
        "DRAIN_DIR": str(tmp_path),
    }
    app = processes.Process(
        [sys.executable, "-m", "uvicorn", "drain_app:app", "--port", str(app_port), "--log-level", "warning"],
        env,
        tmp_path / "app.log",
    )
    engine = processes.engine(tmp_path, engine_port, "-u", f"http://127.0.0.1:{app_port}/api/inngest")
    http = httpx.Client(base_url=f"http://127.0.0.1:{engine_port}", timeout=10)
    app.start()
    engine.start()
    try:
        processes.wait_until(lambda: http.get("/health").status_code == 200, what="engine health")
        processes.wait_until(
            lambda: any(f["id"] == "drained-slow" for f in http.get("/v1/functions").json()["data"]),
            what="the app synced",
        )
        assert http.post("/e/dev", json={"name": "drain/slow"}).status_code == 200
        processes.wait_until(lambda: (tmp_path / "began").exists(), what="the step began")

        assert engine.process is not None
        engine.process.send_signal(signal.SIGTERM)
        answer = processes.wait_until(
            lambda: (lambda r: r if r.status_code == 503 else None)(http.get("/health")), what="not ready"
        )
        assert "draining" in answer.text
        assert http.get("/live").status_code == 200  # still answering
        assert engine.process.poll() is None  # the call in flight holds the drain

        (tmp_path / "release").touch()
        assert engine.process.wait(timeout=30) == 0
    finally:
        http.close()
        engine.stop()
        app.stop()
    with sqlite3.connect(tmp_path / "engine.db") as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("Completed",)]
    assert "draining: no new work" in (tmp_path / "engine.log").read_text()
