"""`stepstone runs show` draws a run's warnings (non-determinism findings) in full, and none when it has none;
and its trace id (to find it in a trace viewer)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from stepstone.cli.show import run_tree

RUN: dict[str, Any] = {
    "run_id": "01RUN",
    "function_id": "shop-charge",
    "function_version": 2,
    "status": "Running",
    "created_at": "2026-12-06T00:00:00.000Z",
    "steps": [],
    "attempts": [],
}


def drawn(run: dict[str, Any]) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(run_tree(run))
    return console.export_text()


def test_a_run_shows_its_warnings() -> None:
    warning = {
        "code": "STP103",
        "message": "function shop-charge, run 01RUN: the code reached 'b' before 'a'",
        "step_ids": ["b", "a"],
        "at": "2026-12-06T00:00:01.000Z",
    }
    text = drawn({**RUN, "warnings": [warning]})
    assert "warnings (1)" in text
    assert "STP103  steps b, a" in text
    assert "the code reached 'b' before 'a'" in text


def test_no_warnings_no_section() -> None:
    assert "warnings" not in drawn({**RUN, "warnings": []})


def test_a_run_shows_its_trace_id() -> None:
    assert "trace  0192f3a4b5c6d7e8f9a0b1c2d3e4f5a6" in drawn({**RUN, "trace_id": "0192f3a4b5c6d7e8f9a0b1c2d3e4f5a6"})


def test_a_pending_wait_says_what_it_waits_for_and_until_when() -> None:
    def step(step_id: str, wait: dict[str, Any], **fields: Any) -> dict[str, Any]:
        base = {"id": step_id, "status": "Waiting", "op": "WaitForEvent", "started_at": RUN["created_at"]}
        return {**base, "waits_for": wait, "deadline": "2026-12-06T01:00:00.000Z", **fields}

    steps = [
        step("paid", {"event": "billing/paid", "if": "async.data.id == event.data.id"}),
        step("approval", {"signal": "approve-A-1"}, op="WaitForSignal"),
        step("tax", {"function": "shop-tax"}, op="InvokeFunction", status="Invoking", deadline=None),
        step("done", {"signal": "s"}, status="Completed", ended_at="2026-12-06T00:00:02.000Z", output=None),
    ]
    text = drawn({**RUN, "steps": steps})
    assert "waits for event billing/paid if async.data.id == event.data.id until" in text
    assert "waits for signal approve-A-1 until" in text
    assert "waits for a run of shop-tax\n" in text
    assert text.count("waits for") == 3  # an ended wait shows its output instead
