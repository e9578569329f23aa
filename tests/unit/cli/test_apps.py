"""What `stepstone dev --reload` watches, and how an app's exit is told."""

from __future__ import annotations

from pathlib import Path

import pytest
import watchfiles

from stepstone.cli import apps


def test_an_apps_package_is_found_without_importing_it(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("raise RuntimeError('imported')\n")
    (tmp_path / "single.py").write_text("raise RuntimeError('imported')\n")
    assert apps.module_directory("pkg.app", [str(tmp_path)]) == (tmp_path / "pkg").resolve()
    assert apps.module_directory("single", [str(tmp_path)]) == tmp_path.resolve()
    assert apps.module_directory("nosuch.module", [str(tmp_path)]) is None


def test_the_current_directory_is_watched_and_an_apps_package_elsewhere_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    here = (tmp_path / "here").resolve()
    here.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    assert apps.watch_paths(["pkg.app:app"], here) == [here, (tmp_path / "pkg").resolve()]
    assert apps.watch_paths(["pkg.app:app"], tmp_path.resolve()) == [tmp_path.resolve()]  # already inside
    assert apps.watch_paths(["nosuch:app", "uvicorn:main"], here) == [here]  # installed packages are not


@pytest.mark.parametrize(
    ("path", "watched"),
    [
        ("app.py", True),
        ("pkg/models.py", True),
        ("notes.txt", False),
        (".venv/lib/site.py", False),
        (".stepstone/dev.py", False),
        ("pkg/__pycache__/models.cpython-311.pyc", False),
    ],
)
def test_only_source_files_outside_the_environment_trigger_a_reload(tmp_path: Path, path: str, watched: bool) -> None:
    assert apps.SourceFilter()(watchfiles.Change.modified, str(tmp_path / path)) is watched


def test_an_exit_is_told_by_its_code_or_its_signal() -> None:
    assert apps.describe_exit("examples.app:app", 1) == "the app examples.app:app exited with code 1"
    assert apps.describe_exit("examples.app:app", -9) == "the app examples.app:app was stopped by SIGKILL"
