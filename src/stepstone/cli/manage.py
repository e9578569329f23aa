"""Manage a running engine over its REST API: `send`, `invoke`, `runs`, `events`, `functions`, `apps`.

Each command makes a request or two (`cli/remote.py`) and shows the answer: readable tables and trees
(rich; without colour when stdout is not a terminal), or the API's `data` as JSON with `--json`.
Errors are one line on stderr, `error: ...`. Exit codes: 0 done (showing a Failed run is done), 1 the
engine refused or could not be reached, 2 usage (click's own usage errors included).

`cli/show.py` renders the answers.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from rich.console import Console, RenderableType
from rich.text import Text

from stepstone.cli import show
from stepstone.cli.options import option
from stepstone.cli.remote import DEFAULT_URL, Remote, RemoteError
from stepstone.protocol import signing

F = TypeVar("F", bound=Callable[..., Any])
STATUSES = ("Queued", "Running", "Completed", "Failed", "Cancelled", "Skipped")


class Out:
    """Where a command's answer goes: JSON for scripts, or rich renderables for people."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console(highlight=False, soft_wrap=True)
        if not self.console.is_terminal and "COLUMNS" not in os.environ:
            self.console = Console(highlight=False, soft_wrap=True, width=240)  # tables keep ids whole

    def show(self, data: Any, render: Callable[[Any], RenderableType]) -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            self.console.print(render(data))

    def line(self, data: Any, render: Callable[[Any], RenderableType]) -> None:
        """One line per item (`runs tail`): compact JSON, or the readable line."""
        if self.as_json:
            click.echo(json.dumps(data, ensure_ascii=False))
        else:
            self.console.print(render(data), overflow="ignore", crop=False)
        sys.stdout.flush()


