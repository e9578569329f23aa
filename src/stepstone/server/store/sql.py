"""Load a backend's `queries.sql`: named blocks, each opened by a `-- name --` line."""

from __future__ import annotations

import re
from pathlib import Path

_HEADER = re.compile(r"^-- ([a-z_]+) --$", re.MULTILINE)


def load_queries(path: Path) -> dict[str, str]:
    """Map each block's name to its SQL (comments kept, surrounding whitespace stripped)."""
    text = path.read_text(encoding="utf-8")
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"{path}: query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


def migration_files(directory: Path) -> list[tuple[int, str, Path]]:
    """(version, name, path) of `NNNN_name.sql` files, by version."""
    found = []
    for path in directory.glob("*.sql"):
        number, _, name = path.stem.partition("_")
        found.append((int(number), name, path))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"{directory}: migrations must be numbered 1..N without gaps, found {versions}")
    return found
