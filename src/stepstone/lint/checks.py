"""The rules' checks: each reads one durable function (see `scope`) and yields `(node, code, message)`.

A check looks at the function body for what must not run there (clock, randomness, I/O, sleeps, threads,
`client.send`, `print`), at handlers for what must not run in a step (nested steps), and at step calls for
how they are written (awaited, stable id, a callable handler, no swallowed control flow).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from stepstone.lint import calls
from stepstone.lint.scope import Durable, Module, handler_arg, is_name

Hit = tuple[ast.AST, str, str]
Check = Callable[[Module, Durable], Iterator[Hit]]

BODY_CALLS: list[tuple[str, Callable[[str], bool], str]] = [
    ("STP001", calls.is_clock, "reads the clock outside a step"),
    ("STP002", calls.is_random, "draws a random value outside a step"),
    ("STP003", calls.is_network, "does network I/O outside a step"),
    ("STP005", calls.is_file, "touches the file system outside a step"),
    ("STP006", lambda name: name in calls.SLEEPS, "sleeps in the function body"),
    ("STP007", calls.is_thread, "starts a thread, process or executor in the function body"),
]


def body_calls(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP001-003, 005-007: a forbidden call in the body, by its dotted name."""
    for node in fn.body:
        if not isinstance(node, ast.Call):
            continue
        name = mod.qualname(node.func, fn.bound)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "run_in_executor":
            name = "loop.run_in_executor"
        if name is None:
            continue
        for code, matches, what in BODY_CALLS:
            if matches(name):
                yield node, code, f"`{display(name)}()` {what}"
                break


def display(name: str) -> str:
    return name.removeprefix("datetime.") if name.startswith(("datetime.datetime", "datetime.date")) else name


