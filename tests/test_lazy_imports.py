"""The engine never needs the SDK: importing it (or the API, or the CLI) loads no `stepstone.sdk` module.

`stepstone/__init__.py` loads its public names on first use; each check runs in a fresh interpreter,
since this test session imported the SDK long ago.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SDK_MODULES = "print([m for m in sys.modules if m.startswith('stepstone.sdk')])"


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize("module", ["stepstone.server.engine", "stepstone.server.api.app", "stepstone.cli.main"])
def test_importing_the_engine_loads_no_sdk_module(module: str) -> None:
    assert run_python(f"import {module}, sys; {SDK_MODULES}") == "[]"


def test_the_public_names_load_on_first_use() -> None:
    code = (
        "import sys, stepstone; before = 'stepstone.sdk.client' in sys.modules; "
        "from stepstone import Stepstone, TriggerEvent; "
        "print(before, Stepstone.__module__, TriggerEvent.__module__, 'Stepstone' in dir(stepstone))"
    )
    assert run_python(code) == "False stepstone.sdk.client stepstone.sdk.options True"


def test_an_unknown_name_is_an_attribute_error() -> None:
    import stepstone

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        stepstone.Nope  # type: ignore[attr-defined]  # noqa: B018


# An engine built and its app made, then the OpenTelemetry SDK and exporter modules loaded, as a count. (Its
# API alone is no cost of ours: FastAPI imports it whenever it is installed, `fastapi.telemetry`.)
ENGINE_OTEL_MODULES = (
    "import sys, tempfile, pathlib; "
    "from stepstone.server.api.app import create_app; "
    "from stepstone.server.core.settings import EngineSettings; "
    "from stepstone.server.engine import Engine; "
    "from stepstone.server.store.sqlite.store import SqliteStore; "
    "engine = Engine(SqliteStore(pathlib.Path(tempfile.mkdtemp()) / 'db'), EngineSettings()); "
    "create_app(engine); "
    "print(len([m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter'))]))"
)


def test_an_engine_without_otel_variables_loads_no_opentelemetry_sdk() -> None:
    environ = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", ENGINE_OTEL_MODULES], capture_output=True, text=True, timeout=60, check=True, env=environ
    )
    assert done.stdout.strip() == "0"
    configured = {**environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}  # the same code does load it
    done = subprocess.run(
        [sys.executable, "-c", ENGINE_OTEL_MODULES],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=configured,
    )
    assert int(done.stdout.strip()) > 0
