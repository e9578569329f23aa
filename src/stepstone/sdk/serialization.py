"""Step outputs and function results to JSON and back, through pydantic.

Writing accepts any JSON value and anything pydantic can dump (models, dataclasses, datetimes).
Reading gives plain JSON unless a type is known (`output_type=`, or the callable's return
annotation); then the memo is validated into that type, so a model comes back as that model.
"""

from __future__ import annotations

import functools
import typing
import weakref
from collections.abc import Callable
from typing import Any, Protocol, cast

import pydantic
import pydantic_core

from stepstone.sdk import errors


class Serializer(Protocol):
    """Turns values into JSON values and back. `typ` is None when no type is known."""

    def serialize(self, obj: object, typ: object | None) -> object: ...

    def deserialize(self, obj: object, typ: object | None) -> object: ...


class PydanticSerializer:
    """The default serializer: `TypeAdapter(typ).dump_python(obj, mode="json")` and `validate_python`."""

    def serialize(self, obj: object, typ: object | None) -> object:
        return _adapter(Any if typ is None else typ).dump_python(obj, mode="json")

    def deserialize(self, obj: object, typ: object | None) -> object:
        if typ is None or typ is Any or typ is object:
            return obj
        return _adapter(typ).validate_python(obj)


@functools.lru_cache(maxsize=512)
def _cached_adapter(typ: object) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(cast(Any, typ))


def _adapter(typ: object) -> pydantic.TypeAdapter[Any]:
    try:
        return _cached_adapter(typ)
    except TypeError:  # unhashable type objects (e.g. Annotated with dict metadata)
        return pydantic.TypeAdapter(cast(Any, typ))


def to_json(serializer: Serializer, obj: object, typ: object | None, what: str) -> object:
    """Serialize `obj`, or raise `OutputUnserializableError` naming `what` (e.g. `step "a"`).

    Raises:
        OutputUnserializableError: the value cannot be written as JSON.
    """
    try:
        return serializer.serialize(obj, typ)
    except (
        pydantic_core.PydanticSerializationError,
        pydantic.PydanticSchemaGenerationError,
        TypeError,
        ValueError,
    ) as err:
        raise errors.OutputUnserializableError(
            f"{what} returned {type(obj).__name__}, which cannot be written as JSON: return a JSON value "
            f"or a pydantic model ({err})"
        ) from None


def return_type(fn: Callable[..., object]) -> object | None:
    """The return annotation of `fn`, when it has one that pydantic can use; else None.

    Cached per code object: a step callback is often a closure made anew on every call, and
    resolving annotations costs more than running a small step.
    """
    code = getattr(fn, "__code__", None)
    if code is None:
        return _return_type(fn)
    if code not in _RETURN_TYPES:
        _RETURN_TYPES[code] = _return_type(fn)
    return _RETURN_TYPES[code]


_RETURN_TYPES: weakref.WeakKeyDictionary[object, object | None] = weakref.WeakKeyDictionary()


def _return_type(fn: Callable[..., object]) -> object | None:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # lambdas, partials, unresolvable forward references: no type known
        return None
    hint: object = hints.get("return")
    if hint is None or hint is Any:
        return None
    try:
        _adapter(hint)
    except pydantic.PydanticSchemaGenerationError:
        return None
    return hint