def _check_url(_: click.Context, __: click.Parameter, value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL with a host")
    return value


def _check_signing_key(_: click.Context, __: click.Parameter, value: str | None) -> str | None:
    if value is not None and (problem := signing.signing_key_problem(value)):
        raise click.BadParameter(problem)
    return value


def _json_object(_: click.Context, __: click.Parameter, value: str | None) -> dict[str, Any]:
    if value is None:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError as err:
        raise click.BadParameter(f"not valid JSON: {err}") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter('must be a JSON object, e.g. \'{"order_id": "A-1"}\'')
    return parsed


_CONNECTION = (
    click.option(
        "--url",
        envvar="STEPSTONE_URL",
        show_envvar=True,
        default=DEFAULT_URL,
        show_default=True,
        callback=_check_url,
        help="The engine's address.",
    ),
    option(
        "signing-key",
        default=None,
        show_default=False,
        callback=_check_signing_key,
        help="The engine's signing key, for engines run with `stepstone start` (sent hashed, as the SDKs do).",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON (for scripts)."),
)


def connected(func: F) -> F:
    """Give a command the connection options, a `Remote` and an `Out`; a `RemoteError` exits 1 in one line."""

    @functools.wraps(func)
    def command(url: str, signing_key: str | None, as_json: bool, **kwargs: Any) -> None:
        try:
            with Remote(url, signing_key=signing_key) as remote:
                func(remote, Out(as_json), **kwargs)
        except RemoteError as err:
            click.echo(f"error: {err}", err=True)
            raise click.exceptions.Exit(1) from None

    for decorator in reversed(_CONNECTION):
        command = decorator(command)
    return command  # type: ignore[return-value]


def _json_value(_: click.Context, __: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError as err:
        raise click.BadParameter(f"not valid JSON: {err}") from None


_DATA = click.option(
    "--data", "-d", default=None, callback=_json_object, help="The event's data, a JSON object (default {})."
)


# time and value formatting


@click.command()
@click.argument("name")
@_DATA
@click.option("--id", "event_id", default=None, help="Your event id: a second event with it within 24 h starts no run.")
@option("event-key", default=None, help="The key events are sent with (dev mode accepts any).")
@connected
def send(
    remote: Remote, out: Out, name: str, data: dict[str, Any], event_id: str | None, event_key: str | None
) -> None:
    """Send the event NAME (e.g. shop/order.placed) and show the runs it started."""
    event: dict[str, Any] = {"name": name, "data": data, **({"id": event_id} if event_id else {})}
    try:
        ids = remote.send_event(event, event_key or "dev")
    except RemoteError as err:
        if err.status == 401 and not event_key:
            raise RemoteError(f"{err} (pass --event-key or set STEPSTONE_EVENT_KEY)", err.status) from None
        raise
    if out.as_json:
        out.show({"ids": ids}, str)
        return
    for internal_id in ids:
        started = remote.event_runs(internal_id)
        out.console.print(Text(f"sent {name}: event {internal_id}"))
        for run in started["data"]:
            out.console.print(Text.assemble("  started run ", run["run_id"], f" of {run['function_id']}"))
        for key in ("skipped", "waiting"):
            for entry in started.get(key, []):
                out.console.print(Text(f"  {key}: {entry['function_id']}: {entry['reason']}", style="dim"))


@click.command()
@click.argument("name")
@click.option("--data", "-d", default=None, callback=_json_value, help="The signal's data, any JSON (default null).")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="While no run waits for the signal, try again for up to this many seconds (a script racing the run).",
)
@connected
def signal(remote: Remote, out: Out, name: str, data: Any, wait_seconds: float) -> None:
    """Send the signal NAME to the run waiting for it (`step.wait_for_signal`), with DATA; exit 1 when no run
    waits for it (a signal is not kept for a later wait)."""
    deadline = time.monotonic() + wait_seconds
    run_id = remote.send_signal(name, data)
    while run_id is None and time.monotonic() < deadline:
        time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        run_id = remote.send_signal(name, data)
    if run_id is None:
        tried = f" (tried for {wait_seconds:g} s)" if wait_seconds else ""
        raise RemoteError(f"no run waits for signal {name!r}{tried}", 404)
    if out.as_json:
        out.show({"run_id": run_id}, str)
    else:
        out.console.print(Text.assemble(f"signal {name} resumed run ", run_id))


@click.command()
@click.argument("function_id")
@_DATA
@connected
def invoke(remote: Remote, out: Out, function_id: str, data: dict[str, Any]) -> None:
    """Start a run of FUNCTION_ID (as registered, e.g. example-process-order) with DATA as its event data."""
    answer = remote.invoke(function_id, data)
    run = answer.get("data")
    if out.as_json:
        out.show(run if run is not None else {k: v for k, v in answer.items() if k != "status"}, str)
    elif run is not None:
        out.console.print(
            Text.assemble("started run ", run["run_id"], f" of {run['function_id']} (", show.status(run["status"]), ")")
        )
    else:
        out.console.print(Text(f"no run started (event {answer.get('event_id')})"))
        for key in ("skipped", "waiting"):
            for entry in answer.get(key, []):
                out.console.print(Text(f"  {key}: {entry['function_id']}: {entry['reason']}"))


@click.group()
def runs() -> None:
    """List, show, cancel, rerun and follow runs."""


@runs.command("list")
@click.option("--status", type=click.Choice(STATUSES, case_sensitive=False), help="Only runs with this status.")
@click.option("--function", "function_id", help="Only runs of this function (its id, e.g. example-process-order).")
@click.option(
    "--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="How many runs, newest first."
)
@connected
def list_runs(remote: Remote, out: Out, status: str | None, function_id: str | None, limit: int) -> None:
    """The latest runs, newest first."""
    chosen = next((s for s in STATUSES if status and s.lower() == status.lower()), None)
    out.show(remote.list_runs(status=chosen, function_id=function_id, limit=limit), show.runs_table)


@runs.command("show")
@click.argument("run_id")
@connected
def show_run(remote: Remote, out: Out, run_id: str) -> None:
    """A run: its event, steps (with outputs and errors), failed attempts and output."""
    out.show(remote.get_run(run_id), show.run_tree)


@runs.command("cancel")
@click.argument("run_id")
@connected
def cancel_run(remote: Remote, out: Out, run_id: str) -> None:
    """Cancel a run that has not ended."""
    out.show(remote.cancel_run(run_id), lambda run: Text(f"cancelled run {run['run_id']} of {run['function_id']}"))


@runs.command("rerun")
@click.argument("run_id")
@connected
def rerun(remote: Remote, out: Out, run_id: str) -> None:
    """Start a new run of the same function with the same events."""
    out.show(
        remote.rerun(run_id),
        lambda run: Text.assemble("started run ", run["run_id"], f" of {run['function_id']}, a rerun of {run_id}"),
    )


@runs.command("tail")
@click.option("--last", type=click.IntRange(0, 500), default=10, show_default=True, help="Changes to show first.")
@click.option(
    "--interval", type=click.FloatRange(0.1, 60), default=1.0, show_default=True, help="Seconds between polls."
)
@connected
def tail(remote: Remote, out: Out, last: int, interval: float) -> None:
    """Follow runs as they start and change (one line per change) until Ctrl+C."""
    try:
        recent: deque[dict[str, Any]] = deque(maxlen=last)
        page, cursor = remote.run_changes("", limit=500)
        while page:  # catch up with the feed, keeping the last few changes
            recent.extend(page)
            page, cursor = remote.run_changes(cursor, limit=500)
        for run in recent:
            out.line(run, show.change_line)
        while True:
            time.sleep(interval)
            changes, cursor = remote.run_changes(cursor)
            for run in changes:
                out.line(run, show.change_line)
    except KeyboardInterrupt:
        return


@click.group()
def events() -> None:
    """List and show events."""


@events.command("list")
@click.option("--name", help="Only events with this name.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="How many, newest first.")
@connected
def list_events(remote: Remote, out: Out, name: str | None, limit: int) -> None:
    """The latest events, newest first."""
    out.show(remote.list_events(name=name, limit=limit), show.events_table)


@events.command("show")
@click.argument("event_id")
@connected
def show_event(remote: Remote, out: Out, event_id: str) -> None:
    """An event (by the id `send` printed), the runs it started, and the functions that skipped or hold it."""
    event = remote.get_event(event_id)
    started = remote.event_runs(event_id)
    view = {**event, "runs": started["data"], "skipped": started["skipped"], "waiting": started["waiting"]}
    out.show(view, show.event_tree)


@click.group()
def functions() -> None:
    """List registered functions."""


@functions.command("list")
@connected
def list_functions(remote: Remote, out: Out) -> None:
    """The functions apps registered."""
    out.show(remote.list_functions(), show.functions_table)


@click.group()
def apps() -> None:
    """List and sync apps."""


@apps.command("list")
@connected
def list_apps(remote: Remote, out: Out) -> None:
    """The apps synced with the engine."""
    out.show(remote.list_apps(), show.apps_table)


@apps.command("sync")
@click.argument("app_url")
@connected
def sync_app(remote: Remote, out: Out, app_url: str) -> None:
    """Add or re-sync the app served at APP_URL (e.g. http://127.0.0.1:8000/api/inngest)."""
    out.show(
        remote.sync_app(app_url),
        lambda app: Text(f"synced app {app['name']} from {app['url']}: {len(app['functions'])} functions"),
    )
