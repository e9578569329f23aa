"""`stepstone lint --app module:attr`: import the app and check each function's configuration with the engine's
own sync rules (triggers, cron, CEL expressions, flow-control bounds, retries), before deploying.

The functions are found among the module's globals (and in `attr` when it is a list of them), by shape:
Stepstone's `Function.configs(url)` and the official SDK's `Function.get_config(url)`. This module imports
the user's code and `stepstone.server`; `stepstone.lint` itself never does.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepstone.server.functions.registry import ConfigError, check_function, parse_functions, sync_warnings

URL = "http://127.0.0.1:3000/api/inngest"
DEV_FLAGS = ("STEPSTONE_DEV", "INNGEST_DEV")


class AppImportError(ValueError):
    """`module:attr` cannot be imported."""


@dataclass(frozen=True)
class LoadedApp:
    spec: str
    file: Path | None
    configs: list[dict[str, Any]]


def load_app(spec: str) -> LoadedApp:
    """Import `module:attr` (the current folder first on the path) and read its functions' configurations."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise AppImportError(f"--app {spec}: expected module:attr (for example examples.app:app)")
    sys.path.insert(0, os.getcwd())
    # Nothing is served: dev mode lets an app that would need a signing key in production import without one.
    added = [name for name in DEV_FLAGS if name not in os.environ]
    os.environ.update(dict.fromkeys(added, "1"))
    try:
        module = importlib.import_module(module_name)
        target = getattr(module, attr)
    except Exception as error:  # the user's import can raise anything: report it as a usage error
        raise AppImportError(f"--app {spec}: cannot import: {type(error).__name__}: {error}") from error
    finally:
        sys.path.remove(os.getcwd())
        for name in added:
            os.environ.pop(name, None)
    candidates = [*vars(module).values(), *(target if isinstance(target, list | tuple) else [])]
    configs: list[dict[str, Any]] = []
    seen: set[int] = set()
    for candidate in candidates:
        if id(candidate) not in seen:
            seen.add(id(candidate))
            configs.extend(function_configs(candidate))
    file = getattr(module, "__file__", None)
    return LoadedApp(spec, Path(file) if file else None, configs)


def function_configs(candidate: object) -> list[dict[str, Any]]:
    """The wire configurations of a function object of either SDK (nothing for any other object)."""
    configs = getattr(candidate, "configs", None)
    if callable(configs) and type(candidate).__name__ == "Function":
        return [config.dump() for config in configs(URL)]
    get_config = getattr(candidate, "get_config", None)
    if callable(get_config) and type(candidate).__name__ == "Function":
        found = get_config(URL)
        dicts = [part.to_dict() for part in (found.main, found.on_failure) if part is not None]
        return [item for item in dicts if isinstance(item, dict)]
    return []


def config_problems(app: LoadedApp) -> list[str]:
    """What a sync would refuse (or adjust), one message per function and field."""
    try:
        parsed = parse_functions(app.configs)
    except ConfigError as error:
        return list(error.problems)
    problems = [problem for config in parsed for problem in check_function(config)]
    return problems + list(sync_warnings(parsed))
