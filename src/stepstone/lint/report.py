"""A report in each output format: text (one line per finding), JSON, SARIF 2.1.0, GitHub Actions annotations."""

from __future__ import annotations

import json
from typing import Any

from stepstone.lint.findings import Report
from stepstone.lint.rules import RULES
from stepstone.lint.runtime import FINDINGS

FORMATS = ("text", "json", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render(report: Report, fmt: str) -> str:
    """The report as `fmt` (one of FORMATS)."""
    return {"text": text, "json": as_json, "sarif": sarif, "github": github}[fmt](report)


def text(report: Report) -> str:
    lines = [str(item) for item in [*report.errors, *report.config, *report.findings]]
    count = len(report.findings) + len(report.config)
    summary = f"{count} finding{'s' if count != 1 else ''} in {report.files} file{'s' if report.files != 1 else ''}"
    if report.errors:
        summary += f", {len(report.errors)} file{'s' if len(report.errors) != 1 else ''} not checked"
    return "\n".join([*lines, summary])


def as_json(report: Report) -> str:
    findings = [
        {
            "path": f.path,
            "line": f.line,
            "column": f.col,
            "code": f.code,
            "name": RULES[f.code].name,
            "message": f.message,
            "fix": f.fix,
        }
        for f in report.findings
    ]
    errors = [{"path": e.path, "line": e.line, "column": e.col, "message": e.message} for e in report.errors]
    config = [{"app": c.app, "path": c.path, "message": c.message} for c in report.config]
    return json.dumps({"findings": findings, "errors": errors, "config": config, "files": report.files}, indent=2)


def sarif(report: Report) -> str:
    used = sorted({f.code for f in report.findings})
    rules = [
        {
            "id": code,
            "name": RULES[code].name,
            "shortDescription": {"text": RULES[code].flags},
            "fullDescription": {"text": RULES[code].reason},
            "help": {"text": RULES[code].fix},
            "defaultConfiguration": {"level": "warning"},
        }
        for code in used
    ]
    results: list[dict[str, Any]] = [
        {
            "ruleId": f.code,
            "ruleIndex": used.index(f.code),
            "level": "warning",
            "message": {"text": f"{f.message}. {f.fix}"},
            "locations": [location(f.path, f.line, f.col)],
        }
        for f in report.findings
    ]
    results += [
        {"ruleId": "config", "level": "error", "message": {"text": c.message}, "locations": [location(c.path, 1, 1)]}
        for c in report.config
    ]
    notifications = [
        {"level": "error", "message": {"text": e.message}, "locations": [location(e.path, e.line, e.col)]}
        for e in report.errors
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {"name": "stepstone-lint", "informationUri": "https://github.com/stepstone", "rules": rules}
        },
        "results": results,
        "invocations": [{"executionSuccessful": not report.errors, "toolExecutionNotifications": notifications}],
    }
    return json.dumps({"version": "2.1.0", "$schema": SARIF_SCHEMA, "runs": [run]}, indent=2)


def location(path: str, line: int, col: int) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": line, "startColumn": col}}}


def github(report: Report) -> str:
    """GitHub Actions workflow commands: each finding a warning annotation, each unreadable file an error."""
    lines = [f"::error file={e.path},line={e.line},col={e.col}::{escape(e.message)}" for e in report.errors]
    lines += [f"::error file={c.path},title=config {c.app}::{escape(c.message)}" for c in report.config]
    lines += [
        f"::warning file={f.path},line={f.line},col={f.col},title={f.code} {RULES[f.code].name}::"
        f"{escape(f.message + '. ' + f.fix)}"
        for f in report.findings
    ]
    return "\n".join(lines)


def escape(message: str) -> str:
    return message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def explain(code: str) -> str:
    """`--explain`: the rule's (or run-time finding's) reason, fix, and a wrong and a right example."""
    rule = RULES.get(code) or FINDINGS[code]
    if code in FINDINGS:
        default = "found at run time by the engine, not by lint"
    else:
        default = "on by default" if rule.default else "off by default (heuristic): turn it on with --select"
    return "\n".join(
        [
            f"{rule.code} {rule.name} ({default})",
            "",
            f"Flags: {rule.flags}.",
            "",
            rule.reason,
            "",
            f"Fix: {rule.fix}.",
            "",
            "Wrong:",
            "",
            indent(rule.wrong),
            "Right:",
            "",
            indent(rule.right),
        ]
    )


def indent(code: str) -> str:
    return "".join(f"    {line}\n" if line else "\n" for line in code.splitlines())


def rule_table() -> str:
    """The Markdown table of every rule (docs/lint.md holds it verbatim; a test checks it)."""
    rows = ["| code | name | flags | default |", "| --- | --- | --- | --- |"]
    for rule in RULES.values():
        flags = rule.flags.replace("|", "\\|")
        rows.append(f"| {rule.code} | {rule.name} | {flags} | {'on' if rule.default else 'off'} |")
    return "\n".join(rows)
