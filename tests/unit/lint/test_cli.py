"""`stepstone lint` on files: output formats, exit statuses, suppressions, configuration, `--explain`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stepstone.cli.main import main
from stepstone.lint import RULES
from tests.unit.lint.helpers import PRELUDE, in_function

BAD = PRELUDE + in_function("now = time.time()\nprint(now)\nawait ctx.step.run('a', lambda: 1)\n")
CLEAN = PRELUDE + in_function("await ctx.step.run('a', lambda: 1)\n")


def run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["lint", *args], catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def test_text_lines_and_exit_statuses(project: Path) -> None:
    found = run(project, "bad.py", "clean.py")
    assert found.exit_code == 1
    lines = found.output.splitlines()
    line = BAD.splitlines().index("    now = time.time()") + 1
    assert lines[0].startswith(f"bad.py:{line}:11: STP001 `time.time()` reads the clock outside a step. Read")
    assert lines[1].startswith(f"bad.py:{line + 1}:5: STP023")
    assert lines[-1] == "2 findings in 2 files"
    assert run(project, "clean.py").exit_code == 0


def test_a_folder_is_walked_and_a_syntax_error_is_reported_while_the_others_are_checked(project: Path) -> None:
    (project / "broken.py").write_text("def (:\n")
    (project / ".venv").mkdir()
    (project / ".venv" / "skipped.py").write_text(BAD)
    result = run(project, ".")
    assert result.exit_code == 2
    assert "broken.py:1:5: error: SyntaxError: invalid syntax" in result.output
    assert "bad.py" in result.output and "skipped.py" not in result.output
    assert "2 findings in 3 files, 1 file not checked" in result.output


def test_usage_errors_exit_2(project: Path) -> None:
    assert run(project, "missing.py").exit_code == 2
    assert run(project, "--select", "STP999", "bad.py").exit_code == 2
    assert run(project, "--explain", "STP999").exit_code == 2
    assert run(project, "--format", "xml", "bad.py").exit_code == 2


def test_json_sarif_and_github(project: Path) -> None:
    report = json.loads(run(project, "--format", "json", "bad.py").output)
    assert [f["code"] for f in report["findings"]] == ["STP001", "STP023"]
    assert report["findings"][0]["name"] == "clock-outside-step" and report["errors"] == []
    sarif = json.loads(run(project, "--format", "sarif", "bad.py").output)
    (sarif_run,) = sarif["runs"]
    assert sarif["version"] == "2.1.0"
    assert [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]] == ["STP001", "STP023"]
    first = sarif_run["results"][0]
    assert first["ruleId"] == "STP001"
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad.py"
    github = run(project, "--format", "github", "bad.py").output.splitlines()
    assert github[0].startswith("::warning file=bad.py,line=") and ",title=STP001 clock-outside-step::" in github[0]


def test_select_and_ignore(project: Path) -> None:
    assert "STP023" not in run(project, "--ignore", "STP023", "bad.py").output
    only = run(project, "--select", "STP023", "bad.py")
    assert "STP001" not in only.output and "STP023" in only.output
    assert run(project, "--ignore", "ALL", "bad.py").exit_code == 0


def test_heuristic_rules_are_off_by_default() -> None:
    assert {code for code, rule in RULES.items() if not rule.default} == {"STP017", "STP022", "STP024"}


def test_suppression_comments(project: Path) -> None:
    source = BAD.replace("now = time.time()", "now = time.time()  # stepstone: ignore[STP001]")
    (project / "bad.py").write_text(source.replace("print(now)", "print(now)  # stepstone: ignore"))
    assert run(project, "bad.py").exit_code == 0
    (project / "bad.py").write_text(BAD.replace("now = time.time()", "now = time.time()  # stepstone: ignore[STP002]"))
    assert "STP001" in run(project, "bad.py").output


def test_pyproject_configuration(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.stepstone.lint]\nignore = ["STP023"]\n')
    assert "STP023" not in run(project, "bad.py").output
    (project / "pyproject.toml").write_text('[tool.stepstone.lint]\nselect = ["STP023"]\n')
    assert "STP001" not in run(project, "bad.py").output
    (project / "pyproject.toml").write_text('[tool.stepstone.lint.per-file-ignores]\n"bad.py" = ["ALL"]\n')
    assert run(project, "bad.py").exit_code == 0
    (project / "pyproject.toml").write_text('[tool.stepstone.lint]\nselect = ["STP023"]\n')
    assert "STP001" in run(project, "--select", "STP001", "bad.py").output  # the command line wins
    (project / "pyproject.toml").write_text('[tool.stepstone.lint]\nselct = ["STP023"]\n')
    assert run(project, "bad.py").exit_code == 2


def test_explain(project: Path) -> None:
    result = run(project, "--explain", "stp001")
    assert result.exit_code == 0
    rule = RULES["STP001"]
    assert result.output.startswith("STP001 clock-outside-step (on by default)")
    assert rule.reason in result.output and "Wrong:" in result.output and "Right:" in result.output


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_against_a_revision_reports_renamed_removed_and_reordered_step_ids(project: Path) -> None:
    before = (
        "await ctx.step.run('a', lambda: 1)\nawait ctx.step.run('b', lambda: 2)\nawait ctx.step.run('c', lambda: 3)\n"
    )
    (project / "app.py").write_text(PRELUDE + in_function(before))
    git(project, "init", "-q")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "empty")
    git(project, "add", "app.py")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "app")
    assert run(project, "--against", "HEAD", "app.py").exit_code == 0
    added = before + "await ctx.step.run('d', lambda: 4)\n"
    (project / "app.py").write_text(PRELUDE + in_function(added))
    assert run(project, "--against", "HEAD", "app.py").exit_code == 0  # a new step is fine
    after = (
        "await ctx.step.run('b', lambda: 2)\nawait ctx.step.run('a', lambda: 1)\nawait ctx.step.run('z', lambda: 3)\n"
    )
    (project / "app.py").write_text(PRELUDE + in_function(after))
    result = run(project, "--against", "HEAD", "app.py")
    assert result.exit_code == 1
    assert "STP028 step ids of 'f' changed since HEAD: 'c' renamed or removed; reordered (a, b → b, a)" in result.output
    assert "STP028" not in run(project, "app.py").output  # only with --against
    assert run(project, "--against", "HEAD~1", "app.py").exit_code == 0  # the file did not exist then
    assert run(project, "--against", "no-such-ref", "app.py").exit_code == 2
