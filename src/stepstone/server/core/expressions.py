"""CEL expressions: trigger filters, `waitForEvent` and `cancelOn` matches, flow-control keys.

Expressions compile with the `common-expression-language` package (the Rust `cel` crate). The engine evaluates them
with the variables `event` (the trigger event), `async` (the candidate event of a wait or cancel) and `vars`.

What users can write:

- Standard CEL: operators, `has()`, the macros `all`, `exists`, `exists_one`, `map` and `filter`, `size`,
  `contains`, `startsWith`, `endsWith`, `matches`, the conversions `int`, `uint`, `double`, `string`, `bytes`,
  `timestamp`, `duration`, `dyn`, `type`, and the timestamp accessors (`getHours`, ...).
- Inngest's `lowercase(s)`, `uppercase(s)`, `b64decode(s)` and `json_parse(s)`. Like Inngest's, they never fail:
  a non-string argument, bad base64 or bad JSON gives `""` (or `{}` for `json_parse`, which only returns objects).
- Not supported: Inngest's `date`, `now`, `now_plus` and `now_minus`, and its loose typing (Inngest reads a missing
  field as null, so `event.data.missing == null` is true there, and `"a" + 1` concatenates).

How the library behaves, and what this module adds:

- `==`, `<` and `>` compare int, uint and double by value (`1 == 1.0`, `1 < 1.5`), but arithmetic does not mix
  them (`1 + 0.5` fails). Whole floats become ints before evaluation (`2.0` → `2`), so an event whose sender wrote
  `2.0` behaves like one written by JavaScript, which sends `2`, in `event.data.n + 1` and in key strings (and,
  as for `3`, `event.data.n / 2` is integer division for `3.0`).
- A missing map key is an error, so `event.data.x == 1` does not match an event without `x`: `matches` returns
  False and `evaluate` raises `ExpressionError`. `has(event.data.x)` tests for the field.
- `async` is an ordinary identifier: CEL reserves `as`, `if`, `let` and a few more, but not `async`.
- `compile_expression` checks syntax only: an unknown function or variable fails at evaluation, like a missing key.
- Converting Python values into CEL is most of the cost (1 to 2 µs per string or map entry); running a compiled program
  takes under 1 µs. For a small event (6 fields, 3 in `data`), `Expression.matches` takes about 20 µs, and each
  further expression on the same `Bindings` about 1 µs, so the engine converts an event once for many expressions.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Mapping

import cel
import orjson

from stepstone.server.core.errors import EngineError

_INT64_MIN = -(2**63)
_INT64_END = 2**63
_SHOWN_CHARS = 200


class ExpressionError(EngineError, ValueError):
    """An expression that is not valid CEL, or whose evaluation failed.

    Attributes:
        expression: the source of the expression.
    """

    def __init__(self, message: str, *, expression: str) -> None:
        super().__init__(message)
        self.expression = expression


def lowercase(value: object) -> str:
    """Inngest's `lowercase(s)`: `s` in lower case, `""` for a non-string."""
    return value.lower() if isinstance(value, str) else ""


def uppercase(value: object) -> str:
    """Inngest's `uppercase(s)`: `s` in upper case, `""` for a non-string."""
    return value.upper() if isinstance(value, str) else ""


def b64decode(value: object) -> str:
    """Inngest's `b64decode(s)`: decode standard, padded base64 to text, `""` when `s` is not base64."""
    if not isinstance(value, str):
        return ""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def json_parse(value: object) -> dict[str, object]:
    """Inngest's `json_parse(s)`: the JSON object in `s`, `{}` when `s` is not a JSON object."""
    if not isinstance(value, str):
        return {}
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {key: normalize(item) for key, item in parsed.items()}


_FUNCTIONS: Mapping[str, Callable[[object], object]] = {
    "lowercase": lowercase,
    "uppercase": uppercase,
    "b64decode": b64decode,
    "json_parse": json_parse,
}


def normalize(value: object) -> object:
    """Copy a JSON value with whole floats turned into ints (`2.0` → `2`) where they fit in 64 bits."""
    # Most of an event is strings and dicts: test the cheap, common types before the `Mapping` ABC.
    if isinstance(value, str | int) or value is None:
        return value
    if isinstance(value, float):
        if value.is_integer() and _INT64_MIN <= value < _INT64_END:
            return int(value)
        return value
    if isinstance(value, dict | Mapping):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(item) for item in value]
    return value


