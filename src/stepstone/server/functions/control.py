"""Operators' switches on functions and apps: pause and resume a function, remove an app.

Each is a transaction script over `Tx` and "now". A pause is stored on the function row (a sync keeps
it) and takes effect in three places: events, cron ticks and invokes record a "function paused" skip
instead of starting a run (`intake.ingest`, `intake.crons`); the function's waiting calls are held here,
out of every claim's reach with their due time kept; and a call enqueued or claimed while it is paused
is held too (`queue.queueing`). Resuming gives the held calls their due time back.

The engine process that pauses sees it at once; another sees it at its next catalog read (its next
claim, event or step), as it sees a sync: a call it hands straight to its own worker before then (the
next step of a run it is running) may still run, one step at most. A call in flight when the pause
commits finishes; with checkpointing SDKs that call may run several steps.
"""

from __future__ import annotations

from stepstone.server.store.base import Tx
from stepstone.server.store.records import AppRecord, FunctionRecord


def active_function(tx: Tx, function_id: str) -> FunctionRecord | None:
    """A registered (not archived) function by slug or id."""
    fn = tx.get_function(function_id)
    return fn if fn is not None and fn.archived_at is None else None


def pause(tx: Tx, function_id: str, now: int) -> FunctionRecord | None:
    """Pause the function (no change when it is paused already); None when there is no such function."""
    fn = active_function(tx, function_id)
    if fn is None or fn.paused_at is not None:
        return fn
    tx.set_function_paused(fn.id, now)
    tx.hold_function_calls(fn.id)
    tx.bump_functions_version()
    fn.paused_at = now
    return fn


def resume(tx: Tx, function_id: str) -> FunctionRecord | None:
    """Resume the function: its held calls are due again at their own time; None when there is no such function."""
    fn = active_function(tx, function_id)
    if fn is None or fn.paused_at is None:
        return fn
    tx.set_function_paused(fn.id, None)
    if tx.release_function_calls(fn.id):
        tx.notify_work()
    tx.bump_functions_version()
    fn.paused_at = None
    return fn


def find_app(tx: Tx, app_id: str) -> AppRecord | None:
    """A listed app by id or by name (the SDK client's app id)."""
    return next((app for app in tx.list_apps() if app_id in (app.id, app.name)), None)


def remove_app(tx: Tx, app_id: str, now: int) -> AppRecord | None:
    """Archive the app's functions (and drop their cron ticks) and hide the app until it syncs again."""
    app = find_app(tx, app_id)
    if app is None:
        return None
    tx.lock_name(f"app:{app.name}", exclusive=True)  # not while it syncs
    for function_id in tx.archive_functions(app.id, [], now):
        tx.delete_function_items(function_id, "cron")
    tx.remove_app(app.id, now)
    tx.bump_functions_version()
    return app
