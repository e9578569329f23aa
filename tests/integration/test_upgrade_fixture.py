"""A database written by an older engine, upgraded by `stepstone db upgrade`, then finished by the current one.

The fixture (`tests/fixtures/upgrade/`, see its README) holds, on each store, what the engine of an older
commit left when it was stopped cleanly: runs asleep, waiting for an event or a timeout, queued under a
concurrency limit and a throttle, due for a retry, waiting for an invoked child, and events held by a
debounce and by a batch. Each test copies it (the SQLite file; the PostgreSQL dump restored with psql into a
new database), runs `stepstone db status` and `stepstone db upgrade`, starts `stepstone dev` with the
fixture's app on it, goes through the manifest's stages (send the events that release the waits, move the dev
clock, wait for the runs each stage ends), and checks that every function ends with exactly the runs, statuses
and outputs the manifest lists, the runs of the fixture among them, and that no event is still held.

Only the CLI, the HTTP API and the fixture's app are used: nothing of the engine's modules.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import postgres
from tests.docs.runner import port_free
from tests.e2e.processes import REPO, Process, free_port

pytestmark = pytest.mark.slow

FIXTURE = REPO / "tests" / "fixtures" / "upgrade"
MANIFEST: dict[str, Any] = json.loads((FIXTURE / "manifest.json").read_text())
ENDED = {"Completed", "Failed", "Cancelled", "Skipped"}
POLLS = 1200  # tries, 0.05 s apart, for each thing awaited
RELATIVE_ADVANCE_MS = 17 * 86_400_000  # more than the stages' `advance_by`, added up
CLOCK_OFFSET = "clock_offset_ms"  # the settings row of the dev clock's offset
REWIND = "UPDATE settings SET value = ? WHERE key = ?"


def stepstone(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "stepstone", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The fixture's database for one store, copied: (store, the CLI flags that name it)."""
    kind = request.param
    source = FIXTURE / MANIFEST["stores"][kind]["file"]
    if kind == "sqlite":
        copy = tmp_path / "upgraded.db"
        shutil.copyfile(source, copy)
        with sqlite3.connect(copy) as conn:
            conn.execute(REWIND, (str(rewound_offset(kind)), CLOCK_OFFSET))
        conn.close()
        yield kind, ["--db", str(copy)]
        return
    admin = postgres.admin_dsn()
    psql = shutil.which("psql")
    if psql is None:
        pytest.fail("psql is not installed: it restores the fixture's PostgreSQL dump")
    name = f"stepstone_upgrade_{uuid.uuid4().hex[:12]}"
    execute(admin, f"CREATE DATABASE {name}")
    try:
        dsn = postgres.with_dbname(admin, name)
        restore = [psql, "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "--dbname", dsn, "--file", str(source)]
        restored = subprocess.run(restore, capture_output=True, text=True, timeout=120)
        assert restored.returncode == 0, f"psql could not restore {source.name}:\n{restored.stderr}"
        execute(dsn, REWIND.replace("?", "%s"), (str(rewound_offset(kind)), CLOCK_OFFSET))
        yield kind, ["--postgres-uri", dsn]
    finally:
        execute(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def rewound_offset(kind: str) -> int:
    """The dev clock offset that puts the engine's clock back to when the fixture was written.

    The fixture's timers are absolute times on the old engine's clock (real time plus its offset). Stored
    as is, they would age with the calendar: the year-long timeouts the test must not reach would come due
    a year after the fixture was made. Moving the stored offset back by the time since then makes the
    upgraded engine start where the old one stopped, whatever the date.
    """
    made_at = datetime.fromisoformat(MANIFEST["made_at"]).timestamp() * 1000
    return int(MANIFEST["stores"][kind]["clock"]["offset_ms"] - (time.time() * 1000 - made_at))


def execute(dsn: str, statement: str, params: tuple[str, ...] = ()) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement.encode(), params or None)


def test_an_older_database_is_upgraded_and_every_run_finishes(store: tuple[str, list[str]], tmp_path: Path) -> None:
    kind, flags = store
    fixture = MANIFEST["stores"][kind]

    status = stepstone("db", "status", *flags)
    assert status.returncode == 0, status.stderr
    assert f"schema version {fixture['schema_version']}" in status.stdout, status.stdout
    upgrade = stepstone("db", "upgrade", *flags)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "(up to date)" in upgrade.stdout, upgrade.stdout
    assert "up to date" in stepstone("db", "status", *flags).stdout

    port = free_port()
    app_port = MANIFEST["app_port"]  # where the fixture's runs call it: the app is upgraded in place
    if not port_free(app_port):
        pytest.fail(f"port {app_port} is taken: the fixture's app is served there; stop what uses it")
    app_url = f"http://127.0.0.1:{app_port}/api/inngest"
    app_command = [sys.executable, "-m", "uvicorn", MANIFEST["app"], "--port", str(app_port), "--log-level", "warning"]
    app_env = {**os.environ, "STEPSTONE_DEV": f"http://127.0.0.1:{port}", "PYTHONPATH": str(REPO)}
    app = Process(app_command, app_env, tmp_path / "app.log")
    command = [sys.executable, "-m", "stepstone", "dev", "--port", str(port), *flags, "--retention-days", "0"]
    engine = Process([*command, "-u", app_url], {**os.environ, "PYTHONUNBUFFERED": "1"}, tmp_path / "engine.log")
    app.start()  # the app is up when the engine starts, as in an upgrade in place
    try:
        with httpx.Client(timeout=30) as client:
            Engine(client, app.log).await_(lambda: client.get(app_url).status_code == 200, "the app listening")
        engine.start()
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                run_stages(Engine(client, engine.log), fixture, app_url)
        finally:
            engine.stop()
    finally:
        app.stop()
    text = engine.log.read_text(errors="replace")
    assert engine.process is not None and engine.process.returncode == 0, text[-3000:]
    assert "Traceback" not in text + app.log.read_text(errors="replace"), text[-3000:]


class Engine:
    def __init__(self, client: httpx.Client, log: Path) -> None:
        self.client, self.log = client, log

    def get(self, path: str) -> Any:
        answer = self.client.get(path)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = self.client.post(path, json=body)
        assert answer.status_code == 200, f"POST {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def now_ms(self) -> int:
        return millis(self.get("/dev")["now"])

    def runs(self, function_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/v1/runs?function_id={function_id}&limit=100")["data"])

    def await_(self, check: Any, what: str) -> Any:
        """Poll `check` until it answers something true, a bounded number of times."""
        for _ in range(POLLS):
            try:
                found = check()
            except httpx.TransportError:  # still starting
                found = None
            if found:
                return found
            time.sleep(0.05)
        lines = [line for line in self.log.read_text(errors="replace").splitlines() if "stepstone.access" not in line]
        pytest.fail(
            f"{what}: not after {POLLS} tries\n--- engine log, without access lines ---\n" + "\n".join(lines[-60:])
        )


def run_stages(engine: Engine, fixture: dict[str, Any], app_url: str) -> None:
    engine.await_(lambda: engine.client.get("/health").status_code == 200, "the upgraded engine ready")
    engine.post("/v1/apps", {"url": app_url})  # answers once the app synced
    clock = fixture["clock"]
    made_at = datetime.fromisoformat(MANIFEST["made_at"]).timestamp() * 1000
    now = engine.now_ms()
    # The stored offset, rewound by `rewound_offset`, is what the upgraded engine's clock runs on.
    assert abs(now - made_at - clock["offset_ms"]) < 600_000, "the dev clock's offset stored in the database is kept"
    assert now + RELATIVE_ADVANCE_MS < clock["fresh_until_ms"], "the stages must not reach the year-long timeouts"
    for index, stage in enumerate(MANIFEST["stages"]):
        for event in stage.get("send", []):
            engine.post("/e/dev", event)
        if "advance_by" in stage:
            engine.post("/dev/clock/advance", {"duration": stage["advance_by"]})
        if "advance_to" in stage and (ahead := clock[stage["advance_to"]] - engine.now_ms()) > 0:
            engine.post("/dev/clock/advance", {"seconds": ahead / 1000})

        def ended(stage: dict[str, Any] = stage) -> bool:
            return all(
                sum(run["status"] in ENDED for run in engine.runs(function_id)) >= count
                for function_id, count in stage["ended"].items()
            )

        engine.await_(ended, f"stage {index} ({stage}): runs ended")

    for function_id, expected in MANIFEST["functions"].items():
        found = engine.runs(function_id)
        assert sorted(map(canonical, found)) == sorted(map(canonical, expected)), function_id
        kept = {run["run_id"] for run in fixture["runs"] if run["function_id"] == function_id}
        assert kept <= {run["run_id"] for run in found}, f"{function_id}: the fixture's runs are still there"
    for run in fixture["runs"]:  # each one, by its id: ended as one of its function's expected runs
        detail = engine.get(f"/v1/runs/{run['run_id']}")["data"]
        assert canonical(detail) in map(canonical, MANIFEST["functions"][run["function_id"]]), (run, detail)
    for event in fixture["held"]:
        assert engine.get(f"/v1/events/{event['internal_id']}/runs")["waiting"] == [], event


def canonical(run: dict[str, Any]) -> str:
    return json.dumps({"status": run["status"], "output": run["output"]}, sort_keys=True)


def millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
