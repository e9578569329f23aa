"""One error tree for the engine: every exception class of `stepstone.server` derives from `EngineError`
(the API's `APIError` aside), and the tree drawn in `core/errors.py` lists each with its module."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import stepstone.server
from stepstone.server.core import errors

OUTSIDE = {"stepstone.server.api.errors.APIError"}  # an answer, mapped from engine errors: not one of them


def server_exceptions() -> list[type[BaseException]]:
    found = []
    for module_info in pkgutil.walk_packages(stepstone.server.__path__, "stepstone.server."):
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_every_engine_exception_is_an_engine_error() -> None:
    found = server_exceptions()
    assert len(found) >= 14
    strays = [
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in found
        if not issubclass(kind, errors.EngineError) and f"{kind.__module__}.{kind.__qualname__}" not in OUTSIDE
    ]
    assert strays == []


def test_the_tree_lists_every_engine_error_with_its_module() -> None:
    lines = (errors.__doc__ or "").splitlines()
    missing = []
    for kind in server_exceptions():
        if not issubclass(kind, errors.EngineError):
            continue
        where = kind.__module__.removeprefix("stepstone.server.").replace(".", "/") + ".py"
        if not any(f" {kind.__name__} " in f"{line} " and where in line for line in lines):
            missing.append(f"{kind.__name__} ({where})")
    assert missing == []
