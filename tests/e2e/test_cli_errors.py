"""The CLI's errors as users meet them: one line saying what to do, exit code 1, never a traceback.

`stepstone db status` reports on a database without creating or changing one.
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

# The CLI with psycopg missing, as without the `postgres` extra.
WITHOUT_PSYCOPG = "import sys; sys.modules['psycopg'] = None; from stepstone.cli.main import main; main()"
KEY = "a" * 64


def stepstone(cwd: Path, *args: str, python: tuple[str, ...] = ("-m", "stepstone")) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *python, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def files(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


@pytest.mark.parametrize(
    "args",
    [
        ("start", "--signing-key", KEY, "--event-key", "k"),
        ("dev",),
        ("db", "status"),
        ("db", "upgrade"),
    ],
)
def test_postgres_without_the_extra_says_how_to_install_it(tmp_path: Path, args: tuple[str, ...]) -> None:
    uri = "postgresql://u@127.0.0.1:1/db"
    result = stepstone(tmp_path, *args, "--postgres-uri", uri, python=("-c", WITHOUT_PSYCOPG))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: PostgreSQL support is not installed: pip install 'stepstone[postgres]'"
    ]


def test_db_status_never_creates_a_database(tmp_path: Path) -> None:
    result = stepstone(tmp_path, "db", "status")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: no database at .stepstone/stepstone.db: an engine creates it when it starts "
        "(or run `stepstone db upgrade --db .stepstone/stepstone.db`)"
    )
    assert files(tmp_path) == []


def test_db_status_names_the_databases_that_exist(tmp_path: Path) -> None:
    assert stepstone(tmp_path, "db", "upgrade", "--db", ".stepstone/dev.db").returncode == 0
    before = files(tmp_path)
    result = stepstone(tmp_path, "db", "status")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: no database at .stepstone/stepstone.db; found .stepstone/dev.db: use --db .stepstone/dev.db"
    )
    (tmp_path / ".stepstone" / "notes.db").write_text("not a database")  # not listed
    assert stepstone(tmp_path, "db", "upgrade", "--db", ".stepstone/other.db").returncode == 0
    result = stepstone(tmp_path, "db", "status")
    assert "found .stepstone/dev.db, .stepstone/other.db: pass one with --db" in result.stderr
    assert "notes.db" not in result.stderr
    assert set(before) <= set(files(tmp_path))
    assert not (tmp_path / ".stepstone" / "stepstone.db").exists()


def test_db_status_reads_a_database_without_leaving_files_behind(tmp_path: Path) -> None:
    upgraded = stepstone(tmp_path, "db", "upgrade", "--db", "engine.db")
    assert upgraded.returncode == 0
    assert "created it, applied [1" in upgraded.stdout
    before = files(tmp_path)
    result = stepstone(tmp_path, "db", "status", "--db", "engine.db")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SQLite engine.db: schema version ") and "(up to date)" in result.stdout
    assert files(tmp_path) == before  # no -wal, -shm or lock file
    again = stepstone(tmp_path, "db", "upgrade", "--db", "engine.db")
    assert "applied nothing" in again.stdout and "created" not in again.stdout


def test_db_status_reads_the_database_of_a_running_engine(tmp_path: Path) -> None:
    port = processes.free_port()
    engine = processes.engine(tmp_path, port)
    engine.start()
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200, what="health")
        result = stepstone(tmp_path, "db", "status", "--db", "engine.db")
        assert result.returncode == 0, result.stderr
        assert "(up to date)" in result.stdout
    finally:
        assert engine.process is not None
        engine.process.send_signal(signal.SIGTERM)
        assert engine.process.wait(timeout=30) == 0


def test_db_status_of_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_text("hello")
    result = stepstone(tmp_path, "db", "status", "--db", "junk.db")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: cannot read junk.db: file is not a database"
    assert "Traceback" not in result.stderr and os.listdir(tmp_path) == ["junk.db"]
