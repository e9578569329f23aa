"""`--log-format`: text for people, one JSON object a line for log systems."""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any

import click
import orjson
import pytest
from click.testing import CliRunner

from stepstone.cli import logs, main
from stepstone.cli.options import common

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def record(message: str, *args: Any, level: int = logging.INFO, exc: bool = False, **extra: Any) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            exc_info = sys.exc_info()
    made = logging.LogRecord("stepstone.runs", level, __file__, 1, message, args, exc_info)
    made.__dict__.update(extra)
    return made


def test_a_json_line_has_the_standard_keys_and_the_fields_that_apply() -> None:
    line = logs.JsonFormatter().format(
        record(
            "%s: run %s started",
            "shop-charge",
            "01RUN",
            action="run.started",
            run_id="01RUN",
            function_id="shop-charge",
            app_id="shop",
            event_id="01EVENT",
            step_id=None,  # does not apply: left out
            attempt=2,
            status="Running",
            error="",
            color_message="uvicorn's extra, not ours",
            signing_key="never copied",
        )
    )
    parsed = orjson.loads(line)
    assert "\n" not in line
    assert RFC3339_MS.match(parsed.pop("ts"))
    assert parsed == {
        "level": "info",
        "logger": "stepstone.runs",
        "msg": "shop-charge: run 01RUN started",
        "action": "run.started",
        "run_id": "01RUN",
        "function_id": "shop-charge",
        "app_id": "shop",
        "event_id": "01EVENT",
        "attempt": 2,
        "status": "Running",
    }


def test_an_http_status_is_written_as_a_string_like_a_run_status() -> None:
    access = record("POST /e/<redacted> 200 1.0ms", method="POST", path="/e/<redacted>", status=200, duration_ms=1.0)
    parsed = orjson.loads(logs.JsonFormatter().format(access))
    assert parsed["status"] == "200" and parsed["duration_ms"] == 1.0 and parsed["path"] == "/e/<redacted>"


def test_a_traceback_goes_in_exc_on_the_same_line() -> None:
    line = logs.JsonFormatter().format(record("unexpected error", level=logging.ERROR, exc=True))
    parsed = orjson.loads(line)
    assert parsed["level"] == "error" and "ZeroDivisionError" in parsed["exc"] and "Traceback" in parsed["exc"]
    assert line.count("\n") == 0


@pytest.fixture
def root_logging() -> Iterator[None]:
    """`logs.configure` replaces the root handlers and resets uvicorn's loggers: put them back afterwards."""
    loggers = [logging.getLogger(name) for name in ("", *logs.UVICORN_LOGGERS)]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_logger_follows_the_format_uvicorns_included(
    log_format: str, root_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # as an earlier uvicorn.Config may leave it
    logs.configure("info", log_format)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("stepstone.runs").debug("below the level")
    [line] = stderr.getvalue().splitlines()
    if log_format == "json":
        assert orjson.loads(line)["logger"] == "uvicorn.error"
        assert orjson.loads(line)["msg"] == "Started server process [42]"
    else:
        assert line.endswith(" INFO    uvicorn.error: Started server process [42]")


def test_the_commands_option_reaches_the_logging_setup(root_logging: None) -> None:
    @click.command()
    @common
    def command(**_: Any) -> None:
        main._configure_logging("warning")
        [handler] = logging.getLogger().handlers
        click.echo(type(handler.formatter).__name__)

    runner = CliRunner()
    assert runner.invoke(command, ["--log-format", "json"]).output.strip() == "JsonFormatter"
    assert runner.invoke(command, []).output.strip() == "Formatter"
    assert runner.invoke(command, [], env={"STEPSTONE_LOG_FORMAT": "json"}).output.strip() == "JsonFormatter"
    assert runner.invoke(command, ["--log-format", "xml"]).exit_code == 2
