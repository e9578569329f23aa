"""The checks on how steps are arranged and what handlers do: mutation of the closure, parallel steps awaited
out of order, set iteration, duplicate or unbounded steps, non-JSON or large outputs, branching on process
state, functions called from a step, and events sent from a step without an id. Each yields
`(node, code, message)` like those of `checks`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from stepstone.lint.scope import Durable, Handler, Module, bound_by

Hit = tuple[ast.AST, str, str]
MUTATORS = frozenset(
    {"append", "extend", "insert", "update", "add", "pop", "popitem", "remove", "discard", "clear", "setdefault"}
)
NOT_JSON = frozenset(
    {
        "set",
        "frozenset",
        "bytes",
        "bytearray",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "decimal.Decimal",
        "uuid.UUID",
        "typing.Set",
        "typing.FrozenSet",
        "collections.abc.Set",
    }
)
LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def handler_locals(handler: Handler) -> set[str]:
    node = handler.node
    names = {arg.arg for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]}
    for extra in (node.args.vararg, node.args.kwarg):
        if extra is not None:
            names.add(extra.arg)
    body = [node.body] if isinstance(node.body, ast.expr) else node.body
    for stmt in body:
        names |= bound_by(stmt)
    return names


def mutations(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP013: a handler writes to names outside itself (skipped on replay, so the write never happens)."""
    for handler in fn.handlers:
        local = handler_locals(handler)
        for node in handler.nodes:
            if isinstance(node, ast.Nonlocal | ast.Global):
                yield node, "STP013", f"`{type(node).__name__.lower()} {', '.join(node.names)}` in a step handler"
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Attribute | ast.Subscript) and (root := outer_name(target, local, mod)):
                    yield target, "STP013", f"the step handler writes to `{root}` outside itself"
            func = node.func if isinstance(node, ast.Call) else None
            mutator = isinstance(func, ast.Attribute) and func.attr in MUTATORS and isinstance(func.value, ast.Name)
            root = outer_name(func.value, local, mod) if mutator and isinstance(func, ast.Attribute) else None
            if root and isinstance(func, ast.Attribute):
                yield node, "STP013", f"the step handler changes `{root}` (`.{func.attr}()`) outside itself"


def outer_name(node: ast.expr, local: set[str], mod: Module) -> str | None:
    """The name at the root of `a.b[c]` when it is neither the handler's own nor an import."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    if isinstance(node, ast.Name) and node.id not in local and node.id not in mod.aliases and node.id != "self":
        return node.id
    return None


def unordered(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP015: `asyncio.wait`/`as_completed` over steps; with the official SDK also `gather`/`TaskGroup`."""
    official = any(name == "inngest" or name.startswith("inngest.") for name in mod.aliases.values())
    for node in fn.body:
        if not isinstance(node, ast.Call):
            continue
        name = mod.qualname(node.func, fn.bound) or ""
        watched = {"asyncio.wait", "asyncio.as_completed"} | ({"asyncio.gather"} if official else set())
        task_group = official and isinstance(node.func, ast.Attribute) and node.func.attr == "create_task"
        if (name in watched or task_group) and any(fn.step_call(sub) for sub in ast.walk(node)):
            how = f"`{name}`" if name in watched else "a task group"
            yield node, "STP015", f"steps run through {how}: their order is not stable between calls"


