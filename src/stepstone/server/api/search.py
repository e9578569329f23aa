"""Runs search for `GET /v1/runs?if=`: a CEL expression over each run's trigger event and output.

The store filters what SQL can (status, function, app, time); the expression is evaluated here, run by
run, newest first from the cursor, on at most a set number of runs (Inngest's `searchLimit`), so a
search that matches little answers in bounded time and says where it stopped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson

from stepstone.server.core.expressions import Expression
from stepstone.server.store.base import Tx
from stepstone.server.store.records import RunQuery, RunRecord

BATCH = 200  # runs read per query while scanning


@dataclass
class Found:
    """A page of matches; `cursor` continues after the last run scanned (None when none are left)."""

    runs: list[RunRecord]
    cursor: str | None
    scanned: int
    stopped: bool  # the scan limit came before the page filled


def variables(run: RunRecord, event_json: str | None, names: tuple[str, ...] = ("event", "output")) -> dict[str, Any]:
    """What the expression sees: `event` (the trigger event as functions receive it) and `output`; only
    those in `names` (the ones the expression references) are parsed."""
    found: dict[str, Any] = {}
    if "event" in names:
        found["event"] = orjson.loads(event_json) if event_json else {}
    if "output" in names:
        found["output"] = orjson.loads(run.output_json) if run.output_json is not None else None
    return found


def search(tx: Tx, query: RunQuery, expression: Expression, *, scan_limit: int) -> Found:
    """Up to `query.limit` runs that match `query` and `expression`, scanning at most `scan_limit` runs."""
    matched: list[RunRecord] = []
    scanned, cursor = 0, query.cursor
    while scanned < scan_limit:
        batch_query = dataclasses.replace(query, cursor=cursor, limit=min(BATCH, scan_limit - scanned))
        batch = tx.search_runs(batch_query)
        for run, event_json in batch:
            scanned += 1
            cursor = run.id
            if expression.matches(variables(run, event_json, expression.variables)):
                matched.append(run)
                if len(matched) == query.limit:
                    return Found(matched, run.id, scanned, stopped=False)
        if len(batch) < batch_query.limit:
            return Found(matched, None, scanned, stopped=False)
    return Found(matched, cursor, scanned, stopped=True)
