"""`stepstone lint` on ~10,000 lines of the project's own code, timed next to `ruff check` on the same files.

    .venv/bin/python -m bench.lint                 # bench/results/lint.md
    .venv/bin/python -m bench.lint --rounds 3 --out /tmp/lint.md

The files: examples/, tests/integration/, tests/unit/sdk/, tests/compat/*.py and src/stepstone/sdk/ (about
10,000 lines, with some 150 durable functions). Three figures, each the median of `--rounds` rounds run in
turn after a warm-up round: the linter in-process (`lint_paths`, parse to findings, every rule selected),
the `stepstone lint --select ALL` command (adds Python's start and the CLI's imports; `stepstone lint
--explain STP001` times the start alone, and `stepstone --version` the start of the other commands, which load
the engine), and `ruff check
--no-cache --isolated` on the same files (a Rust linter running its default rules: a yardstick, not a
like-for-like race). Target (issue 14): 10,000 lines well under a second.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from stepstone.lint import RULES, Config, lint_paths
from stepstone.lint.runner import python_files

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ["examples", "tests/integration", "tests/unit/sdk", "src/stepstone/sdk"]
STEPSTONE = REPO / ".venv" / "bin" / "stepstone"


def files() -> list[Path]:
    found = list(python_files([REPO / folder for folder in FOLDERS]))
    return found + sorted((REPO / "tests" / "compat").glob("*.py"))


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def command(*args: str) -> Callable[[], object]:
    return lambda: subprocess.run(args, cwd=REPO, capture_output=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "lint.md")
    options = parser.parse_args()
    paths = files()
    lines = sum(len(path.read_text(encoding="utf-8").splitlines()) for path in paths)
    every = Config(select=frozenset(RULES))
    report = lint_paths(paths, every)
    functions = sum(1 for path in paths for line in path.read_text().splitlines() if ".create_function(" in line)
    ruff = shutil.which("ruff", path=str(REPO / ".venv" / "bin")) or "ruff"
    names = [str(path.relative_to(REPO)) for path in paths]
    probes: dict[str, Callable[[], object]] = {
        "stepstone lint, in-process (lint_paths)": lambda: lint_paths(paths, every),
        "stepstone lint --select ALL (command)": command(str(STEPSTONE), "lint", "--select", "ALL", *names),
        "stepstone lint --explain STP001 (the lint command's start alone)": command(
            str(STEPSTONE), "lint", "--explain", "STP001"
        ),
        "stepstone --version (the other commands' start: they load the engine)": command(str(STEPSTONE), "--version"),
        "ruff check --no-cache --isolated (command)": command(ruff, "check", "--no-cache", "--isolated", *names),
    }
    samples: dict[str, list[float]] = {name: [] for name in probes}
    for round_ in range(options.rounds + 1):
        for name, probe in probes.items():
            elapsed = timed(probe)
            if round_:  # the first round warms caches and is not counted
                samples[name].append(elapsed)
    version = subprocess.run([ruff, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    rows = [
        f"| {name} | {statistics.median(values) * 1000:.0f} ms | {min(values) * 1000:.0f} ms | "
        f"{max(values) * 1000:.0f} ms | {'—' if 'start' in name else f'{lines / statistics.median(values):,.0f}'} |"
        for name, values in samples.items()
    ]
    text = "\n".join(
        [
            "# `stepstone lint` speed",
            "",
            f"Written by `python -m bench.lint` at revision {revision.stdout.strip()} on {platform.machine()}, "
            f"Python {platform.python_version()}, {version}; {options.rounds} rounds after a warm-up round.",
            "",
            f"Input: {len(paths)} files, {lines:,} lines ({', '.join(FOLDERS)}, tests/compat/*.py), "
            f"{functions} `create_function` decorators; every rule selected, {len(report.findings)} findings.",
            "",
            "| what | median | min | max | lines/s (median) |",
            "| --- | --- | --- | --- | --- |",
            *rows,
            "",
            "The command figures include starting Python (or ruff) and reading the files; `stepstone lint` starts",
            "without loading the engine (`stepstone.cli.entry`), which the other commands need. ruff runs its",
            "default rules, which are not the same checks, so the ratio is a yardstick, not a race.",
            "",
        ]
    )
    options.out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
