"""The generator of `docs/compatibility.md`, and that the committed file lists every feature tested."""

from __future__ import annotations

import importlib
import inspect

from tests.compat import matrix

MODULES = ("tests.compat.test_functions", "tests.compat.test_production", "tests.compat.test_syncs")


def declared_features() -> list[tuple[str, str]]:
    """(section, feature) of every `@pytest.mark.compat` test, in definition order."""
    features = []
    for name in MODULES:
        module = importlib.import_module(name)
        for _, test in inspect.getmembers(module, inspect.isfunction):
            for mark in getattr(test, "pytestmark", []):
                if mark.name == "compat":
                    features.append((mark.args[0], mark.args[1]))
    return features


def documented_features(text: str) -> list[tuple[str, str]]:
    features = []
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:]
        elif line.startswith("| ") and not line.startswith("| feature |") and section != "Notes":
            features.append((section, line[2:].split(" | ")[0]))
    return features


def test_the_matrix_shows_each_outcome_and_explains_what_did_not_pass() -> None:
    results = [
        {"sdk": "python", "section": "Steps", "feature": "a", "outcome": "passed"},
        {"sdk": "typescript", "section": "Steps", "feature": "a", "outcome": "failed", "reason": "AssertionError: x"},
        {"sdk": "python", "section": "Steps", "feature": "c", "outcome": "passed"},
        {"sdk": "python", "section": "Time", "feature": "b", "outcome": "xfail", "reason": "not supported yet"},
        {"sdk": "typescript", "section": "Time", "feature": "b", "outcome": "xfail", "reason": "not supported yet"},
    ]
    text = matrix.render({"versions": {"python": "0.5.19", "typescript": "4.24.0"}, "results": results})
    assert "| feature | Python `inngest` 0.5.19 | TypeScript `inngest` 4.24.0 (checkpoints) |" in text
    assert "| a | pass | **FAIL** [1] |" in text
    assert "| c | pass | — |" in text
    assert "| b | not yet [2] | not yet [2] |" in text
    assert "1. a (TypeScript `inngest` 4.24.0 (checkpoints)): AssertionError: x" in text
    assert "2. b (Python `inngest` 0.5.19, TypeScript `inngest` 4.24.0 (checkpoints)): not supported yet" in text


def test_the_committed_matrix_lists_every_tested_feature() -> None:
    declared = declared_features()
    assert all("|" not in feature for _, feature in declared)
    documented = documented_features(matrix.DOC.read_text())
    assert sorted(documented) == sorted(declared), "regenerate it: pytest tests/compat && python -m tests.compat.matrix"