def set_orders(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP017: steps started while iterating a set."""
    sets = {
        target.id
        for node in fn.body
        if isinstance(node, ast.Assign) and is_set(mod, fn, node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in fn.body:
        loop = isinstance(node, ast.For | ast.AsyncFor) and (is_set(mod, fn, node.iter) or is_name_in(node.iter, sets))
        if loop and isinstance(node, ast.For | ast.AsyncFor) and has_step(fn, node.body):
            yield node.iter, "STP017", "steps started while iterating a set: the order can differ between calls"


def has_step(fn: Durable, body: list[ast.stmt]) -> bool:
    return any(fn.step_call(sub) for stmt in body for sub in ast.walk(stmt))


def is_set(mod: Module, fn: Durable, node: ast.expr) -> bool:
    if isinstance(node, ast.Set | ast.SetComp):
        return True
    return isinstance(node, ast.Call) and mod.qualname(node.func, fn.bound) in {"set", "frozenset"}


def is_name_in(node: ast.AST, names: set[str]) -> bool:
    return isinstance(node, ast.Name) and node.id in names


def duplicates(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP018: the same literal step id twice outside loops (not in exclusive branches)."""
    seen: dict[str, ast.AST] = {}
    for node in fn.body:
        if not fn.step_call(node) or not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not isinstance(first, ast.Constant) or not isinstance(first.value, str) or in_loop(mod, fn, node):
            continue
        earlier = seen.get(first.value)
        if earlier is not None and not exclusive(mod, earlier, node):
            yield node, "STP018", f"the step id {first.value!r} is used twice in the function"
        seen.setdefault(first.value, node)


def ancestors(mod: Module, node: ast.AST) -> list[ast.AST]:
    chain = []
    while node in mod.parents:
        node = mod.parents[node]
        chain.append(node)
    return chain


def in_loop(mod: Module, fn: Durable, node: ast.AST) -> bool:
    for parent in ancestors(mod, node):
        if parent is fn.node:
            return False
        if isinstance(parent, LOOPS):
            return True
    return False


def exclusive(mod: Module, first: ast.AST, second: ast.AST) -> bool:
    """The two nodes lie in different branches of one `if`/`try`/`match` (only one of them runs)."""
    chain = [first, *ancestors(mod, first)]
    other = [second, *ancestors(mod, second)]
    common = next(node for node in chain if node in other)
    if not isinstance(common, ast.If | ast.Try | ast.TryStar | ast.Match | ast.IfExp):
        return False
    return branch_of(common, chain) != branch_of(common, other)


def branch_of(parent: ast.AST, chain: list[ast.AST]) -> str:
    child = chain[chain.index(parent) - 1]
    for name, value in ast.iter_fields(parent):
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            if item is child:
                return f"{name}{index if isinstance(parent, ast.Match | ast.Try | ast.TryStar) else ''}"
    return ""


def outputs(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP020: a handler annotated to return a type that is not JSON, with no `output_type=`."""
    classes = {node.name: node for node in mod.tree.body if isinstance(node, ast.ClassDef)}
    for handler in fn.handlers:
        returns = None if isinstance(handler.node, ast.Lambda) else handler.node.returns
        if returns is None or any(keyword.arg == "output_type" for keyword in handler.call.keywords):
            continue
        target = returns.value if isinstance(returns, ast.Subscript) else returns
        name = mod.qualname(target, fn.bound) or ""
        plain = name in classes and not classes[name].bases and not classes[name].decorator_list
        if name in NOT_JSON or plain:
            yield returns, "STP020", f"the step handler returns `{ast.unparse(returns)}`, which is not JSON"


def unbounded(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP021: steps in `while True` or in a loop over query results."""
    for node in fn.body:
        if not isinstance(node, ast.While | ast.For | ast.AsyncFor):
            continue
        forever = isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and bool(node.test.value)
        data = isinstance(node, ast.For | ast.AsyncFor) and query_result(node.iter)
        if (forever or data) and has_step(fn, node.body):
            what = "`while True`" if forever else "a loop over query results"
            yield node, "STP021", f"steps in {what}: a run has at most 1,000 steps"


def query_result(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"fetchall", "all", "iterdir", "scalars", "fetch", "iterator"}
    )


def large(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP022: a handler returning `fetchall()`, a file's content or a response body."""
    for handler in fn.handlers:
        body = handler.node.body
        returned = [node.value for node in handler.nodes if isinstance(node, ast.Return) and node.value is not None]
        values = [body] if isinstance(body, ast.expr) else returned
        for value in values:
            call = value.func if isinstance(value, ast.Call) else None
            if isinstance(call, ast.Attribute) and call.attr in {"fetchall", "read", "read_text", "read_bytes"}:
                yield value, "STP022", f"the step returns `.{call.attr}()` whole (a step output is at most 4 MiB)"
            elif isinstance(value, ast.Attribute) and value.attr in {"content", "text", "body"}:
                yield value, "STP022", f"the step returns a whole response `.{value.attr}` (at most 4 MiB)"


def process_state(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP024: branching on `os.environ`, `platform`, the host name or a mutable module global."""
    mutable = {
        target.id
        for stmt in mod.tree.body
        if isinstance(stmt, ast.Assign)
        and (
            isinstance(stmt.value, ast.List | ast.Dict | ast.Set)
            or (
                isinstance(stmt.value, ast.Call)
                and mod.qualname(stmt.value.func)
                in {"list", "dict", "set", "collections.defaultdict", "collections.OrderedDict", "collections.Counter"}
            )
        )
        for target in stmt.targets
        if isinstance(target, ast.Name)
    }
    for node in fn.body:
        if not isinstance(node, ast.If | ast.While | ast.IfExp):
            continue
        for sub in ast.walk(node.test):
            name = mod.qualname(sub, fn.bound) or ""
            if name.startswith(("os.environ", "os.getenv", "platform.", "socket.gethostname", "sys.platform")) or (
                isinstance(sub, ast.Name) and sub.id in mutable and sub.id not in fn.bound
            ):
                yield node.test, "STP024", f"the function branches on process state (`{ast.unparse(sub)}`)"
                break


def invoked_directly(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP025: a registered function called from a step handler."""
    for handler in fn.handlers:
        for node in handler.nodes:
            if isinstance(node, ast.Call) and is_name_in(node.func, mod.registered):
                yield node, "STP025", f"the step handler calls the function `{ast.unparse(node.func)}` directly"


def sends_without_id(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP027: events sent by the client from a step handler with no `id` (a retried step sends them again)."""
    for handler in fn.handlers:
        for node in handler.nodes:
            func = node.func if isinstance(node, ast.Call) else None
            if not (
                isinstance(node, ast.Call) and isinstance(func, ast.Attribute) and func.attr in {"send", "send_sync"}
            ):
                continue
            if not is_name_in(func.value, mod.clients) or not node.args:
                continue
            events = node.args[0].elts if isinstance(node.args[0], ast.List | ast.Tuple) else [node.args[0]]
            for event in events:
                if not isinstance(event, ast.Call) or not (mod.qualname(event.func, fn.bound) or "").endswith("Event"):
                    continue
                if not any(keyword.arg == "id" for keyword in event.keywords):
                    yield event, "STP027", "an event sent from a step without an `id`: a retried step sends it again"


CHECKS = [
    mutations,
    unordered,
    set_orders,
    duplicates,
    outputs,
    unbounded,
    large,
    process_state,
    invoked_directly,
    sends_without_id,
]
