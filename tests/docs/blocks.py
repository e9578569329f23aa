"""The fenced blocks of README.md and docs/**/*.md, read with the project's one fence convention.

The words after the opening fence say what a block is (README.md's "Development" section has the reader's
version of this list):

* ```python and ```bash: run as shown by tests/docs/test_docs.py, unless a test claims the block with an
  HTML comment on the line before it, `<!-- run-by: tests/e2e/test_x.py::test_name -->`: that test runs it
  exactly (`claimed_by`), and the runner checks the test exists.
* ```python no-run and ```bash no-run: fragments shown for reading. Python ones are compiled, bash ones
  checked with `bash -n`, and their `stepstone ...` command lines parsed by the real CLI (commands.py).
* ```python wrong: an example of a mistake. Compiled only; `wrong_examples()` lists them for the linter's tests.
* `file=NAME` after the language (```python file=shop.py): the block is also a file the reader saves; the
  runner writes it to NAME in the page's scratch directory before the page's blocks run.
* Any other language (text, json, ini, sql, console output): shown, never run.

A page holding the HTML comment `<!-- docs: engine -->` runs its blocks next to a fresh
`stepstone dev --app examples.app:app` on 127.0.0.1:8288.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[2]
RUNNABLE = ("python", "bash")
TAGS = frozenset({"no-run", "wrong"})
ENGINE_MARKER = "<!-- docs: engine -->"
RUN_BY = re.compile(r"<!--\s*run-by:\s*(\S+)\s*-->")
# Languages a reader might expect to run, which the runner would silently skip.
MISSPELT = {"py": "python", "python3": "python", "pycon": "python", "sh": "bash", "shell": "bash", "zsh": "bash"}


@dataclass(frozen=True)
class Block:
    """One fenced block.

    Attributes:
        path: The page, relative to the repository.
        line: The opening fence's line (1-based); the block's text starts on the next one.
        language: The first word of the info string ("" for a bare fence).
        words: The rest of the info string: tags (`no-run`, `wrong`) and `file=NAME`.
        text: The block's content, dedented as Markdown renders it.
        run_by: The node id of the test claiming the block (`<!-- run-by: ... -->`), or None.
    """

    path: Path
    line: int
    language: str
    words: tuple[str, ...]
    text: str
    run_by: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(word for word in self.words if "=" not in word)

    @property
    def file(self) -> str | None:
        """The NAME of `file=NAME`, or None."""
        return next((word.split("=", 1)[1] for word in self.words if word.startswith("file=")), None)

    @property
    def runs(self) -> bool:
        """Run by the docs runner: a python or bash block, neither tagged nor claimed by a test."""
        return self.language in RUNNABLE and not self.tags and self.run_by is None

    def problems(self) -> list[str]:
        """How the info string breaks the fence convention (nothing when it follows it)."""
        if self.language in MISSPELT:
            return [f"```{self.language} is never run: write ```{MISSPELT[self.language]} (or ```text for output)"]
        found = []
        unknown = [word for word in self.words if word not in TAGS and not word.startswith("file=")]
        if unknown:
            found.append(f"unknown words after ```{self.language}: {' '.join(unknown)}")
        if self.tags and self.language not in RUNNABLE:
            found.append(f"no-run and wrong mark python or bash blocks only, not ```{self.language}")
        if len(self.tags) > 1:
            found.append("a block is either no-run or wrong")
        if "wrong" in self.tags and self.language != "python":
            found.append("wrong marks python blocks only")
        if self.run_by and self.tags:
            found.append("a block claimed by a test (run-by) runs: it cannot be no-run or wrong")
        if self.file and (self.tags or self.run_by):
            found.append("a file= block is written and used by the page: it cannot be tagged or claimed")
        if self.file is not None and not re.fullmatch(r"[\w.-]+(/[\w.-]+)*", self.file):
            found.append(f"file={self.file}: a relative path of plain names")
        return found


@dataclass(frozen=True)
class Page:
    """A Markdown page and its blocks, in order.

    Attributes:
        path: The page, relative to the repository.
        blocks: Its fenced blocks.
        engine: The page asks for a dev engine with the example app (`<!-- docs: engine -->`).
    """

    path: Path
    blocks: tuple[Block, ...]
    engine: bool

    def __str__(self) -> str:
        return str(self.path)

    @property
    def runnable(self) -> list[Block]:
        return [block for block in self.blocks if block.runs]


def doc_paths() -> list[Path]:
    """README.md and every docs/**/*.md, relative to the repository."""
    return [Path("README.md"), *sorted(path.relative_to(REPO) for path in (REPO / "docs").rglob("*.md"))]


def read_page(path: Path) -> Page:
    """Parse one page (`path` relative to the repository) as CommonMark renders it."""
    tokens = MarkdownIt("commonmark").parse((REPO / path).read_text(encoding="utf-8"))
    blocks = []
    engine = False
    for index, token in enumerate(tokens):
        if token.type == "html_block" and ENGINE_MARKER in [line.strip() for line in token.content.splitlines()]:
            engine = True
        if token.type != "fence" or token.map is None:
            continue
        language, *words = token.info.split() or [""]
        previous = tokens[index - 1] if index else None
        comment = previous.content.strip().splitlines()[-1] if previous and previous.type == "html_block" else ""
        claim = RUN_BY.fullmatch(comment.strip())
        blocks.append(
            Block(path, token.map[0] + 1, language, tuple(words), token.content, claim.group(1) if claim else None)
        )
    return Page(path, tuple(blocks), engine)


@functools.cache
def pages() -> tuple[Page, ...]:
    return tuple(read_page(path) for path in doc_paths())


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in page.blocks]


def wrong_examples() -> list[Block]:
    """Every ```python wrong block: each is a mistake the linter must flag."""
    return [block for block in all_blocks() if "wrong" in block.tags]


def claimed_by(node_id: str) -> list[Block]:
    """The blocks a test claims (`<!-- run-by: node_id -->`), in page order."""
    return [block for block in all_blocks() if block.run_by == node_id]
