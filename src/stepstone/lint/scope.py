"""A file's durable functions as `ast` shows them, for both Stepstone's SDK and the official `inngest` SDK.

It finds the functions (`@<client>.create_function(...)` on a `def` or `async def`), the names that hold the
step object (`ctx.step`, `step = ctx.step`, a `step` parameter), the step calls, and the step handlers (the
callables passed to `step.run`: lambdas, inner defs, module functions of the same file). Each node of a
function is in one region: the body (runs again on every call) or a handler (runs once, in a step). Inner
defs that are not handlers are helpers and are not checked. Names resolve through the file's imports
(`import time as t`, `from datetime import datetime as dt`); a name the function binds itself is shadowed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

STEP_METHODS = frozenset(
    {
        "run",
        "sleep",
        "sleep_until",
        "wait_for_event",
        "wait_for_signal",
        "invoke",
        "invoke_by_id",
        "send_event",
        "infer",
        "fetch",
    }
)
# Names a fragment uses without importing them (a docs snippet): read as the usual module or class.
FALLBACK = {"datetime": "datetime.datetime", "date": "datetime.date"}
Def = ast.FunctionDef | ast.AsyncFunctionDef
HandlerNode = ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Handler:
    """A step handler: the callable `call` (a `step.run`) runs in a step, and the nodes of its body."""

    node: HandlerNode
    call: ast.Call
    nodes: list[ast.AST] = field(default_factory=list)


@dataclass
class Durable:
    """One durable function: its `def`, the names holding ctx and step, its body's nodes and its handlers."""

    node: Def
    ctx_names: set[str]
    step_names: set[str]
    bound: set[str]
    body: list[ast.AST] = field(default_factory=list)
    handlers: list[Handler] = field(default_factory=list)

    @property
    def is_async(self) -> bool:
        return isinstance(self.node, ast.AsyncFunctionDef)

    def is_step(self, node: ast.AST) -> bool:
        """`node` is the step object: `ctx.step` or a name bound to it."""
        if isinstance(node, ast.Name):
            return node.id in self.step_names
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "step"
            and isinstance(node.value, ast.Name)
            and node.value.id in self.ctx_names
        )

    def step_call(self, node: ast.AST) -> str | None:
        """The step method `node` calls (`run`, `sleep`, ...), or None when it is not a step call."""
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in STEP_METHODS
            and self.is_step(node.func.value)
        ):
            return node.func.attr
        return None

    def is_parallel(self, node: ast.AST) -> bool:
        """`ctx.group.parallel(...)`."""
        func = node.func if isinstance(node, ast.Call) else None
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "parallel"
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "group"
        )

    def all_nodes(self) -> Iterator[tuple[ast.AST, Handler | None]]:
        """Every checked node with its handler (None in the body)."""
        for node in self.body:
            yield node, None
        for handler in self.handlers:
            for node in handler.nodes:
                yield node, handler


