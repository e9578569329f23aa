"""Non-determinism found at run time: a call whose code took another path than the run's history.

Owns the comparison of one call's answer with the steps the run has stored, as pure functions of what
the call plan already read (`CallPlan.history`, no extra store round trip), and the findings' wording.
Stepstone's SDK reports the stored steps a call used, in order, with where each is in the source
(`headers.STEPS_USED`), so all of these can be seen:

- STP101 step-not-reached: a stored step the code no longer reaches while it moves on (new steps, or the end);
- STP102 step-kind-changed: a step reached as another kind than stored (a sleep, now a `step.run`);
- STP103 step-order-changed: stored steps reached in another order than the history's.

The official SDKs say nothing about the steps they read, so only what their wire shows is found: an op
whose kind differs from the stored step of the same id (STP102) and a targeted step the code never
reached (STP104 unknown-step-targeted: the TypeScript SDK's `StepNotFound` answer, the Python SDK's
`step_unexpected` error). Recording (warnings table, log) is `record`; failing the run, the caller's.
May import protocol and server.store records only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from stepstone.protocol import opcodes
from stepstone.server.store.records import RunRecord, RunWarningRecord, StepHistoryRecord

WARN = "warn"
FAIL = "fail"
MODES = (WARN, FAIL)

CAUSE = (
    "Likely cause: a value read outside a step changed between calls (clock, randomness, environment), "
    "or a deploy changed the function's code while the run was in flight."
)

_KINDS = {
    "StepRun": "step.run",
    "Step": "step.run",
    "StepPlanned": "step.run",
    "StepError": "step.run",
    "StepFailed": "step.run",
    "Sleep": "step.sleep",
    "WaitForEvent": "step.wait_for_event",
    "InvokeFunction": "step.invoke",
    "AIGateway": "step.ai",
    "Gateway": "step.fetch",
    "WaitForSignal": "step.wait_for_signal",
}


def kind(op: str) -> str:
    """The step kind an opcode stands for (`StepPlanned` and `StepRun` are both `step.run`)."""
    return _KINDS.get(op, op)


# A failed attempt or a step that failed for good is stored as `StepError` / `StepFailed` whatever made it
# fail: a step.run's code, or the engine's request for a step.fetch or step.ai.
_FAILABLE = frozenset({"step.run", "step.fetch", "step.ai"})


def same_kind(stored_op: str, op: str) -> bool:
    """Whether a stored step of `stored_op` and a step reached or reported as `op` are of one kind."""
    if stored_op in ("StepFailed", "StepError"):
        return kind(op) in _FAILABLE
    if op in ("StepFailed", "StepError"):
        return kind(stored_op) in _FAILABLE
    return kind(stored_op) == kind(op)


@dataclass(frozen=True)
class Used:
    """A stored step as a call of Stepstone's SDK used it."""

    hashed_id: str
    op: str
    at: str  # file:line, or "" when the SDK left it out
    parallel: bool


@dataclass(frozen=True)
class Finding:
    """One departure from the history. `step_ids` are the user's step ids."""

    code: str
    name: str
    message: str
    step_ids: tuple[str, ...]


@dataclass(frozen=True)
class Versions:
    """The function and app versions a run started on, and those it meets now."""

    function_then: int
    function_now: int
    app_then: str | None
    app_now: str | None

    def text(self) -> str:
        then = f"function version {self.function_then} (app version {self.app_then or 'unset'})"
        now = f"function version {self.function_now} (app version {self.app_now or 'unset'})"
        if then == now:
            return f"The run started on {then}, which is still current."
        return f"The run started on {then}; it meets {now} now."


def parse_used(text: str | None) -> list[Used] | None:
    """The `STEPS_USED` header's entries; None without the header (an official SDK) or when malformed."""
    if text is None:
        return None
    try:
        raw = orjson.loads(text)
        return [Used(str(item[0]), str(item[1]), str(item[2] or ""), bool(item[3])) for item in raw]
    except (orjson.JSONDecodeError, TypeError, IndexError, KeyError):
        return None


def check(
    history: Sequence[StepHistoryRecord],
    *,
    used: list[Used] | None,
    ops: Sequence[opcodes.Op],
    completed: bool,
    error_body: Any,
    target: str,
    fn: str,
    run_id: str,
    versions: Callable[[], Versions],
) -> list[Finding]:
    """Every departure one call's answer shows from `history` (the run's steps in the order first stored).

    `ops` are the answer's ops (empty for a return or an error), `completed` whether the function
    returned, `error_body` the decoded body of an error answer, `target` the step the call targeted.
    `versions` is asked only when there is a finding (reading the app's version now may cost a query).
    """
    facts = _Facts(history, fn, run_id, versions)
    found: list[Finding] = []
    if used is not None:
        found += facts.kind_changed_used(used)
        found += facts.order_changed(used)
        moved_on = completed or any(
            op.op not in opcodes.NOT_STEPS or op.op == opcodes.Opcode.RUN_COMPLETE for op in ops
        )
        if moved_on and not target:
            found += facts.not_reached(used, ops, completed)
    found += facts.kind_changed_ops(ops)
    if target and _targeting_failed(error_body):
        found += facts.unknown_target(target, error_body)
    return found