class Expression:
    """A compiled CEL expression; build one with `compile_expression`.

    Attributes:
        source: the expression as written.
        variables: the identifiers it references, for binding only the variables it needs.
    """

    __slots__ = ("_program", "source", "variables")

    def __init__(self, source: str, program: cel.Program) -> None:
        self.source = source
        self._program = program
        self.variables: tuple[str, ...] = tuple(program.variables())

    def evaluate(self, variables: Mapping[str, object]) -> object:
        """Evaluate with `variables` (JSON values: dict, list, str, int, float, bool, None).

        Raises:
            ExpressionError: evaluation failed: a missing key or variable, mismatched types, an unknown function.
        """
        return Bindings(variables).evaluate(self)

    def matches(self, variables: Mapping[str, object]) -> bool:
        """Whether the expression evaluates to exactly `true`; any error is no match."""
        return Bindings(variables).matches(self)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


class Bindings:
    """Variables converted for CEL once, to evaluate many expressions against the same event.

    The engine builds one per incoming event and matches every waiting pause against it. Each variable is converted
    the first time an expression references it, so unused variables cost nothing.
    """

    __slots__ = ("_bound", "_context", "_variables")

    def __init__(self, variables: Mapping[str, object]) -> None:
        self._variables = variables
        self._context = cel.Context(functions=dict(_FUNCTIONS))
        self._bound: set[str] = set()

    def evaluate(self, expression: Expression) -> object:
        """Evaluate `expression` with these variables.

        Raises:
            ExpressionError: evaluation failed: a missing key or variable, mismatched types, an unknown function.
        """
        try:
            return self._run(expression)
        except Exception as exc:
            message = f"expression {_shown(expression.source)} failed: {_describe(exc)}"
            raise ExpressionError(message, expression=expression.source) from exc

    def matches(self, expression: Expression) -> bool:
        """Whether `expression` evaluates to exactly `true` with these variables; any error is no match."""
        try:
            return self._run(expression) is True
        except Exception:
            return False

    def _run(self, expression: Expression) -> object:
        for name in expression.variables:
            if name not in self._bound and name in self._variables:
                self._context.add_variable(name, normalize(self._variables[name]))
                self._bound.add(name)
        return expression._program.execute(self._context)


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Expression:
    """Compile a CEL expression, or return the one compiled before from the same source.

    Raises:
        ExpressionError: `source` is not valid CEL; the message shows where.
    """
    try:
        program = cel.compile(source)
    except Exception as exc:
        detail = str(exc)
        if "ERROR: " in detail:
            detail = detail[detail.index("ERROR: ") :]
        raise ExpressionError(f"invalid expression {_shown(source)}: {detail}", expression=source) from exc
    return Expression(source, program)


def problem(source: str) -> str | None:
    """Why `source` is not a valid expression, or None: for validating configs at registration."""
    try:
        compile_expression(source)
    except ExpressionError as exc:
        return str(exc)
    return None


def evaluate_key(source: str, event: Mapping[str, object]) -> str | None:
    """Evaluate a key expression (concurrency, throttle, debounce, ...) against `event`.

    Returns:
        The value as a stable string: a string as is, anything else as compact JSON with sorted keys (`42`,
        `{"a":1}`), or None when the expression is invalid or its evaluation fails.
    """
    try:
        value = compile_expression(source).evaluate({"event": event})
    except ExpressionError:
        return None
    if isinstance(value, str):
        return value
    try:
        encoded = orjson.dumps(normalize(value), default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return None
    return encoded.decode()


def _shown(source: str) -> str:
    """`source` quoted for a message, shortened when long."""
    if len(source) > _SHOWN_CHARS:
        return repr(source[:_SHOWN_CHARS] + "…")
    return repr(source)


def _describe(exc: Exception) -> str:
    """A user-facing reason for a library error during evaluation."""
    if isinstance(exc, KeyError) and exc.args:
        return f"no such key {exc.args[0]!r} (use has() to test whether a field is present)"
    return str(exc) or type(exc).__name__
