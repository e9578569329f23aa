"""The wheel, as docs/deployment.md tells users to build it: it holds every file the engine needs and runs.

Built offline (`python -m build --wheel --no-isolation`, with `build` and `hatchling` from the test extra),
then installed with `--no-deps` into a fresh venv that borrows this venv's dependencies through a `.pth`
path (a plain path: this venv's own `.pth` files, among them the editable install of `src/`, stay unread),
so the `stepstone` that runs is the wheel's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.docs.blocks import REPO

pytestmark = pytest.mark.slow


def test_the_wheel_holds_every_file_of_the_package(tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(_build(tmp_path)).namelist())
    expected = {"stepstone/" + name.removeprefix("src/stepstone/") for name in _package_files()}
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"
    for store in ("sqlite", "postgres"):
        assert f"stepstone/server/store/{store}/queries.sql" in names
        assert f"stepstone/server/store/{store}/migrations/0001_initial.sql" in names
    assert "stepstone/py.typed" in names
    for asset in ("index.html", "app.js", "api.js", "dom.js", "json.js", "time.js", "style.css", "pages/run.js"):
        assert f"stepstone/server/api/dashboard/static/{asset}" in names, asset
    assert {name.split("/")[0] for name in names} == {"stepstone", "stepstone-0.1.0.dist-info"}


def test_the_installed_wheel_migrates_a_database_and_runs(tmp_path: Path) -> None:
    wheel = _build(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python, stepstone = venv / "bin" / "python", venv / "bin" / "stepstone"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
    subprocess.run([*pip, str(wheel)], check=True)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    assert _run(python, "-c", "import stepstone; print(stepstone.__file__)").startswith(str(site))
    assert _run(stepstone, "--version").strip().endswith("0.1.0")
    database = tmp_path / "stepstone.db"
    upgraded = _run(stepstone, "db", "upgrade", "--db", str(database))
    assert "applied" in upgraded and "up to date" in upgraded, upgraded
    assert "up to date" in _run(stepstone, "db", "status", "--db", str(database))


def _build(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)]
    built = subprocess.run(command, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("stepstone-*.whl")
    return wheel


def _package_files() -> list[str]:
    """src/stepstone as a clone has it: tracked files and new ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "src/stepstone"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def _run(program: Path, *args: str) -> str:
    """Run `program` outside the repository, with nothing of it on the path; its stdout."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(program), *args], cwd=program.parents[2], env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{program.name} {' '.join(args)}: exit {done.returncode}\n{done.stderr}"
    return done.stdout
