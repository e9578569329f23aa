"""Each page of docs/patterns/ shows its example module exactly, and every module has its page.

A page's code block is claimed by `test_pages_show_their_modules` (`<!-- run-by: ... -->`): the docs
runner leaves it to this test, which compares it with examples/patterns/<page>.py character for
character, while tests/patterns/test_<page>.py runs the module on an engine.
"""

from __future__ import annotations

from pathlib import Path

from tests.docs import blocks
from tests.docs.blocks import REPO

NODE = "tests/patterns/test_pages.py::test_pages_show_their_modules"
PAGES = REPO / "docs" / "patterns"
MODULES = REPO / "examples" / "patterns"
NOT_PATTERNS = {"__init__", "services"}


def pattern_names() -> list[str]:
    return sorted(path.stem for path in MODULES.glob("*.py") if path.stem not in NOT_PATTERNS)


def test_pages_show_their_modules() -> None:
    claimed = {block.path: block for block in blocks.claimed_by(NODE)}
    problems = []
    for name in pattern_names():
        page = Path("docs/patterns") / f"{name.replace('_', '-')}.md"
        module = MODULES / f"{name}.py"
        block = claimed.pop(page, None)
        if block is None:
            problems.append(f"{page}: no ```python block claimed by <!-- run-by: {NODE} -->")
        elif block.text != module.read_text(encoding="utf-8"):
            problems.append(f"{block.where}: differs from examples/patterns/{name}.py (paste the module again)")
    problems += [f"{block.where}: claims a module that does not exist" for block in claimed.values()]
    assert not problems, "\n".join(problems)


def test_every_pattern_has_a_test_and_is_listed_in_the_index() -> None:
    index = (PAGES / "index.md").read_text(encoding="utf-8")
    for name in pattern_names():
        assert (REPO / "tests" / "patterns" / f"test_{name}.py").is_file(), f"{name} has no test"
        assert f"({name.replace('_', '-')}.md)" in index, f"docs/patterns/index.md does not link {name}"
    assert len(pattern_names()) >= 12
