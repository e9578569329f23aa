"""Reruns: a new run of a function with the events of an earlier run, from its start or from one of its steps.

A rerun from a step copies into the new run the outcomes of the steps that finished before that step
(in the order they finished, so the new run's stack reads as the old one did), and the new run's first
call replays them and runs the chosen step and everything after it again. The chosen step may get a
new input: the call then carries `{"input": [...]}` as that step's state, which the TypeScript SDK
runs the step with (`stepState[id].input`); the Python SDKs read such a state as the step's output,
so an input is refused for apps of other SDKs (docs/protocol.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from stepstone.server.core.errors import EngineError
from stepstone.server.intake import flow
from stepstone.server.queue.work import Work
from stepstone.server.store.records import RunRecord, RunStatus, StepRecord

_LISTED_IDS = 20


class RunGoneError(EngineError, LookupError):
    """The run to rerun is missing, or its function is no longer registered (the message says which)."""


class RerunError(EngineError, ValueError):
    """A rerun from a step that cannot be made: the step id names no step of the run, or the app's SDK
    cannot take a step's input."""


@dataclass(frozen=True)
class FromStep:
    """Where a rerun starts: the step id as the user wrote it (`id:n` for the n-th repeat of an id, or its
    hashed id), and the input to run it with instead of its own (a JSON array as text), if any."""

    step_id: str
    input_json: str | None = None


def display_id(step: StepRecord) -> str:
    """The step id as the user reads it: `id`, or `id:n` for the n-th repeat of `id` (n from 1)."""
    if step.index == 0 or step.user_id.endswith(f":{step.index}"):
        return step.user_id
    return f"{step.user_id}:{step.index}"


def rerun(work: Work, run_id: str, from_step: FromStep | None = None) -> RunRecord:
    """Start a new run of `run_id`'s function with its events (`original_run_id` set), from the start or
    from a step; raises `RunGoneError`, or `RerunError` for a step the run does not have."""
    run = work.runs.lock_run(run_id)
    if run is None:
        raise RunGoneError(run_id)
    fn = work.catalog().get(run.function_id)
    if fn is None:
        raise RunGoneError(f"function {run.function_slug} is no longer registered")
    copied: list[StepRecord] = []
    chosen: StepRecord | None = None
    if from_step is not None:
        steps = work.runs.list_steps(run.id)
        chosen = pick(steps, from_step.step_id)
        copied = finished_before(steps, chosen)
        if from_step.input_json is not None:
            check_takes_input(work, fn.record.app_id)
    events = work.events.get_events_by_seq(work.runs.run_event_seqs(run.id))
    # A step given a new input runs on the first call, which targets it (see `lifecycle.create_run`).
    given = chosen.hashed_id if chosen is not None and from_step is not None and from_step.input_json else ""
    new = flow.start(work, fn, events, original_run_id=run.id, cron=run.cron, first_target=given)  # may be Skipped
    if new.status == RunStatus.SKIPPED:
        return new
    for step in copied:
        work.runs.save_step(dataclasses.replace(step, run_id=new.id))
    if given and from_step is not None and from_step.input_json is not None:
        work.runs.put_step_input(new.id, given, from_step.input_json)
    return new


def pick(steps: list[StepRecord], step_id: str) -> StepRecord:
    """The step `step_id` names (its display id, or its hashed id)."""
    for step in steps:
        if display_id(step) == step_id or step.hashed_id == step_id:
            return step
    known = [display_id(step) for step in steps]
    shown = ", ".join(repr(name) for name in known[:_LISTED_IDS]) + (", ..." if len(known) > _LISTED_IDS else "")
    raise RerunError(f"the run has no step {step_id!r}; its steps: {shown or 'none'}")


def finished_before(steps: list[StepRecord], chosen: StepRecord) -> list[StepRecord]:
    """The steps with an outcome that finished before `chosen` (all of them when it never finished),
    in the order they finished."""
    done = [step for step in steps if step.memo_json is not None and step.hashed_id != chosen.hashed_id]
    if chosen.memo_json is not None and chosen.finished_seq is not None:
        limit = chosen.finished_seq
        done = [step for step in done if step.finished_seq is not None and step.finished_seq < limit]
    return sorted(done, key=lambda step: step.finished_seq or 0)


def check_takes_input(work: Work, app_id: str) -> None:
    """Refuse a step input for an app whose SDK would read it as the step's output."""
    app = next((app for app in work.apps.list_apps() if app.id == app_id), None)
    sdk = app.sdk if app is not None else ""
    if not sdk.startswith("js"):
        raise RerunError(
            f"the app's SDK ({sdk or 'unknown'}) cannot run a step with a new input: only the TypeScript SDK "
            "reads one; rerun from the step without `input`"
        )
