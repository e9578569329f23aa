"""docs/lint.md cannot drift: its rule table is the rules' metadata, and it names every option of the command."""

from __future__ import annotations

from pathlib import Path

from stepstone.cli.lint import lint
from stepstone.lint.report import rule_table

PAGE = Path(__file__).resolve().parents[3] / "docs" / "lint.md"


def test_the_rule_table_is_generated_from_the_metadata() -> None:
    assert rule_table() in PAGE.read_text(), "paste `python -c 'from stepstone.lint.report import rule_table; ...'`"


def test_every_option_is_documented() -> None:
    text = PAGE.read_text()
    options = [name for param in lint.params for name in param.opts if name.startswith("--")]
    assert options and [option for option in options if f"`{option}" not in text] == []
