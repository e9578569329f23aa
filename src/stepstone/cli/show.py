"""How the CLI shows the API's answers: tables of runs, events, functions and apps, and run and event trees.

Every text from the engine goes in as plain `Text` (never rich markup), so a `[red]` in an event's data
is shown as written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

STYLES = {"Completed": "green", "Failed": "red", "Cancelled": "yellow", "Running": "cyan", "Skipped": "magenta"}


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def when(stamp: str | None) -> str:
    """An API time in local time: the clock time today, the date and time otherwise."""
    if not stamp:
        return ""
    moment = parse_time(stamp).astimezone()
    today = datetime.now(UTC).astimezone().date()
    return moment.strftime("%H:%M:%S" if moment.date() == today else "%Y-%m-%d %H:%M:%S")


def took(start: str | None, end: str | None) -> str:
    if not start or not end:
        return ""
    seconds = (parse_time(end) - parse_time(start)).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m {secs}s"


def preview(value: Any, limit: int = 100) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def problem(error: Any) -> str:
    """`Name: message` of an error as the API shows it (a step's, an attempt's, a failed run's output)."""
    if isinstance(error, dict):
        name = error.get("name") or "Error"
        message = error.get("message") or error.get("error") or ""
        return f"{name}: {message}" if message else str(name)
    return str(error)


def status(value: str) -> Text:
    return Text(value, style=STYLES.get(value, "dim" if value == "Queued" else ""))


def table(*columns: str) -> Table:
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in columns:
        grid.add_column(name, no_wrap=name in ("RUN ID", "ID", "FUNCTION", "STATUS", "NAME"), overflow="fold")
    return grid


def add_row(grid: Table, *cells: str | Text) -> None:
    """Add a row of plain text: what the engine sends is never read as rich markup (`[red]` in an event's data)."""
    grid.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in cells))


def empty(what: str) -> Text:
    return Text(f"no {what}", style="dim")


# renderers
def runs_table(runs: list[dict[str, Any]]) -> RenderableType:
    if not runs:
        return empty("runs")
    grid = table("RUN ID", "FUNCTION", "STATUS", "CREATED", "TOOK", "NOTE")
    for run in runs:
        note = run.get("reason") or ""
        add_row(
            grid,
            run["run_id"],
            run["function_id"],
            status(run["status"]),
            when(run.get("created_at")),
            took(run.get("started_at"), run.get("ended_at")),
            note,
        )
    return grid


def change_line(run: dict[str, Any]) -> RenderableType:
    parts: list[str | tuple[str, str] | Text] = [
        (when(run.get("ended_at") or run.get("started_at") or run.get("created_at")), "dim"),
        "  ",
        run["run_id"],
        "  ",
        run["function_id"],
        "  ",
        status(run["status"]),
    ]
    if run.get("reason"):
        parts += ["  ", (str(run["reason"]), "dim")]
    return Text.assemble(*parts)


# What a run refers to, shown when present: why it ended, its original run, its parent, its trace (for a viewer)
_REFERENCES = (
    ("reason", "reason"),
    ("rerun of", "original_run_id"),
    ("invoked by run", "parent_run_id"),
    ("trace", "trace_id"),
)


def run_tree(run: dict[str, Any]) -> RenderableType:
    root = Tree(Text.assemble(("run ", "bold"), (run["run_id"], "bold"), "  ", status(run["status"])))
    root.add(Text(f"function  {run['function_id']} (version {run.get('function_version')})"))
    events = run.get("events") or []
    if events:
        first = events[0]
        more = f" (+{len(events) - 1} more)" if len(events) > 1 else ""
        root.add(Text(f"event     {first.get('name')} {first.get('id')}{more}  data {preview(first.get('data'))}"))
    times = f"created {when(run.get('created_at'))}"
    if run.get("started_at"):
        times += f" · started {when(run['started_at'])}"
    if run.get("ended_at"):
        times += f" · ended {when(run['ended_at'])} (took {took(run.get('started_at'), run['ended_at'])})"
    root.add(Text(times))
    for label, key in _REFERENCES:
        if run.get(key):
            root.add(Text(f"{label}  {run[key]}"))
    _steps(root, run.get("steps") or [])
    _attempts(root, run.get("attempts") or [])
    _warnings(root, run.get("warnings") or [])
    if run.get("output") is not None:
        label = "error" if run["status"] == "Failed" else "output"
        root.add(Text(f"{label}  {problem(run['output']) if label == 'error' else preview(run['output'], 400)}"))
    return root


