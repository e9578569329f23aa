"""What a run's view says of its steps beyond their outcome, on both stores: a sleep's, a wait's and an
invoke's `deadline` (kept once the step ends), and a step's `input` where the wire carries one (the
TypeScript SDK's `opts.input`), absent where it does not."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from stepstone.protocol.stepids import hash_step_id
from tests.harness import Harness, eventually, free_socket
from tests.integration import scripted_app

LOAD, NAP, APPROVAL, PLAIN = (hash_step_id(name) for name in ("load", "nap", "approval", "plain"))


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


async def script(body: dict[str, Any], _: Request) -> Response:
    steps = body["steps"]
    if LOAD not in steps:
        op = {"op": "StepRun", "id": LOAD, "displayName": "load", "opts": {"input": [1, "a"]}, "data": 5}
        return scripted_app.ops(op)
    if PLAIN not in steps:
        return scripted_app.ops({"op": "StepRun", "id": PLAIN, "displayName": "plain", "data": "no input"})
    if NAP not in steps:
        return scripted_app.ops({"op": "Sleep", "id": NAP, "displayName": "nap", "name": "1h"})
    if APPROVAL not in steps:
        opts = {"event": "scripted/approve", "timeout": "2h"}
        return scripted_app.ops({"op": "WaitForEvent", "id": APPROVAL, "displayName": "approval", "opts": opts})
    return scripted_app.done({"approved": steps[APPROVAL] is not None})


async def test_sleeps_and_waits_carry_their_deadlines_and_steps_their_input(
    tmp_path: Path, backend: dict[str, Any]
) -> None:
    harness = Harness(tmp_path, backend)
    await harness.start()
    try:
        served = await harness.serve_app(scripted_app.build(script), free_socket())
        assert (
            await harness.http.post("/fn/register", json=scripted_app.registration(f"{served.url}/api/inngest"))
        ).status_code == 200
        event_id = await harness.send("scripted/go")

        async def step_named(name: str, status: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
            runs = await harness.runs_for(event_id)
            if not runs:
                return None
            run = await harness.run(runs[0]["run_id"])
            step = next((s for s in run["steps"] if s["id"] == name and s["status"] == status), None)
            return (run, step) if step else None

        run, nap = await eventually(lambda: step_named("nap", "Sleeping"))
        steps = {step["id"]: step for step in run["steps"]}
        assert steps["load"]["input"] == [1, "a"] and steps["load"]["output"] == 5
        assert "input" not in steps["plain"] and steps["plain"]["deadline"] is None
        assert at(nap["deadline"]) - at(nap["started_at"]) == timedelta(hours=1)

        await harness.advance(timedelta(hours=1, seconds=1))
        run, approval = await eventually(lambda: step_named("approval", "Waiting"))
        assert at(approval["deadline"]) - at(approval["started_at"]) == timedelta(hours=2)
        nap = next(step for step in run["steps"] if step["id"] == "nap")
        assert nap["status"] == "Completed" and at(nap["deadline"]) - at(nap["started_at"]) == timedelta(hours=1)

        await harness.send("scripted/approve")
        done = await harness.wait_run(event_id)
        assert done["output"] == {"approved": True}
        kept = next(step for step in done["steps"] if step["id"] == "approval")
        assert kept["deadline"] == approval["deadline"]  # kept once the wait ended early
    finally:
        await harness.stop()
