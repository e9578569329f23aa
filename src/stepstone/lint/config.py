"""Which rules run where: `[tool.stepstone.lint]` in pyproject.toml, `--select`/`--ignore`, and suppressions.

`select` replaces the default set (every rule but the heuristic ones), `ignore` removes from it, both take
codes or `ALL`; `per-file-ignores` maps glob patterns (relative to the pyproject.toml's folder) to codes.
A line ending in `# stepstone: ignore[STP001, STP002]` (or a bare `# stepstone: ignore`) hides those findings.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from stepstone.lint.rules import RULES

SUPPRESSION = re.compile(r"#\s*stepstone:\s*ignore(?:\[([A-Za-z0-9,\s]*)\])?")


class ConfigError(ValueError):
    """A configuration or command-line selection that names no rule."""


def codes(values: Iterable[str]) -> frozenset[str]:
    """Codes from `values` (`ALL` for every rule), or ConfigError naming an unknown one."""
    found: set[str] = set()
    for value in values:
        code = value.strip().upper()
        if code == "ALL":
            found |= set(RULES)
        elif code in RULES:
            found.add(code)
        elif code:
            raise ConfigError(f"unknown rule {value!r} (known: {', '.join(sorted(RULES))} or ALL)")
    return frozenset(found)


@dataclass(frozen=True)
class Config:
    """The rules to run.

    Attributes:
        select: The rules to run (None: the defaults).
        ignore: Rules never to run.
        per_file_ignores: Glob pattern → rules not run on matching files.
        root: The folder patterns are relative to.
    """

    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    per_file_ignores: dict[str, frozenset[str]] = field(default_factory=dict)
    root: Path = Path(".")

    def enabled(self, path: Path | None = None) -> frozenset[str]:
        """The codes that run on `path`."""
        chosen = self.select if self.select is not None else frozenset(c for c, r in RULES.items() if r.default)
        chosen -= self.ignore
        if path is not None:
            try:
                relative = path.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                relative = path.as_posix()
            for pattern, ignored in self.per_file_ignores.items():
                if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(path.name, pattern):
                    chosen -= ignored
        return chosen

    def override(self, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> Config:
        """The command line's `--select` replaces the file's; its `--ignore` adds to it."""
        selected = codes(select) if select else self.select
        return replace(self, select=selected, ignore=self.ignore | codes(ignore))


def load_config(start: Path) -> Config:
    """The `[tool.stepstone.lint]` table of the nearest pyproject.toml at or above `start` (defaults if none)."""
    folder = start.resolve()
    folder = folder if folder.is_dir() else folder.parent
    for candidate in [folder, *folder.parents]:
        path = candidate / "pyproject.toml"
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as error:
                raise ConfigError(f"{path}: {error}") from error
            table = data.get("tool", {}).get("stepstone", {}).get("lint", {})
            return from_table(table, candidate)
    return Config()


def from_table(table: dict[str, object], root: Path) -> Config:
    unknown = set(table) - {"select", "ignore", "per-file-ignores"}
    if unknown:
        raise ConfigError(f"[tool.stepstone.lint]: unknown keys {', '.join(sorted(unknown))}")
    select = table.get("select")
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError("[tool.stepstone.lint] per-file-ignores: a table of pattern = [codes]")
    return Config(
        select=codes(strings(select)) if select is not None else None,
        ignore=codes(strings(table.get("ignore", []))),
        per_file_ignores={str(pattern): codes(strings(value)) for pattern, value in per_file.items()},
        root=root,
    )


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ConfigError(f"[tool.stepstone.lint]: expected a list of rule codes, got {value!r}")


def suppressed(lines: list[str], line: int, code: str) -> bool:
    """Line `line` (1-based) carries `# stepstone: ignore` for `code` (or for every code)."""
    if not 0 < line <= len(lines):
        return False
    match = SUPPRESSION.search(lines[line - 1])
    if match is None:
        return False
    listed = match.group(1)
    return listed is None or code in {part.strip().upper() for part in listed.split(",")}
