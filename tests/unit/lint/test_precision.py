"""Precision: the project's own examples, compatibility apps and docs code lint clean with every rule on, and
each ```python wrong block of the docs (a mistake shown to readers) is flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepstone.lint import RULES, lint_paths, lint_source
from stepstone.lint.config import Config
from tests.docs.blocks import Block, all_blocks, wrong_examples

REPO = Path(__file__).resolve().parents[3]
EVERY_RULE = Config(select=frozenset(RULES))


def test_examples_and_compat_apps_are_clean() -> None:
    report = lint_paths([REPO / "examples", REPO / "tests" / "compat" / "py_app.py"], EVERY_RULE)
    assert report.files > 1
    assert report.errors == []
    assert [str(finding) for finding in report.findings] == []


def python_blocks() -> list[Block]:
    return [block for block in all_blocks() if block.language == "python" and "wrong" not in block.tags]


@pytest.mark.parametrize("block", python_blocks(), ids=lambda block: block.where)
def test_docs_python_blocks_are_clean(block: Block) -> None:
    assert [str(finding) for finding in lint_source(block.text, block.where, RULES)] == []


@pytest.mark.parametrize("block", wrong_examples(), ids=lambda block: block.where)
def test_docs_wrong_blocks_are_flagged(block: Block) -> None:
    assert lint_source(block.text, block.where, RULES) != []