def database(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP004: connects, cursor/session calls and Django managers in the body."""
    for node in fn.body:
        if not isinstance(node, ast.Call):
            continue
        name = mod.qualname(node.func, fn.bound) or ""
        func = node.func
        if name in calls.DB_CONNECT:
            yield node, "STP004", f"`{name}()` opens a database connection outside a step"
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in calls.DB_METHODS
            and db_receiver(func.value)
            and not fn.is_step(func.value)  # `ctx.step.fetch(...)`: a step, though `ctx` ends like `tx`
        ):
            yield node, "STP004", f"`.{func.attr}()` queries the database outside a step"
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute) and func.value.attr == "objects":
            yield node, "STP004", f"`.objects.{func.attr}()` queries the database outside a step"


def db_receiver(node: ast.AST) -> bool:
    """The receiver chain names a cursor, session or connection (`cur`, `db.session`, `conn.cursor()`)."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            if node.attr.lower().endswith(calls.DB_RECEIVERS):
                return True
            node = node.value
        else:
            return isinstance(node, ast.Name) and node.id.lower().endswith(calls.DB_RECEIVERS)


def files(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP005's method half: `Path(...).read_text()` and the like on any receiver."""
    for node in fn.body:
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in calls.FILE_METHODS and not fn.is_step(func.value):
            yield node, "STP005", f"`.{func.attr}()` touches the file system outside a step"


def is_statement(mod: Module, node: ast.AST) -> bool:
    """The call's value is dropped: it is a statement of its own."""
    return isinstance(mod.parents.get(node), ast.Expr)


def unawaited(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP008, STP009, STP010: coroutines and tasks dropped on the floor."""
    for node, handler in fn.all_nodes():
        if not isinstance(node, ast.Call) or not is_statement(mod, node):
            continue
        async_code = fn.is_async if handler is None else not isinstance(handler.node, ast.FunctionDef)
        method = fn.step_call(node)
        if method and fn.is_async:
            yield node, "STP008", f"`step.{method}(...)` is not awaited: the step never runs"
        elif mod.qualname(node.func, fn.bound) in calls.TASKS:
            yield node, "STP009", "the task's result is dropped: it is cancelled when the request ends"
        elif async_code and (method := client_send(mod, fn, node)) in ASYNC_SENDS:
            yield node, "STP010", f"`{method}(...)` of the async client is not awaited: {ASYNC_SENDS[method]}"


# The client's methods that send (events, or a signal to a waiting run); the async ones, with what is lost unawaited.
SENDS = frozenset({"send", "send_sync", "send_signal", "send_signal_sync"})
ASYNC_SENDS = {"send": "no event is sent", "send_signal": "no signal is sent"}


def client_send(mod: Module, fn: Durable, node: ast.Call) -> str | None:
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr in SENDS):
        return None
    if isinstance(func.value, ast.Name) and func.value.id in mod.clients and func.value.id not in fn.bound:
        return func.attr
    return None


def module_sends(mod: Module) -> Iterator[Hit]:
    """STP010 anywhere in the file: an unawaited `client.send(...)` statement in an `async def` (a route, a task)."""
    for node in ast.walk(mod.tree):
        if not isinstance(node, ast.AsyncFunctionDef) or node.name in mod.registered:
            continue
        stack: list[ast.AST] = list(node.body)
        while stack:
            sub = stack.pop()
            if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                continue  # their own scope: an async def is visited by the outer walk
            func = sub.value.func if isinstance(sub, ast.Expr) and isinstance(sub.value, ast.Call) else None
            if isinstance(func, ast.Attribute) and func.attr in ASYNC_SENDS and is_name(func.value, mod.clients):
                lost = ASYNC_SENDS[func.attr]
                yield sub, "STP010", f"`{func.attr}(...)` of the async client is not awaited: {lost}"
            stack.extend(ast.iter_child_nodes(sub))


def sends(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP011: the client sends events from the body."""
    for node in fn.body:
        if isinstance(node, ast.Call) and (method := client_send(mod, fn, node)):
            yield node, "STP011", f"`client.{method}(...)` in the function body sends again on every call"


def nested(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP012: step calls inside handlers."""
    for handler in fn.handlers:
        for node in handler.nodes:
            if method := fn.step_call(node):
                yield node, "STP012", f"`step.{method}(...)` inside the handler of a step"


def swallowed(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP014: `except:` / `except BaseException` / `suppress(BaseException)` around steps, not re-raised."""
    for node in fn.body:
        if isinstance(node, ast.Try | ast.TryStar) and has_step(fn, node.body):
            for handler in node.handlers:
                if catches_base(mod, fn, handler.type) and not reraises(handler.body):
                    what = "bare `except:`" if handler.type is None else "`except BaseException`"
                    yield handler, "STP014", f"{what} around a step swallows the SDK's control flow"
        elif isinstance(node, ast.With | ast.AsyncWith) and has_step(fn, node.body):
            for item in node.items:
                call = item.context_expr
                if suppresses_base(mod, fn, call):
                    yield call, "STP014", "`suppress(BaseException)` around a step swallows the SDK's control flow"


def suppresses_base(mod: Module, fn: Durable, call: ast.expr) -> bool:
    if not isinstance(call, ast.Call) or not (mod.qualname(call.func, fn.bound) or "").endswith("suppress"):
        return False
    return any(catches_base(mod, fn, arg) for arg in call.args)


def has_step(fn: Durable, body: list[ast.stmt]) -> bool:
    return any(fn.step_call(sub) or fn.is_parallel(sub) for stmt in body for sub in ast.walk(stmt))


def catches_base(mod: Module, fn: Durable, node: ast.expr | None) -> bool:
    if node is None:
        return True
    if isinstance(node, ast.Tuple):
        return any(catches_base(mod, fn, elt) for elt in node.elts)
    return mod.qualname(node, fn.bound) in {"BaseException", "builtins.BaseException"}


def reraises(body: list[ast.stmt]) -> bool:
    return any(isinstance(sub, ast.Raise) for stmt in body for sub in ast.walk(stmt))


def step_id_arg(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in {"step_id", "id"}:
            return keyword.value
    return call.args[0] if call.args else None


def unstable_ids(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP016: a step id computed from the clock, randomness, `id()` or `hash()`."""
    for node, _ in fn.all_nodes():
        if not isinstance(node, ast.Call) or not fn.step_call(node) or (arg := step_id_arg(node)) is None:
            continue
        for sub in ast.walk(arg):
            name = mod.qualname(sub.func, fn.bound) if isinstance(sub, ast.Call) else None
            if name and (
                calls.is_clock(name) or calls.is_random(name) or name.startswith("uuid.") or name in {"id", "hash"}
            ):
                yield sub, "STP016", f"the step id is built from `{display(name)}()`, which differs on every call"
                break


def called_handlers(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP019: `step.run('x', fetch())` or `step.run('x', await fetch())`."""
    for node, _ in fn.all_nodes():
        if not isinstance(node, ast.Call) or fn.step_call(node) != "run":
            continue
        arg = handler_arg(node)
        if isinstance(arg, ast.Await) and isinstance(arg.value, ast.Call):
            yield arg, "STP019", "the handler is awaited where it is passed: its work runs outside the step"
        elif isinstance(arg, ast.Call) and not is_factory(mod, fn, arg):
            yield arg, "STP019", "the handler is called where it is passed: its work runs outside the step"


def is_factory(mod: Module, fn: Durable, call: ast.Call) -> bool:
    """`functools.partial(...)`, or a def of this file that returns a lambda or an inner def."""
    name = mod.qualname(call.func, fn.bound) or ""
    if name.endswith("partial"):
        return True
    if not isinstance(call.func, ast.Name):
        return True  # a method: it may well build the handler, and precision comes first
    defs = [node for node in ast.walk(mod.tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    target = next((node for node in defs if node.name == call.func.id), None)
    if target is None:
        return call.func.id in fn.bound or call.func.id in mod.aliases  # unknown: assume it builds a callable
    inner = {sub.name for sub in ast.walk(target) if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef)}
    return any(
        isinstance(sub, ast.Return)
        and (isinstance(sub.value, ast.Lambda) or (isinstance(sub.value, ast.Name) and sub.value.id in inner))
        for sub in ast.walk(target)
    )


def prints(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP023: `print` and `logging` in the body (`ctx.logger` is fine)."""
    for node in fn.body:
        if not isinstance(node, ast.Call):
            continue
        name = mod.qualname(node.func, fn.bound) or ""
        func = node.func
        if name == "print" or (name.startswith("logging.") and name.rsplit(".", 1)[-1] in calls.LOG_METHODS):
            yield node, "STP023", f"`{name}()` in the function body repeats on every call"
        elif is_logger_call(mod, fn, func):
            yield node, "STP023", f"`{ast.unparse(func)}()` in the function body repeats on every call"


def is_logger_call(mod: Module, fn: Durable, func: ast.expr) -> bool:
    """`log.info(...)` on a module-level `logging.getLogger(...)` the function does not shadow."""
    if not (isinstance(func, ast.Attribute) and func.attr in calls.LOG_METHODS and isinstance(func.value, ast.Name)):
        return False
    return func.value.id in mod.loggers and func.value.id not in fn.bound


def mismatch(mod: Module, fn: Durable) -> Iterator[Hit]:
    """STP026: `async def` with `ContextSync`, `def` with `Context`."""
    params = [*fn.node.args.posonlyargs, *fn.node.args.args]
    annotation = params[0].annotation if params else None
    name = (mod.qualname(annotation) or "") if annotation is not None else ""
    last = name.rsplit(".", 1)[-1]
    if fn.is_async and last == "ContextSync":
        yield fn.node, "STP026", "an `async def` function with `ContextSync`: the async API is `Context`"
    elif not fn.is_async and last == "Context":
        yield fn.node, "STP026", "a `def` function with the async `Context`: a sync function gets `ContextSync`"


CHECKS: list[Check] = [
    body_calls,
    database,
    files,
    unawaited,
    sends,
    nested,
    swallowed,
    unstable_ids,
    called_handlers,
    prints,
    mismatch,
]
