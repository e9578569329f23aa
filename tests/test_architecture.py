"""The rooms import one way: `protocol` nothing of ours, `sdk` and `server` only `protocol` (and themselves), `cli`
anything but the SDK. Read from the source (every import, module-level or inside a function)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "stepstone"
ALLOWED = {
    "protocol": {"protocol"},
    "sdk": {"protocol", "sdk"},
    "server": {"protocol", "server"},
    "cli": {"protocol", "server", "cli", "lint"},
    "lint": {"protocol", "lint"},  # static checks of user code: never the engine nor the SDK
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


# The engine's sub-packages, from the bottom up: a module may import its own sub-package and those below it.
SERVER_LAYERS = ["core", "store", "functions", "queue", "runs", "intake", "execution", "apps", "engine", "api"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in SRC.rglob("*.py")}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every module of ours that `path` imports, wherever the import stands (at module level,
    in a function, under `TYPE_CHECKING`): a cycle dodged by a late import is still a cycle."""
    found = []
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target.startswith("stepstone"):
                found.append((node.lineno, target))
    return found


GRAPH = {name: {target for _, target in imports_of(path)} - {name} for name, path in MODULES.items()}


def test_no_import_cycle_anywhere() -> None:
    """Tarjan's strongly connected components over every import in src/: each must be a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(GRAPH.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert cycles == []


def server_layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["stepstone", "server"] or len(parts) < 3:
        return None
    return parts[2]


def test_the_engine_sub_packages_import_downwards_only() -> None:
    assert {server_layer(name) for name in MODULES} - {None} == set(SERVER_LAYERS)
    wrong = []
    for name, path in sorted(MODULES.items()):
        layer = server_layer(name)
        if layer is None:
            continue
        for line, target in imports_of(path):
            other = server_layer(target)
            if other is not None and SERVER_LAYERS.index(other) > SERVER_LAYERS.index(layer):
                wrong.append(f"{path.relative_to(SRC)}:{line} ({layer}) imports {target} ({other})")
    assert wrong == [], "\n".join(wrong)


WALKS_BEFORE = {"An event becomes a run": 10, "A step's result is stored": 10, "A queue item is claimed": 9}
WALK_STEP = re.compile(r"^\d+\. `server/([\w/]+\.py)` (.+?):", re.M)


def walks() -> dict[str, list[tuple[str, list[str]]]]:
    """docs/architecture.md's walks: title -> [(file, [function names])]."""
    text = (SRC.parents[1] / "docs" / "architecture.md").read_text()
    found = {}
    for section in text.split("\n### ")[1:]:
        title, _, body = section.partition("\n")
        found[title] = [(file, re.findall(r"`([\w.]+)`", names)) for file, names in WALK_STEP.findall(body)]
    return found


def defines(path: Path, dotted: str) -> bool:
    """Whether the module defines `name` or `Class.method`."""
    scope: list[ast.stmt] = ast.parse(path.read_text()).body
    for part in dotted.split("."):
        match = [
            node
            for node in scope
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == part
        ]
        if not match:
            return False
        scope = match[0].body if isinstance(match[0], ast.ClassDef) else []
    return True


def test_the_architecture_walks_name_real_functions_and_never_go_back() -> None:
    found = walks()
    assert set(found) == set(WALKS_BEFORE)
    for title, steps in found.items():
        files = [file for file, _ in steps]
        assert len(files) == len(set(files)), f"{title}: a file appears twice"
        assert len(files) < WALKS_BEFORE[title], f"{title}: {len(files)} files, {WALKS_BEFORE[title]} before"
        missing = [
            f"{file}: {name}" for file, names in steps for name in names if not defines(SRC / "server" / file, name)
        ]
        assert missing == [], f"{title}: no such function: {missing}"


def test_transaction_scripts_name_the_store_concern_they_touch() -> None:
    """Scripts reach the store through `Work`'s narrow views (`work.runs`, `work.queue`, ...), never the merged `Tx`."""
    rooms = ("runs", "intake", "queue", "execution", "apps")
    wrong = [
        f"{path.relative_to(SRC)}:{number}"
        for room in rooms
        for path in sorted((SRC / "server" / room).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bwork\.tx\.\w+\(", line)
    ]
    assert wrong == []
