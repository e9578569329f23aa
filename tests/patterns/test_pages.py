"""Each page of docs/patterns/ shows its example module exactly, and every module has its page.

A page's code block is claimed by `test_pages_show_their_modules` (`<!-- run-by: ... -->`): the docs
runner leaves it to this test, which compares it with examples/patterns/<page>.py character for
character, while tests/patterns/test_<page>.py runs the module on an engine.

After editing a module, `python -m tests.patterns.test_pages` copies it into its page's block.
"""

from __future__ import annotations

from pathlib import Path

from tests.docs import blocks
from tests.docs.blocks import REPO

NODE = "tests/patterns/test_pages.py::test_pages_show_their_modules"
PAGES = REPO / "docs" / "patterns"
MODULES = REPO / "examples" / "patterns"
NOT_PATTERNS = {"__init__", "services"}
FIX = "python -m tests.patterns.test_pages copies the modules into the pages"


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
            problems.append(f"{block.where}: differs from examples/patterns/{name}.py: {FIX}")
    problems += [f"{block.where}: claims a module that does not exist" for block in claimed.values()]
    assert not problems, "\n".join(problems)


def test_every_pattern_has_a_test_and_is_listed_in_the_index() -> None:
    index = (PAGES / "index.md").read_text(encoding="utf-8")
    for name in pattern_names():
        assert (REPO / "tests" / "patterns" / f"test_{name}.py").is_file(), f"{name} has no test"
        assert f"({name.replace('_', '-')}.md)" in index, f"docs/patterns/index.md does not link {name}"
    assert len(pattern_names()) >= 12


def copy_modules_into_pages() -> None:
    """Replace each claimed block's text with its module's (the block's fences and the page's prose stay)."""
    for block in blocks.claimed_by(NODE):
        module = MODULES / f"{block.path.stem.replace('-', '_')}.py"
        page = REPO / block.path
        lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
        end = block.line + block.text.count("\n")  # the closing fence's index (0-based)
        lines[block.line : end] = [module.read_text(encoding="utf-8")]
        page.write_text("".join(lines), encoding="utf-8")


if __name__ == "__main__":
    copy_modules_into_pages()
