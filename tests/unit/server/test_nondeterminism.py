"""`runs.nondeterminism`: one call's answer compared with the run's stored steps, as pure functions."""

from __future__ import annotations

import json
from typing import Any

import click.testing
import pytest

from stepstone.cli import main
from stepstone.protocol import opcodes
from stepstone.protocol.stepids import hash_step_id
from stepstone.server.runs import nondeterminism
from stepstone.server.runs.nondeterminism import Used
from stepstone.server.store.records import StepHistoryRecord

SAME = nondeterminism.Versions(3, 3, "v1", "v1")


def stored(user_id: str, op: str = "StepRun", *, done: bool = True) -> StepHistoryRecord:
    return StepHistoryRecord(hash_step_id(user_id), '{"data":1}' if done else None, user_id, op, 1 if done else None)


def used(user_id: str, op: str = "StepRun", *, parallel: bool = False) -> Used:
    return Used(hash_step_id(user_id), op, "app.py:7", parallel)


def op(user_id: str, opcode: str = "StepRun") -> opcodes.Op:
    return opcodes.Op.model_validate({"op": opcode, "id": hash_step_id(user_id), "displayName": user_id})


def check(history: list[StepHistoryRecord], **given: Any) -> list[nondeterminism.Finding]:
    args: dict[str, Any] = {
        "used": None,
        "ops": [],
        "completed": False,
        "error_body": None,
        "target": "",
        "fn": "app-fn",
        "run_id": "run-1",
        "versions": lambda: SAME,
    }
    return nondeterminism.check(history, **(args | given))


def test_a_call_that_follows_its_history_finds_nothing() -> None:
    history = [stored("a"), stored("b"), stored("p1"), stored("p2")]
    # parallel steps may be reached in any order; the new step comes after every stored one
    steps = [used("a"), used("b"), used("p2", parallel=True), used("p1", parallel=True)]
    never = lambda: pytest.fail("the versions are read only for a finding")  # noqa: E731
    assert check(history, used=steps, ops=[op("c")], versions=never) == []
    assert check(history, used=steps, completed=True, versions=never) == []


def test_a_stored_step_left_behind_while_the_code_moves_on() -> None:
    [found] = check([stored("a"), stored("b")], used=[used("b")], ops=[op("c"), op("d")])
    assert (found.code, found.step_ids) == ("STP101", ("a",))
    assert (
        "history has step 'a' done, but the code did not reach it and moved on to new steps 'c', 'd'" in found.message
    )
    [returned] = check([stored("a")], used=[], completed=True)
    assert "did not reach it and returned" in returned.message


def test_not_reached_is_not_judged_on_a_targeted_call_or_without_moving_on() -> None:
    history = [stored("a"), stored("b")]
    assert check(history, used=[used("b")], ops=[op("c")], target=hash_step_id("c")) == []
    assert check(history, used=[used("b")], ops=[opcodes.Op(op=opcodes.Opcode.NONE, id="")]) == []


def test_steps_reached_out_of_order_name_both_and_where() -> None:
    [found] = check([stored("a"), stored("b")], used=[used("b"), used("a")], ops=[op("c")])
    assert (found.code, found.step_ids) == ("STP103", ("a", "b"))
    assert "the code reached 'b' first, then 'a' (at app.py:7, then app.py:7)" in found.message


def test_a_step_of_another_kind() -> None:
    [found] = check([stored("nap", "Sleep")], used=[used("nap", "StepRun")], completed=True)
    assert found.code == "STP102"
    assert "history has step 'nap' as a step.sleep, but the code reached it as a step.run at app.py:7" in found.message
    # a planned step.run, a failed one and a retried one are all step.run
    assert check([stored("x", "StepPlanned", done=False)], ops=[op("x", "StepError")]) == []
    assert check([stored("x", "StepFailed")], used=[used("x")], completed=True) == []
    # a step.fetch or step.ai that failed for good is stored as StepFailed too; a sleep never fails so
    assert check([stored("x", "StepFailed")], used=[used("x", "Gateway")], completed=True) == []
    assert check([stored("x", "StepFailed")], used=[used("x", "AIGateway")], completed=True) == []
    assert [f.code for f in check([stored("x", "StepFailed")], used=[used("x", "Sleep")], completed=True)] == ["STP102"]


def test_an_official_sdk_op_of_another_kind_than_the_stored_step() -> None:
    [found] = check([stored("x", "StepPlanned", done=False)], ops=[op("x", "Sleep")])
    assert found.code == "STP102"
    assert "now reports a step.sleep with the same id" in found.message
    # ops that are not steps never count, even with a stored step's id (a DiscoveryRequest carries one)
    assert check([stored("x", "Sleep")], ops=[op("x", "DiscoveryRequest")]) == []


def test_the_typescript_sdks_step_not_found_answer() -> None:
    body = {
        "error": 'Could not find step "a" to run; timed out. Found new steps: \na-2 (abc).',
        "requestedStep": hash_step_id("a"),
        "foundSteps": [{"id": "abc", "name": "a-2", "displayName": "a-2"}],
        "totalFoundSteps": 1,
    }
    [found] = check([stored("a", "StepPlanned", done=False)], error_body=body, target=hash_step_id("a"))
    assert (found.code, found.name, found.step_ids) == ("STP104", "unknown-step-targeted", ("a",))
    assert "the engine targeted step 'a' but the code never reached it" in found.message
    assert "Found new steps" in found.message
    # the very id among the steps it found: the step is there, of another kind
    body["foundSteps"] = [{"id": hash_step_id("a"), "name": "a", "displayName": "a"}]
    [changed] = check([stored("a", "StepPlanned", done=False)], error_body=body, target=hash_step_id("a"))
    assert (changed.code, changed.step_ids) == ("STP102", ("a",))
    assert "reached a step with the same id of another kind" in changed.message
    # any other failure of a targeted call says nothing about determinism
    assert check([stored("a")], error_body={"name": "Error", "message": "boom"}, target=hash_step_id("a")) == []


def test_each_finding_says_the_cause_and_the_versions() -> None:
    moved = nondeterminism.Versions(3, 4, "v1", "v2")
    [found] = check([stored("a")], used=[], completed=True, versions=lambda: moved)
    assert found.message.startswith("STP101 step-not-reached: function 'app-fn', run run-1: ")
    assert "a value read outside a step changed between calls (clock, randomness, environment)" in found.message
    assert "started on function version 3 (app version v1); it meets function version 4 (app version v2) now" in (
        found.message
    )


def test_the_steps_used_header_is_read_or_ignored() -> None:
    text = json.dumps([[hash_step_id("a"), "StepRun", "app.py:3", False]])
    assert nondeterminism.parse_used(text) == [Used(hash_step_id("a"), "StepRun", "app.py:3", False)]
    assert nondeterminism.parse_used(None) is None
    assert nondeterminism.parse_used("not json") is None
    assert nondeterminism.parse_used("[[1]]") is None


def test_the_cli_takes_warn_or_fail() -> None:
    runner = click.testing.CliRunner()
    context = main.dev.make_context("dev", ["--nondeterminism", "fail"])
    assert context.params["nondeterminism"] == "fail"
    assert main.dev.make_context("dev", []).params["nondeterminism"] == "warn"
    result = runner.invoke(main.main, ["dev", "--nondeterminism", "maybe"])
    assert result.exit_code == 2 and "'maybe' is not one of 'warn', 'fail'" in result.output
