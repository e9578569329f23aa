"""Three engine processes on PostgreSQL, 500 runs with sleeps and waits, and two faults mid-way.

One engine is SIGKILLed; the database connections of another are terminated (`pg_terminate_backend`).
Every run completes, no step whose result was stored runs again (the example app counts executions on
disk), and the engine whose connections were cut logs the reconnect.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import conninfo

from tests.e2e import processes
from tests.e2e.processes import wait_until

pytestmark = pytest.mark.slow

RUNS = 500
STEPS = 4


def ledger(path: Path) -> Counter[tuple[str, str]]:
    if not path.exists():
        return Counter()
    return Counter(tuple(line.split()) for line in path.read_text().splitlines() if line.strip())  # type: ignore[misc]


def stored(dsn: str) -> set[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT run_id, user_id FROM steps WHERE memo IS NOT NULL AND op = 'StepRun'").fetchall()
    return {(str(run), str(step)) for run, step in rows}


def terminate(dsn: str, application: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchall()
    return len(rows)


def test_three_engines_survive_a_kill_and_cut_connections(tmp_path: Path, postgres_dsn: str) -> None:
    ports = [processes.free_port() for _ in range(3)]
    app_port = processes.free_port()
    app_url = f"http://127.0.0.1:{app_port}/api/inngest"
    path = tmp_path / "ledger.txt"
    # The app reports checkpoints to the third engine, which stays healthy throughout.
    app = processes.example_app(tmp_path, app_port, ports[2], EXAMPLE_LEDGER=str(path))
    engines = []
    for index, port in enumerate(ports):
        dsn = conninfo.make_conninfo(postgres_dsn, application_name=f"engine{index}")
        flags = ["--postgres-uri", dsn, "-u", app_url, "--retry-interval", "0.2", "--poll-interval", "0.5"]
        # Leases long enough that the engine whose connections are cut keeps them while it reconnects: a lease
        # that lapsed would let another engine call the app while the first call still runs, and a step both
        # calls run before either stores it would count twice (at-least-once, not a re-run of a stored step).
        flags += ["--lease-seconds", "10", "--postgres-pool-size", "6", "--log-level", "info"]
        engine = processes.engine(tmp_path / f"e{index}", port, *flags)
        engine.log = tmp_path / f"engine{index}.log"
        engines.append(engine)
    app.start()
    for engine in engines:
        engine.start()
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in ports]
    try:
        for client in clients:
            wait_until(lambda c=client: c.get("/health").status_code == 200, timeout=60, what="engine health")
        wait_until(
            lambda: any(f["id"] == "example-steps" for f in clients[2].get("/v1/functions").json()["data"]),
            what="the app synced",
        )
        event = {"name": "example/steps", "data": {"count": STEPS, "delay": 0.005, "nap": "2s", "batch": "b1"}}
        event_ids: list[str] = []
        for chunk in range(RUNS // 50):
            answer = clients[chunk % 3].post("/e/dev", json=[event] * 50)
            assert answer.status_code == 200, answer.text
            event_ids += answer.json()["ids"]

        wait_until(lambda: sum(ledger(path).values()) >= RUNS * STEPS // 5, timeout=120, what="a fifth of the steps")
        engines[0].kill()
        first = stored(postgres_dsn)
        clients[2].post("/dev/clock/advance", json={"duration": "3s"})  # naps end
        wait_until(lambda: sum(ledger(path).values()) >= RUNS * STEPS // 2, timeout=120, what="half of the steps")
        assert terminate(postgres_dsn, "engine1") >= 1
        second = stored(postgres_dsn)
        clients[2].post("/e/dev", json={"name": "example/go", "data": {"batch": "b1"}})
        time.sleep(1)
        clients[2].post("/dev/clock/advance", json={"duration": "2h"})  # waits that missed the event time out

        def all_completed() -> bool:
            done = (
                clients[2]
                .get("/v1/runs", params={"status": "Completed", "function_id": "example-steps", "limit": 500})
                .json()["data"]
            )
            if len(done) < RUNS:  # runs that reached their wait late wait for a timeout: move time on
                clients[2].post("/dev/clock/advance", json={"duration": "2h"})
            return len(done) == RUNS

        try:
            wait_until(all_completed, timeout=150, what="every run completed")
        except AssertionError:
            with psycopg.connect(postgres_dsn) as conn:
                found = [
                    conn.execute(query).fetchall()
                    for query in (
                        "SELECT status, count(*) FROM runs GROUP BY status",
                        "SELECT kind, lease_owner IS NOT NULL, count(*) FROM queue GROUP BY 1, 2",
                        "SELECT status, op, count(*) FROM steps WHERE memo IS NULL GROUP BY 1, 2",
                    )
                ]
            raise AssertionError(f"runs, queue items and open steps: {found}") from None
        final = ledger(path)
        runs = {run_id for run_id, _ in final}
        assert len(runs) == RUNS
        assert 0 < len(first) < len(second) < RUNS * STEPS  # the faults came mid-way
        for key in first | second:
            assert final[key] == 1, (key, final[key])
        assert all(count <= 2 for count in final.values())
        assert all(final[(run, f"s{index}")] >= 1 for run in runs for index in range(STEPS))
        log = (tmp_path / "engine1.log").read_text()
        assert "reconnect" in log, log[-2000:]
    finally:
        for client in clients:
            client.close()
        for engine in engines:
            engine.stop()
        app.stop()
