from __future__ import annotations

import base64
import logging
import re

import pytest

from stepstone.server.core import expressions
from stepstone.server.core.expressions import Bindings, ExpressionError, compile_expression, evaluate_key, problem


def event(**data: object) -> dict[str, object]:
    return {"name": "app/user.created", "id": "01J0", "ts": 1700000000000, "data": data}


def matches(source: str, **variables: object) -> bool:
    return compile_expression(source).matches(variables)


def evaluate(source: str, **variables: object) -> object:
    return compile_expression(source).evaluate(variables)


# Compiling


def test_compile_keeps_the_source() -> None:
    expression = compile_expression("event.data.plan == 'pro'")
    assert expression.source == "event.data.plan == 'pro'"
    assert expression.variables == ("event",)


def test_compile_is_cached() -> None:
    assert compile_expression("event.data.a == 1") is compile_expression("event.data.a == 1")


@pytest.mark.parametrize("source", ["", "   ", "event.data.x = 1", "1 +", "'unterminated", "a.b.", "(((1)"])
def test_invalid_source_raises_an_error_naming_it(source: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert isinstance(caught.value, ValueError)
    assert caught.value.expression == source
    assert str(caught.value).startswith(f"invalid expression {source!r}: ")
    assert "Syntax error" in str(caught.value)


def test_error_message_shortens_a_long_source() -> None:
    source = "event.data.x == " + "1 + " * 200
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert repr(source[:200] + "…") in str(caught.value)


def test_problem() -> None:
    assert problem("event.data.a == 1 && async.data.b != 'x'") is None
    message = problem("event.data.a = 1")
    assert message is not None
    assert "'event.data.a = 1'" in message


def test_problem_checks_syntax_only() -> None:
    assert problem("no_such_function(event.data.a)") is None
    assert not matches("no_such_function(event.data.a)", event=event(a=1))


# Evaluating


def test_json_values() -> None:
    data = {"s": "x", "i": 3, "f": 1.5, "t": True, "n": None, "l": [1, "a", None], "m": {"k": [{"z": 1}]}}
    assert evaluate("event.data", event=event(**data)) == data
    assert matches(
        "event.data.s == 'x' && event.data.i == 3 && event.data.f == 1.5 && event.data.t && event.data.n == null"
        " && event.data.l[1] == 'a' && size(event.data.l) == 3 && event.data.m.k[0].z == 1 && 'a' in event.data.l",
        event=event(**data),
    )


def test_event_fields() -> None:
    assert matches("event.name == 'app/user.created' && event.ts > 0", event=event())
    assert matches("event.name.startsWith('app/') && event.data == {}", event=event())


@pytest.mark.parametrize("n", [1, 1.0])
@pytest.mark.parametrize(
    "source",
    ["event.data.n == 1", "event.data.n == 1.0", "event.data.n > 0", "event.data.n < 1.5", "event.data.n >= 1u"],
)
def test_ints_and_floats_compare_by_value(n: object, source: str) -> None:
    assert matches(source, event=event(n=n))


def test_fractional_floats_compare_with_ints() -> None:
    assert matches("event.data.n > 1 && event.data.n < 2 && event.data.n != 1", event=event(n=1.5))


def test_whole_floats_become_ints() -> None:
    assert evaluate("event.data.n + 1", event=event(n=2.0)) == 3
    assert evaluate("[10, 20, 30][event.data.i]", event=event(i=1.0)) == 20
    normalized = {"n": 2, "l": [1, 0.5], "m": {"k": 0}}
    assert evaluate("event.data", event=event(n=2.0, l=[1.0, 0.5], m={"k": -0.0})) == normalized
    assert type(evaluate("event.data.n", event=event(n=2.0))) is int


def test_floats_beyond_int64_stay_floats() -> None:
    assert evaluate("event.data.n", event=event(n=1e20)) == 1e20
    assert not matches("event.data.n == 1", event=event(n=float("nan")))


def test_arithmetic_does_not_mix_int_and_double() -> None:
    with pytest.raises(ExpressionError, match="No such overload"):
        evaluate("event.data.n + 0.5", event=event(n=1))
    assert evaluate("double(event.data.n) + 0.5", event=event(n=1)) == 1.5


def test_missing_key_is_no_match() -> None:
    assert not matches("event.data.x == 1", event=event())
    assert not matches("event.data.x != 1", event=event())
    assert not matches("event.data.x.y == 1", event=event(x={}))
    assert matches("!has(event.data.x)", event=event())
    assert matches("has(event.data.x) && event.data.x == 1", event=event(x=1))


def test_missing_key_raises_from_evaluate() -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate("event.data.x == 1", event=event())
    assert caught.value.expression == "event.data.x == 1"
    assert str(caught.value) == (
        "expression 'event.data.x == 1' failed: no such key 'x' (use has() to test whether a field is present)"
    )


def test_short_circuit_skips_a_missing_key() -> None:
    assert matches("has(event.data.x) == false || event.data.x == 1", event=event())
    assert matches("true || event.data.x == 1", event=event())


@pytest.mark.parametrize(
    ("source", "variables"),
    [
        ("event.data.s > 1", {"event": event(s="a")}),
        ("event.data.l[5]", {"event": event(l=[1])}),
        ("1 / event.data.n", {"event": event(n=0)}),
        ("nope == 1", {"event": event()}),
        ("event.data.a", {"event": {"data": {"a": object()}}}),
    ],
)
def test_evaluation_errors(source: str, variables: dict[str, object]) -> None:
    expression = compile_expression(source)
    with pytest.raises(ExpressionError, match=f"^{re.escape(f'expression {source!r} failed: ')}"):
        expression.evaluate(variables)
    assert not expression.matches(variables)


@pytest.mark.parametrize("source", ["1", "'true'", "null", "event.data", "[true]"])
def test_matches_needs_exactly_true(source: str) -> None:
    assert not matches(source, event=event())


def test_async_is_an_ordinary_identifier() -> None:
    source = "async.data.id == event.data.id && async.name == 'async' && 'async.data' != ''"
    expression = compile_expression(source)
    assert expression.variables == ("async", "event")
    candidate = {"name": "async", "data": {"id": 7}}
    assert expression.matches({"event": event(id=7), "async": candidate})
    assert not expression.matches({"event": event(id=8), "async": candidate})
    assert not expression.matches({"event": event(id=7)})


def test_macros() -> None:
    data = {"items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 0}]}
    assert matches("event.data.items.exists(i, i.sku == 'b')", event=event(**data))
    assert matches("event.data.items.filter(i, i.qty > 0).size() == 1", event=event(**data))
    assert evaluate("event.data.items.map(i, i.sku)", event=event(**data)) == ["a", "b"]


# Inngest's functions


def test_case_functions() -> None:
    assert matches("lowercase(event.data.s) == 'abc' && uppercase(event.data.s) == 'ABC'", event=event(s="aBc"))
    assert evaluate("lowercase(event.data.n)", event=event(n=1)) == ""
    assert evaluate("uppercase(event.data.n)", event=event(n=None)) == ""


def test_b64decode() -> None:
    encoded = base64.b64encode(b"hello").decode()
    assert matches("b64decode(event.data.s) == 'hello'", event=event(s=encoded))
    assert evaluate("b64decode(event.data.s)", event=event(s="not base64!")) == ""
    assert evaluate("b64decode(event.data.s)", event=event(s=5)) == ""


def test_json_parse() -> None:
    assert matches("json_parse(event.data.s).user.id == 'u1'", event=event(s='{"user": {"id": "u1"}}'))
    assert evaluate("json_parse(event.data.s)", event=event(s='{"n": 2.0, "l": [1.0]}')) == {"n": 2, "l": [1]}
    assert evaluate("json_parse(event.data.s)", event=event(s="[1, 2]")) == {}
    assert evaluate("json_parse(event.data.s)", event=event(s="{oops")) == {}
    assert evaluate("json_parse(event.data.s)", event=event(s=None)) == {}


def test_lenient_functions_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="cel"):
        assert not matches("b64decode(event.data.s) == 'x' || json_parse(event.data.s).a == 1", event=event(s="%"))
    assert caplog.records == []


def test_time_functions_are_not_defined() -> None:
    assert not matches("now() > timestamp('2020-01-01T00:00:00Z')", event=event())


# Bindings


def test_bindings_evaluate_many_expressions() -> None:
    bindings = Bindings({"async": {"name": "app/paid", "data": {"order": "o1"}}})
    waits = [compile_expression(f"async.data.order == 'o{i}'") for i in range(3)]
    assert [bindings.matches(wait) for wait in waits] == [False, True, False]
    assert bindings.evaluate(compile_expression("async.name")) == "app/paid"


def test_bindings_convert_only_referenced_variables() -> None:
    bindings = Bindings({"event": event(a=1), "vars": object()})
    assert bindings.matches(compile_expression("event.data.a == 1"))
    with pytest.raises(ExpressionError):
        bindings.evaluate(compile_expression("vars == 1"))


# Keys


def test_evaluate_key() -> None:
    sample = event(user="u1", n=42.0, m={"b": 1, "a": [True, None]}, f=0.5)
    assert evaluate_key("event.data.user", sample) == "u1"
    assert evaluate_key("event.data.n", sample) == "42"
    assert evaluate_key("event.data.f", sample) == "0.5"
    assert evaluate_key("event.data.m", sample) == '{"a":[true,null],"b":1}'
    assert evaluate_key("event.data.user + '-' + string(event.data.n)", sample) == "u1-42"
    assert evaluate_key("event.data.missing", sample) is None
    assert evaluate_key("event.data.", sample) is None


def test_evaluate_key_encodes_cel_values() -> None:
    assert evaluate_key("timestamp('2024-01-02T03:04:05Z')", event()) == '"2024-01-02T03:04:05+00:00"'
    assert evaluate_key("double(3)", event()) == "3"


def test_normalize_leaves_other_values() -> None:
    assert expressions.normalize(("a", 1.0, True)) == ["a", 1, True]
    assert expressions.normalize(2**70) == 2**70