def _targeting_failed(body: Any) -> bool:
    """The SDK's answer says it never reached the targeted step (TS `StepNotFound`, Python `step_unexpected`)."""
    return isinstance(body, dict) and ("requestedStep" in body or body.get("code") == "step_unexpected")


class _Facts:
    """The history indexed for one comparison, and the findings' wording."""

    def __init__(
        self, history: Sequence[StepHistoryRecord], fn: str, run_id: str, versions: Callable[[], Versions]
    ) -> None:
        self.steps = {step.hashed_id: step for step in history}
        self.position = {step.hashed_id: number for number, step in enumerate(history)}
        self.head = f"function {fn!r}, run {run_id}"
        self.versions = versions
        self.tail = ""

    def name(self, hashed_id: str) -> str:
        step = self.steps.get(hashed_id)
        return step.user_id if step is not None else hashed_id

    def finding(self, code: str, name: str, what: str, step_ids: Sequence[str]) -> Finding:
        self.tail = self.tail or f"{CAUSE} {self.versions().text()}"
        return Finding(code, name, f"{code} {name}: {self.head}: {what} {self.tail}", tuple(step_ids))

    def kind_changed_used(self, used: list[Used]) -> list[Finding]:
        found = []
        for entry in used:
            step = self.steps.get(entry.hashed_id)
            if step is not None and not same_kind(step.op, entry.op):
                where = f" at {entry.at}" if entry.at else ""
                what = (
                    f"the history has step {step.user_id!r} as a {kind(step.op)}, but the code reached it as a "
                    f"{kind(entry.op)}{where} and was handed the {kind(step.op)}'s stored result."
                )
                found.append(self.finding("STP102", "step-kind-changed", what, [step.user_id]))
        return found

    def kind_changed_ops(self, ops: Sequence[opcodes.Op]) -> list[Finding]:
        found = []
        for op in ops:
            step = self.steps.get(op.id)
            if op.op in opcodes.NOT_STEPS or step is None or same_kind(step.op, str(op.op)):
                continue
            what = (
                f"the history has step {step.user_id!r} as a {kind(step.op)}, but the code now reports a "
                f"{kind(str(op.op))} with the same id."
            )
            found.append(self.finding("STP102", "step-kind-changed", what, [step.user_id]))
        return found

    def order_changed(self, used: list[Used]) -> list[Finding]:
        """The first pair of stored steps reached in the other order than first stored (parallel ones aside)."""
        last: Used | None = None
        for entry in used:
            if entry.parallel or entry.hashed_id not in self.position:
                continue
            if last is not None and self.position[entry.hashed_id] < self.position[last.hashed_id]:
                first, second = self.name(last.hashed_id), self.name(entry.hashed_id)
                where = f" (at {last.at}, then {entry.at})" if last.at and entry.at else ""
                what = (
                    f"the history has step {second!r} before step {first!r}, but the code reached {first!r} "
                    f"first, then {second!r}{where}."
                )
                return [self.finding("STP103", "step-order-changed", what, [second, first])]
            last = entry
        return []

    def not_reached(self, used: list[Used], ops: Sequence[opcodes.Op], completed: bool) -> list[Finding]:
        reached = {entry.hashed_id for entry in used}
        missing = [step for step in self.steps.values() if step.memo_json is not None and step.hashed_id not in reached]
        if not missing:
            return []
        names = [step.user_id for step in missing]
        new = [op.user_id for op in ops if op.op not in opcodes.NOT_STEPS and op.id not in self.steps]
        if new:
            went = "moved on to new step" + ("s " if len(new) > 1 else " ") + ", ".join(repr(n) for n in new)
        elif completed or any(op.op == opcodes.Opcode.RUN_COMPLETE for op in ops):
            went = "returned"
        else:
            return []
        listed = ", ".join(repr(n) for n in names)
        what = f"the history has step{'s' if len(names) > 1 else ''} {listed} done, but the code did not reach "
        what += f"{'them' if len(names) > 1 else 'it'} and {went}."
        return [self.finding("STP101", "step-not-reached", what, names)]

    def unknown_target(self, target: str, body: dict[str, Any]) -> list[Finding]:
        name = self.name(target)
        said = str(body.get("error") or body.get("message") or "")
        found = body.get("foundSteps")
        if isinstance(found, list) and any(isinstance(item, dict) and item.get("id") == target for item in found):
            # The TypeScript SDK found a step with the targeted id, but not of the kind the engine asked for.
            step = self.steps.get(target)
            stored = kind(step.op) if step is not None else "step"
            what = (
                f"the history has step {name!r} as a {stored}; the engine targeted it, but the code reached a "
                f"step with the same id of another kind (the SDK said: {said!r})."
            )
            return [self.finding("STP102", "step-kind-changed", what, [name])]
        what = f"the engine targeted step {name!r} but the code never reached it (the SDK said: {said!r})."
        return [self.finding("STP104", "unknown-step-targeted", what, [name])]


def warning_record(run: RunRecord, finding: Finding, now: int) -> RunWarningRecord:
    return RunWarningRecord(
        run_id=run.id,
        code=finding.code,
        message=finding.message,
        step_ids_json=orjson.dumps(list(finding.step_ids)).decode(),
        at=now,
    )


def failure_message(findings: Sequence[Finding]) -> str:
    """The `NonDeterminismError` message of a run failed for `findings`."""
    return " ".join(finding.message for finding in findings)
