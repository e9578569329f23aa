"""Lint sources, files and folders: parse, find the durable functions, run the enabled checks, filter."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

from stepstone.lint import checks, history, structure
from stepstone.lint.config import Config, suppressed
from stepstone.lint.findings import Finding, LintError, Report
from stepstone.lint.rules import RULES
from stepstone.lint.scope import Module

SKIPPED_FOLDERS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist", ".tox"})


def lint_source(source: str, path: str = "<string>", enabled: Iterable[str] | None = None) -> list[Finding]:
    """The findings of one file's text (SyntaxError propagates); `enabled` defaults to the default rules."""
    codes = frozenset(enabled) if enabled is not None else Config().enabled()
    module = Module(ast.parse(source, path))
    lines = source.splitlines()
    seen: dict[tuple[int, str], Finding] = {}
    hits = [
        hit for fn in module.functions for check in [*checks.CHECKS, *structure.CHECKS] for hit in check(module, fn)
    ]
    for node, code, message in [*hits, *checks.module_sends(module)]:
        line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
        if code in codes and (line, code) not in seen and not suppressed(lines, line, code):
            seen[(line, code)] = Finding(path, line, col, code, message, RULES[code].fix)
    return sorted(seen.values())


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The given files, and the `*.py` files under the given folders (skipping .venv, .git, build, ...)."""
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*.py")):
                parts = found.relative_to(path).parts[:-1]
                if not any(part in SKIPPED_FOLDERS or part.startswith(".") for part in parts):
                    yield found
        else:
            yield path


def lint_paths(paths: Iterable[Path], config: Config | None = None, against: str | None = None) -> Report:
    """Lint every file under `paths`: a file that cannot be read or parsed is an error, the others still run.

    With `against` (a git revision), STP028 also compares each function's step ids with that revision's.
    """
    config = config or Config()
    report = Report()
    for path in python_files(paths):
        report.files += 1
        try:
            source = path.read_text(encoding="utf-8")
            enabled = config.enabled(path)
            report.findings.extend(lint_source(source, str(path), enabled))
            if against and "STP028" in enabled and (old := history.old_source(against, path)) is not None:
                lines = source.splitlines()
                changed = history.compare(old, Module(ast.parse(source, str(path))), str(path), against)
                report.findings.extend(f for f in changed if not suppressed(lines, f.line, f.code))
        except SyntaxError as error:
            report.errors.append(
                LintError(str(path), error.lineno or 1, (error.offset or 0) or 1, f"SyntaxError: {error.msg}")
            )
        except (OSError, UnicodeDecodeError, ValueError) as error:
            report.errors.append(LintError(str(path), 1, 1, f"cannot read: {error}"))
    report.findings.sort()
    report.errors.sort()
    return report
