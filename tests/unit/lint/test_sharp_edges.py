"""docs/sharp-edges.md is the rules' own metadata (as `--explain` prints it), current; every run-time finding's wrong
example is one a static rule flags before deploy, and its right example is clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from stepstone.cli.main import main
from stepstone.lint import RULES, lint_source
from stepstone.lint.edges import render
from stepstone.lint.runtime import FINDINGS

PAGE = Path(__file__).resolve().parents[3] / "docs" / "sharp-edges.md"


def test_the_page_is_made_from_the_metadata() -> None:
    assert PAGE.read_text() == render(), "remake it: python -m stepstone.lint.edges > docs/sharp-edges.md"
    for code in [*RULES, *FINDINGS]:
        assert f"## {code} " in PAGE.read_text()


@pytest.mark.parametrize("code", sorted(FINDINGS))
def test_a_run_time_finding_has_a_cause_lint_flags(code: str) -> None:
    finding = FINDINGS[code]
    assert lint_source(finding.wrong, "wrong.py", set(RULES)) != []
    assert lint_source(finding.right, "right.py", set(RULES)) == []


def test_explain_prints_run_time_findings_too() -> None:
    result = CliRunner().invoke(main, ["lint", "--explain", "stp103"])
    assert result.exit_code == 0, result.output
    assert "STP103 step-order-changed (found at run time by the engine, not by lint)" in result.output
    assert FINDINGS["STP103"].fix in result.output
    unknown = CliRunner().invoke(main, ["lint", "--explain", "STP199"])
    assert unknown.exit_code == 2 and "STP104" in unknown.output
