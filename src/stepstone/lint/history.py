"""STP028 step-ids-changed: compare each function's step ids with a git revision (`--against GIT_REF`).

A run in flight finds its stored steps by id: an id renamed or removed since the revision the run started
on makes the step run again (or the run diverge), and reordered ids change which stored step a call meets.
This reads the old file with `git show REF:./file` and compares the literal step ids (an f-string counts by
its text) of each function, found by its `fn_id`.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from stepstone.lint.findings import Finding
from stepstone.lint.rules import RULES
from stepstone.lint.scope import Durable, Module


class RevisionError(ValueError):
    """The revision cannot be read with git."""


def check_revision(ref: str, where: Path) -> None:
    """RevisionError unless `ref` names a commit of the repository holding `where`."""
    folder = where if where.is_dir() else where.parent
    result = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RevisionError(f"--against {ref}: not a git revision here ({result.stderr.strip() or 'unknown'})")


def old_source(ref: str, path: Path) -> str | None:
    """The file's text at `ref`, or None when it did not exist there."""
    result = subprocess.run(
        ["git", "-C", str(path.parent or Path(".")), "show", f"{ref}:./{path.name}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout if result.returncode == 0 else None


def fn_id(fn: Durable) -> str:
    for decorator in fn.node.decorator_list:
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg == "fn_id" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
    return fn.node.name


def step_ids(module: Module) -> dict[str, tuple[Durable, list[str]]]:
    """Each function's id → the function and its step ids in source order (each id once)."""
    found: dict[str, tuple[Durable, list[str]]] = {}
    for fn in module.functions:
        ids: list[str] = []
        for node in sorted(fn.body, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
            if isinstance(node, ast.Call) and fn.step_call(node) and node.args:
                first = node.args[0]
                text = first.value if isinstance(first, ast.Constant) else ast.unparse(first)
                if str(text) not in ids:
                    ids.append(str(text))
        found[fn_id(fn)] = (fn, ids)
    return found


def compare(old: str, new: Module, path: str, ref: str) -> list[Finding]:
    """STP028 findings for `new` against the old text (one per changed function, at its `def`)."""
    try:
        before = step_ids(Module(ast.parse(old)))
    except SyntaxError:
        return []
    findings = []
    for name, (fn, ids) in step_ids(new).items():
        if name not in before:
            continue
        old_ids = before[name][1]
        gone = [step for step in old_ids if step not in ids]
        common_old = [step for step in old_ids if step in ids]
        common_new = [step for step in ids if step in old_ids]
        changes = []
        if gone:
            changes.append(f"{', '.join(repr(step) for step in gone)} renamed or removed")
        if common_old != common_new:
            changes.append(f"reordered ({', '.join(common_old)} → {', '.join(common_new)})")
        if changes:
            message = f"step ids of {name!r} changed since {ref}: {'; '.join(changes)}"
            findings.append(
                Finding(path, fn.node.lineno, fn.node.col_offset + 1, "STP028", message, RULES["STP028"].fix)
            )
    return findings
