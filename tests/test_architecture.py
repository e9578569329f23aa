"""The rooms import one way: `protocol` nothing of ours, `sdk` and `server` only `protocol` (and themselves), `cli`
anything but the SDK. Read from the source (every import, module-level or inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "stepstone"
ALLOWED = {
    "protocol": {"protocol"},
    "sdk": {"protocol", "sdk"},
    "server": {"protocol", "server"},
    "cli": {"protocol", "server", "cli"},
}


def imported_rooms(path: Path) -> set[tuple[int, str]]:
    """(line, room) of every `stepstone.<room>` the module imports; `stepstone` itself counts as the SDK."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            base = node.module
            names = [f"{base}.{alias.name}" for alias in node.names] if base == "stepstone" else [base]
        for name in names:
            parts = name.split(".")
            if parts[0] == "stepstone":
                room = parts[1] if len(parts) > 1 and parts[1] in ALLOWED else "sdk"  # stepstone.Stepstone etc.
                found.add((node.lineno, room))
    return found


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_each_room_imports_only_what_it_may(room: str) -> None:
    wrong = [
        f"{path.relative_to(SRC)}:{line} imports stepstone.{other}"
        for path in sorted((SRC / room).rglob("*.py"))
        for line, other in sorted(imported_rooms(path))
        if other not in ALLOWED[room]
    ]
    assert wrong == [], "\n".join(wrong)


def test_every_module_opens_with_a_docstring() -> None:
    missing = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if path.read_text().strip() and ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert missing == []
