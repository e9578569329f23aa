"""Every fenced block of README.md and docs/**/*.md runs as shown, or is marked so and checked.

The fence convention is in blocks.py (and README.md, "Development"); how blocks run is in runner.py.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import click
import pytest

from tests.docs import blocks, commands, runner
from tests.docs.blocks import REPO, Block, Page

PAGES = blocks.pages()


def _page_param(page: Page) -> object:
    slow = page.engine or any(block.language == "bash" for block in page.runnable)
    return pytest.param(page, id=str(page), marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_blocks_follow_the_fence_convention(page: Page) -> None:
    problems = [f"{block.where}: {problem}" for block in page.blocks for problem in block.problems()]
    problems += [f"{block.where}: {problem}" for block in page.blocks if block.run_by for problem in _claim(block)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_blocks_compile_and_documented_commands_parse(page: Page) -> None:
    """Python blocks compile, bash blocks pass `bash -n`; `stepstone` lines the runner skips parse."""
    problems = []
    for block in page.blocks:
        if block.language == "python":
            try:
                runner.compile_python(block)
            except SyntaxError as err:
                problems.append(f"{block.where}: does not compile: {err}")
        elif block.language == "bash":
            problems += _bash_problems(block)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", [_page_param(page) for page in PAGES if page.runnable])
async def test_page_runs_as_written(page: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner.prepare(page, tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("STEPSTONE_DEV", "1")
    modules = set(sys.modules)
    try:
        with runner.engine(tmp_path) if page.engine else nullcontext():
            await runner.run_python(page, [block for block in page.runnable if block.language == "python"])
            runner.run_bash([block for block in page.runnable if block.language == "bash"], tmp_path)
    finally:
        for name in set(sys.modules) - modules:  # modules the page wrote (file=) must not leak to other pages
            if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(tmp_path)):
                del sys.modules[name]


def test_wrong_examples_are_collected_for_the_linter() -> None:
    wrong = blocks.wrong_examples()
    assert wrong, "README.md shows at least one ```python wrong example"
    assert all(block.language == "python" and block.text.strip() for block in wrong)


def test_the_runner_reports_the_failing_block(tmp_path: Path) -> None:
    page = Page(Path("README.md"), (), engine=False)
    good = Block(page.path, 10, "bash", (), "echo fine\n")
    bad = Block(page.path, 20, "bash", (), "true\nfalse\n")
    with pytest.raises(runner.BlockFailed, match=r"README.md:20: the bash block failed \(exit 1\)"):
        runner.run_bash([good, bad], tmp_path)


async def test_python_failures_point_at_the_page_line() -> None:
    page = Page(Path("README.md"), (), engine=False)
    first = Block(page.path, 3, "python", (), "answer = 42\n")
    second = Block(page.path, 7, "python", (), "import asyncio\nawait asyncio.sleep(0)\nassert answer == 41\n")
    with pytest.raises(runner.BlockFailed, match=r"README.md:7: the python block failed") as failure:
        await runner.run_python(page, [first, second])
    assert 'README.md", line 10' in str(failure.value)


@pytest.mark.slow
async def test_an_engine_page_runs_next_to_the_synced_example_app(tmp_path: Path) -> None:
    page = Page(Path("docs/example.md"), (), engine=True)
    python = Block(
        page.path, 3, "python", (), "import httpx\n\napps = httpx.get('http://127.0.0.1:8288/v1/apps').json()\n"
    )
    bash = Block(page.path, 9, "bash", (), "curl -sf localhost:8288/v1/functions | grep -q example-process-order\n")
    runner.prepare(page, tmp_path)
    with runner.engine(tmp_path):
        await runner.run_python(page, [python, Block(page.path, 7, "python", (), "assert apps['data']\n")])
        runner.run_bash([bash], tmp_path)
    assert (tmp_path / ".stepstone" / "dev.db").exists()  # a fresh database in the scratch directory


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("stepstone dev --port 8288 --app examples.app:app", None),
        ("stepstone start --signing-key ... --event-key ... -u https://app.internal/api/inngest", None),
        ('stepstone start --signing-key "$(cat key)" --event-key "$KEY" \\\n    --db /tmp/x.db', None),
        ("stepstone start ... --postgres-uri postgresql://u:p@db:5432/s", None),
        ("stepstone db status --db .stepstone/dev.db  # a comment", None),
        ("stepstone --version && stepstone dev --help", None),
        ("stepstone dev --prot 8288", "No such option"),
        ("stepstone dev --port eighty", "not a valid integer"),
        ("stepstone launch", "No such command"),
        ("stepstone dev --sqlite-synchronous sometimes", "sometimes"),
        ("stepstone dev extra", "unexpected extra argument"),
    ],
)
def test_documented_command_lines_are_parsed_by_the_cli(line: str, problem: str | None) -> None:
    found = commands.stepstone_commands(line)
    assert found
    if problem is None:
        for args in found:
            commands.check(args)
    else:
        with pytest.raises(click.UsageError, match=problem):
            for args in found:
                commands.check(args)


def _claim(block: Block) -> list[str]:
    """Why the test named in `<!-- run-by: ... -->` cannot be the one running the block."""
    assert block.run_by is not None
    file, _, name = block.run_by.partition("::")
    path = REPO / file
    if not name or not file.startswith("tests/") or not path.is_file():
        return [f"run-by {block.run_by}: write tests/<path>.py::<test function> of an existing file"]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    return [] if name in functions else [f"run-by {block.run_by}: {file} has no test {name}"]


def _bash_problems(block: Block) -> list[str]:
    checked = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        return [f"{block.where}: bash -n: {checked.stderr.strip()}"]
    if block.runs:
        return []  # it runs for real
    problems = []
    for args in commands.stepstone_commands(block.text):
        try:
            commands.check(args)
        except click.UsageError as err:
            problems.append(f"{block.where}: `stepstone {' '.join(args)}`: {err.format_message()}")
    return problems
