"""docs/sharp-edges.md, written from the rules' own metadata (the same text `stepstone lint --explain` prints),
so the page cannot drift from the linter: `python -m stepstone.lint.edges > docs/sharp-edges.md` remakes it
and tests/unit/lint/test_sharp_edges.py checks it is current. Imports only `stepstone.lint`.
"""

from __future__ import annotations

from stepstone.lint.rules import RULES, Rule
from stepstone.lint.runtime import FINDINGS

INTRO = """\
# Sharp edges of durable functions

<!-- Made by `python -m stepstone.lint.edges > docs/sharp-edges.md` from the rules' metadata; edit
src/stepstone/lint/rules.py or runtime.py, not this page. -->

A durable function's body runs again on every call: once per step, and again on retries, deploys and restarts.
The stored steps are replayed, everything else runs anew. Each section below is one way this bites: the
static rules that `stepstone lint` checks before deploy ([docs/lint.md](lint.md)), then the findings the
engine reports while a run executes ([docs/nondeterminism.md](nondeterminism.md)). Each has the reason, the
fix, a wrong example and the right one. `stepstone lint --explain STPnnn` prints the same text.

The examples are function bodies written with Stepstone's SDK; the official `inngest` SDK's functions have the
same edges (`ctx.step.run`, `step.run`).

Static rules (`stepstone lint`):

{static_index}

Found at run time (the engine):

{runtime_index}
"""


def _anchor(rule: Rule) -> str:
    return f"{rule.code.lower()}-{rule.name}"


def _index(rules: list[Rule]) -> str:
    return "\n".join(f"- [{rule.code} {rule.name}](#{_anchor(rule)}): {rule.flags}" for rule in rules)


def _section(rule: Rule, *, runtime: bool) -> str:
    if runtime:
        when = "Found at run time by the engine."
    elif rule.default:
        when = "On by default."
    else:
        when = "Heuristic: off by default, on with `--select " + rule.code + "` (or `ALL`)."
    # A wrong example is fenced `python wrong` (the docs' tests check the linter flags it), except STP028's: it is
    # only wrong against an earlier revision (`--against`), so alone it is plain code.
    wrong_fence = "python no-run" if rule.code == "STP028" else "python wrong"
    return "\n".join(
        [
            f"## {rule.code} {rule.name}",
            "",
            f"{rule.flags[0].upper()}{rule.flags[1:]}. {when}",
            "",
            rule.reason,
            "",
            f"**Fix:** {rule.fix}.",
            "",
            "Wrong:",
            "",
            f"```{wrong_fence}",
            rule.wrong.rstrip("\n"),
            "```",
            "",
            "Right:",
            "",
            "```python no-run",
            rule.right.rstrip("\n"),
            "```",
            "",
        ]
    )


def render() -> str:
    """The whole page."""
    static = list(RULES.values())
    runtime = list(FINDINGS.values())
    head = INTRO.format(static_index=_index(static), runtime_index=_index(runtime))
    sections = [_section(rule, runtime=False) for rule in static] + [_section(rule, runtime=True) for rule in runtime]
    return head + "\n" + "\n".join(sections)


if __name__ == "__main__":
    print(render(), end="")
