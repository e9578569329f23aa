"""Durability, proven with real processes: SIGKILL the engine, and separately the app, mid-way.

Every run must complete, and no step whose result was stored may run again; only a step cut off in
flight by the crash may run twice. Step executions are counted on disk by the example app.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.e2e import processes
from tests.e2e.processes import wait_until

pytestmark = pytest.mark.slow

RUNS = 40
STEPS = 6


def ledger_counts(path: Path) -> Counter[tuple[str, str]]:
    if not path.exists():
        return Counter()
    return Counter(tuple(line.split()) for line in path.read_text().splitlines() if line.strip())  # type: ignore[misc]


def stored_steps(db: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT run_id, user_id FROM steps WHERE memo IS NOT NULL").fetchall()
    return {(run_id, step) for run_id, step in rows}


class World:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.ledger = tmp / "ledger.txt"
        self.engine_port = processes.free_port()
        self.app_port = processes.free_port()
        app_url = f"http://127.0.0.1:{self.app_port}/api/inngest"
        self.engine = processes.engine(
            tmp,
            self.engine_port,
            "-u",
            app_url,
            "--retry-interval",
            "0.2",
            "--poll-interval",
            "0.5",
            "--log-level",
            "warning",
        )
        self.app = processes.example_app(tmp, self.app_port, self.engine_port, EXAMPLE_LEDGER=str(self.ledger))
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.engine_port}", timeout=10)

    def start(self) -> None:
        self.app.start()
        self.start_engine()

    def start_engine(self) -> None:
        self.engine.start()
        wait_until(lambda: self.http.get("/health").status_code == 200, what="engine health")
        wait_until(
            lambda: any(f["id"] == "example-steps" for f in self.http.get("/v1/functions").json()["data"]),
            what="the example app synced",
        )

    def send_runs(self) -> list[str]:
        events = [{"name": "example/steps", "data": {"count": STEPS, "delay": 0.05}} for _ in range(RUNS)]
        response = self.http.post("/e/dev", json=events)
        assert response.status_code == 200, response.text
        return list(response.json()["ids"])

    def completed_runs(self, event_ids: list[str]) -> list[dict[str, object]] | None:
        runs = []
        for event_id in event_ids:
            found = self.http.get(f"/v1/events/{event_id}/runs").json()["data"]
            if not found or found[0]["status"] != "Completed":
                return None
            runs.append(found[0])
        return runs

    def stop(self) -> None:
        self.engine.stop()
        self.app.stop()
        self.http.close()


@pytest.fixture
def world(tmp_path: Path):
    world = World(tmp_path)
    world.start()
    yield world
    world.stop()


def check_no_stored_step_ran_again(
    world: World, stored: set[tuple[str, str]], at_crash: Counter[tuple[str, str]], runs: list[dict[str, object]]
) -> None:
    final = ledger_counts(world.ledger)
    run_ids = {str(run["run_id"]) for run in runs}
    assert {run_id for run_id, _ in final} == run_ids  # ctx.run_id is the run's id in the REST API
    for run in runs:
        assert run["output"] == sum(range(STEPS))
        for index in range(STEPS):
            key = (str(run["run_id"]), f"s{index}")
            assert final[key] >= 1, key
            if key in stored:
                assert at_crash[key] == 1 and final[key] == 1, (key, at_crash[key], final[key])
            else:
                assert final[key] <= 2, (key, final[key])
    assert stored, "the crash came too late: nothing was stored yet"
    assert len(stored) < RUNS * STEPS, "the crash came too late: everything was stored already"


def test_engine_sigkill_mid_way(world: World) -> None:
    event_ids = world.send_runs()
    wait_until(lambda: sum(ledger_counts(world.ledger).values()) >= RUNS * STEPS // 3, what="a third of the steps")
    world.engine.kill()
    stored = stored_steps(world.tmp / "engine.db")
    at_crash = ledger_counts(world.ledger)
    time.sleep(0.5)  # the app's in-flight requests fail against the dead engine
    world.start_engine()
    runs = wait_until(lambda: world.completed_runs(event_ids), timeout=60, what="every run completed")
    check_no_stored_step_ran_again(world, stored, at_crash, runs)


def test_app_sigkill_mid_way(world: World) -> None:
    event_ids = world.send_runs()
    wait_until(lambda: sum(ledger_counts(world.ledger).values()) >= RUNS * STEPS // 3, what="a third of the steps")
    world.app.kill()
    time.sleep(0.5)  # checkpoints already on the wire land; no new step can be stored without the app
    stored = stored_steps(world.tmp / "engine.db")
    at_crash = ledger_counts(world.ledger)
    world.app.start()
    runs = wait_until(lambda: world.completed_runs(event_ids), timeout=60, what="every run completed")
    check_no_stored_step_ran_again(world, stored, at_crash, runs)
