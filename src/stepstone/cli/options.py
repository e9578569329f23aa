"""Shared CLI options: every flag also reads `STEPSTONE_<FLAG>`, then `INNGEST_<FLAG>`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def env_names(flag: str) -> list[str]:
    name = flag.upper().replace("-", "_")
    return [f"STEPSTONE_{name}", f"INNGEST_{name}"]


def split_commas(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeatable flags read from the environment as comma-separated lists."""
    parts = [part.strip() for value in values for part in value.split(",")]
    return tuple(part for part in parts if part)


LOG_FORMAT = "stepstone.log_format"


def remember_log_format(context: click.Context, _: click.Parameter, value: str) -> str:
    """Keep `--log-format` in the context's `meta` (for `main._configure_logging`), not as an argument."""
    context.meta[LOG_FORMAT] = value
    return value


def option(flag: str, *names: str, **kwargs: Any) -> Callable[[F], F]:
    kwargs.setdefault("show_envvar", True)
    kwargs.setdefault("show_default", True)
    return click.option(f"--{flag}", *names, envvar=env_names(flag), **kwargs)


def common(func: F) -> F:
    """Options of both `dev` and `start`."""
    decorators = [
        option("host", default="127.0.0.1", help="Interface to listen on."),
        option(
            "port", "-p", default=8288, type=click.IntRange(1, 65535), help="Port for every API (events, SDKs, REST)."
        ),
        option(
            "sdk-url",
            "-u",
            "sdk_urls",
            multiple=True,
            callback=split_commas,
            help="An app's serve URL (e.g. http://127.0.0.1:8000/api/inngest) to sync at start-up and again "
            "whenever it comes back. Repeatable; the environment variable takes a comma-separated list.",
        ),
        option(
            "retry-interval",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            help="Retry failed attempts after this many seconds instead of Inngest's backoff "
            "(15 s, 30 s, 1 m, … + jitter).",
        ),
        option(
            "poll-interval", type=click.FloatRange(min=0.1), default=5.0, help="Seconds between syncs of the -u apps."
        ),
        option("workers", type=click.IntRange(1), default=64, help="App calls in flight per engine process."),
        option("app-concurrency", type=click.IntRange(1), default=32, help="App calls in flight per app."),
        option(
            "lease-seconds",
            type=click.FloatRange(min=1),
            default=30.0,
            help="How long a claimed queue item stays claimed without a heartbeat; a dead engine's work "
            "is picked up again after this.",
        ),
        option(
            "retention-days",
            type=click.FloatRange(min=0),
            default=30.0,
            help="Delete runs that ended, their steps, and events, older than this many days (0 keeps them "
            "forever). A background sweep, in small batches.",
        ),
        option(
            "no-dashboard",
            is_flag=True,
            default=False,
            help="Do not serve the browser dashboard at / (the REST API stays).",
        ),
        option(
            "no-metrics",
            is_flag=True,
            default=False,
            help="Do not serve Prometheus metrics at /metrics.",
        ),
        option(
            "metrics-public",
            is_flag=True,
            default=False,
            help="start: serve /metrics without the API's Bearer key (dev serves them to anyone).",
        ),
        option(
            "trace-url",
            default=None,
            help="A trace viewer's URL with {trace_id} in it (e.g. http://jaeger:16686/trace/{trace_id}): the "
            "dashboard links each run to its trace there.",
        ),
        option(
            "search-limit",
            type=click.IntRange(1),
            default=5_000,
            help="Runs a search by expression (`GET /v1/runs?if=`, the dashboard's filter) scans at most, "
            "newest first, before it answers with what it found and where it stopped.",
        ),
        option(
            "nondeterminism",
            type=click.Choice(["warn", "fail"]),
            default="warn",
            help="When a run's code departs from its stored steps (a step not reached, of another kind, out of "
            "order): record a warning on the run, or fail it with NonDeterminismError. For functions that do not "
            "say (apps of the official SDKs always).",
        ),
        option(
            "log-level",
            type=click.Choice(["debug", "info", "warning", "error"]),
            default="info",
            help="Log level (access logs are at info).",
        ),
        option(
            "log-format",
            type=click.Choice(["text", "json"]),
            default="text",
            expose_value=False,
            callback=remember_log_format,
            help="Log lines for people (text), or one JSON object a line for log systems (json).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func