def _steps(root: Tree, steps: list[dict[str, Any]]) -> None:
    node = root.add(Text(f"steps ({len(steps)})", style="bold"))
    for step in steps:
        line = Text.assemble(step["id"], "  ", status(step["status"]))
        if step.get("op") not in (None, "StepRun"):
            line.append(f"  {step['op']}", style="dim")
        if step.get("ended_at"):
            line.append(f"  {took(step.get('started_at'), step['ended_at'])}", style="dim")
        branch = node.add(line)
        if isinstance(step.get("waits_for"), dict) and not step.get("ended_at"):
            until = f" until {when(step['deadline'])}" if step.get("deadline") else ""
            branch.add(Text(f"waits for {waits_for(step['waits_for'])}{until}", style="dim"))
        if step.get("error"):
            branch.add(Text(problem(step["error"]), style="red"))
        elif step.get("output") is not None:
            branch.add(Text(preview(step["output"])))


def waits_for(wait: dict[str, Any]) -> str:
    """What a wait or invoke step waits for, as the API's `waits_for` says: an event, a signal, a run."""
    if "signal" in wait:
        return f"signal {wait['signal']}"
    if "function" in wait:
        return f"a run of {wait['function']}"
    condition = f" if {wait['if']}" if wait.get("if") else ""
    return f"event {wait.get('event')}{condition}"


def _warnings(root: Tree, warnings: list[dict[str, Any]]) -> None:
    """What the engine found wrong with the run's path (non-determinism, docs/nondeterminism.md), in full."""
    if not warnings:
        return
    node = root.add(Text(f"warnings ({len(warnings)})", style="bold yellow"))
    for warning in warnings:
        steps = ", ".join(str(step) for step in warning.get("step_ids") or [])
        branch = node.add(Text(f"{warning.get('code')}  steps {steps or '-'}  at {when(warning.get('at'))}"))
        branch.add(Text(str(warning.get("message", ""))))


def _attempts(root: Tree, attempts: list[dict[str, Any]]) -> None:
    if not attempts:
        return
    node = root.add(Text(f"failed attempts ({len(attempts)})", style="bold"))
    for attempt in attempts:
        line = f"{attempt.get('step_id') or '(the function)'}  attempt {int(attempt.get('attempt', 0)) + 1}"
        line += f"  at {when(attempt.get('at'))}: {problem(attempt.get('error'))}"
        if attempt.get("next_attempt_at"):
            line += f"  (next attempt {when(attempt['next_attempt_at'])})"
        node.add(Text(line))


def events_table(events: list[dict[str, Any]]) -> RenderableType:
    if not events:
        return empty("events")
    grid = table("ID", "NAME", "RECEIVED", "DATA")
    for event in events:
        add_row(
            grid, event["internal_id"], event["name"], when(event.get("received_at")), preview(event.get("data"), 60)
        )
    return grid


def event_tree(event: dict[str, Any]) -> RenderableType:
    root = Tree(Text.assemble(("event ", "bold"), (event["internal_id"], "bold"), "  ", event["name"]))
    root.add(Text(f"received {when(event.get('received_at'))} from {event.get('source')}"))
    if event.get("id") and event["id"] != event["internal_id"]:
        root.add(Text(f"id       {event['id']}"))
    root.add(Text(f"data     {preview(event.get('data'), 400)}"))
    runs = root.add(Text(f"runs ({len(event.get('runs', []))})", style="bold"))
    for run in event.get("runs", []):
        runs.add(Text.assemble(run["run_id"], "  ", run["function_id"], "  ", status(run["status"])))
    for key in ("skipped", "waiting"):
        for entry in event.get(key, []):
            runs.add(Text(f"{key}: {entry['function_id']}: {entry['reason']}", style="dim"))
    return root


def functions_table(functions: list[dict[str, Any]]) -> RenderableType:
    if not functions:
        return empty("functions")
    grid = table("ID", "APP", "TRIGGERS", "NAME")
    for fn in functions:
        triggers = ", ".join(
            f"cron {t['cron']}" if "cron" in t else str(t.get("event", "")) for t in fn.get("triggers") or []
        )
        add_row(grid, fn["id"], fn.get("app") or "", triggers, fn.get("name") or "")
    return grid


def apps_table(apps: list[dict[str, Any]]) -> RenderableType:
    if not apps:
        return empty("apps")
    grid = table("NAME", "URL", "SDK", "FUNCTIONS", "SYNCED", "ERROR")
    for app in apps:
        functions = str(len(app.get("functions", [])))
        error = Text(app.get("error") or "", style="red")
        add_row(grid, app["name"], app["url"], app.get("sdk") or "", functions, when(app.get("synced_at")), error)
    return grid


# commands