class Module:
    """A parsed file: its imports, clients, module-level defs and durable functions."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.parents: dict[ast.AST, ast.AST] = {}
        self.aliases: dict[str, str] = {}
        self.defs: dict[str, Def] = {}
        self.module_bound: set[str] = set()
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self.aliases[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for stmt in tree.body:
            if isinstance(stmt, Def):
                self.defs[stmt.name] = stmt
            self.module_bound |= bound_by(stmt, top=True)
        self.clients: set[str] = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and (self.qualname(node.value.func) or "").endswith((".Stepstone", ".Inngest"))
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        self.functions = [
            self.durable(node) for node in ast.walk(tree) if isinstance(node, Def) and self.decorated(node)
        ]
        self.registered = {fn.node.name for fn in self.functions}
        self.loggers = {
            target.id
            for stmt in tree.body
            if isinstance(stmt, ast.Assign)
            and isinstance(stmt.value, ast.Call)
            and (self.qualname(stmt.value.func) or "").startswith(("logging.getLogger", "structlog.get_logger"))
            for target in stmt.targets
            if isinstance(target, ast.Name)
        }

    def decorated(self, node: Def) -> bool:
        for decorator in node.decorator_list:
            func = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(func, ast.Attribute) and func.attr == "create_function":
                if isinstance(func.value, ast.Name):
                    self.clients.add(func.value.id)
                return True
        return False

    def qualname(self, node: ast.AST, shadowed: set[str] | frozenset[str] = frozenset()) -> str | None:
        """The dotted name an expression refers to through the imports (`t.sleep` → `time.sleep`), or None."""
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value, shadowed)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
            base = self.qualname(node.func, shadowed)  # `Path(...).read_text` → `pathlib.Path().read_text`
            return f"{base}()" if base else None
        if not isinstance(node, ast.Name) or node.id in shadowed:
            return None
        if node.id in self.aliases:
            return self.aliases[node.id]
        if node.id in self.module_bound:
            return None
        return FALLBACK.get(node.id, node.id)

    def durable(self, node: Def) -> Durable:
        params = [*node.args.posonlyargs, *node.args.args]
        ctx = {params[0].arg} if params else set()
        steps = {param.arg for param in params[1:] if param.arg == "step"}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign) and len(sub.targets) == 1 and isinstance(sub.targets[0], ast.Name):
                value = sub.value
                if isinstance(value, ast.Attribute) and value.attr == "step" and is_name(value.value, ctx):
                    steps.add(sub.targets[0].id)
        bound = set().union(*(bound_by(stmt) for stmt in node.body)) | {p.arg for p in params}
        fn = Durable(node, ctx, steps, bound)
        self.split(fn)
        return fn

    def split(self, fn: Durable) -> None:
        """Sort the function's nodes into its body and its handlers."""
        inner = {sub.name: sub for sub in ast.walk(fn.node) if isinstance(sub, Def) and sub is not fn.node}
        handlers: dict[int, Handler] = {}
        for sub in ast.walk(fn.node):
            if fn.step_call(sub) != "run" or not isinstance(sub, ast.Call):
                continue
            target = handler_arg(sub)
            found: HandlerNode | None = None
            if isinstance(target, ast.Lambda):
                found = target
            elif isinstance(target, ast.Name):
                found = inner.get(target.id) or self.outer_def(fn, target.id)
            if found is not None and id(found) not in handlers:
                handlers[id(found)] = Handler(found, sub)
        fn.handlers = list(handlers.values())
        self.collect(fn.node.body, fn.body, handlers)
        for handler in fn.handlers:
            body = handler.node.body
            self.collect([body] if isinstance(body, ast.expr) else body, handler.nodes, handlers)

    def outer_def(self, fn: Durable, name: str) -> Def | None:
        """A def named `name` in a scope around the function (an app factory's body, or the module)."""
        if name in fn.bound:
            return None
        node: ast.AST = fn.node
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, Def):
                for stmt in node.body:
                    if isinstance(stmt, Def) and stmt.name == name:
                        return stmt
        return self.defs.get(name)

    def collect(
        self, roots: list[ast.stmt] | list[ast.expr], into: list[ast.AST], handlers: dict[int, Handler]
    ) -> None:
        stack: list[ast.AST] = list(reversed(roots))
        while stack:
            node = stack.pop()
            if isinstance(node, Def | ast.Lambda) and (id(node) in handlers or not isinstance(node, ast.Lambda)):
                # A handler has its own region and a helper runs only when called (calls are not followed);
                # their decorators and default values are evaluated here, though.
                decorators = [] if isinstance(node, ast.Lambda) else node.decorator_list
                defaults = [*node.args.defaults, *(value for value in node.args.kw_defaults if value is not None)]
                stack.extend(reversed([*decorators, *defaults]))
                continue
            if isinstance(node, ast.ClassDef):
                continue  # a class is not the function's code
            into.append(node)
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def is_name(node: ast.AST, names: set[str]) -> bool:
    return isinstance(node, ast.Name) and node.id in names


def handler_arg(call: ast.Call) -> ast.expr | None:
    """The handler passed to `step.run(step_id, handler, *args)`."""
    for keyword in call.keywords:
        if keyword.arg == "handler":
            return keyword.value
    return call.args[1] if len(call.args) > 1 else None


def bound_by(stmt: ast.AST, top: bool = False) -> set[str]:
    """Names a statement binds other than by import (assignments, loops, `with ... as`, defs, parameters)."""
    names: set[str] = set()
    for node in [stmt] if top and isinstance(stmt, Def | ast.ClassDef) else ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, Def | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg) and not top:
            names.add(node.arg)
        if top and isinstance(node, Def | ast.ClassDef):
            break
    return names
