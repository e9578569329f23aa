"""`stepstone lint`: check durable functions' source for the mistakes they invite (see docs/lint.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stepstone.lint import config as lint_config
from stepstone.lint import history
from stepstone.lint import report as lint_report
from stepstone.lint.findings import ConfigProblem
from stepstone.lint.rules import RULES
from stepstone.lint.runner import lint_paths
from stepstone.lint.runtime import FINDINGS


def _codes(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    parts = tuple(part.strip() for value in values for part in value.split(",") if part.strip())
    try:
        lint_config.codes(parts)
    except lint_config.ConfigError as error:
        raise click.BadParameter(str(error)) from error
    return parts


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(lint_report.FORMATS),
    default="text",
    show_default=True,
    help="text (path:line:col: CODE message), json, sarif (2.1.0) or github (Actions annotations).",
)
@click.option("--select", multiple=True, callback=_codes, help="Run only these rules (codes, comma-separated, or ALL).")
@click.option("--ignore", multiple=True, callback=_codes, help="Do not run these rules (codes or ALL).")
@click.option(
    "--against",
    metavar="GIT_REF",
    help="Also report step ids renamed, removed or reordered since this git revision (STP028).",
)
@click.option(
    "--app",
    "app_spec",
    metavar="MODULE:ATTR",
    help="Also import the app and check each function's configuration with the engine's sync rules.",
)
@click.option(
    "--explain",
    metavar="STPnnn",
    help="Print a rule's (or a run-time finding's, STP101-STP104) reason, a wrong example and a right one, and exit.",
)
def lint(
    paths: tuple[Path, ...],
    fmt: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    against: str | None,
    app_spec: str | None,
    explain: str | None,
) -> None:
    """Check the durable functions in PATHS (files or folders; default: the current folder).

    Reads the code with Python's ast (nothing is imported). Exit status: 0 nothing found, 1 findings,
    2 a usage error or a file that could not be read or parsed (the other files are still checked).
    Configuration: [tool.stepstone.lint] in the nearest pyproject.toml (select, ignore, per-file-ignores).
    With --app MODULE:ATTR (and no PATHS) the app's module file is checked, and its functions' configurations.
    """
    if explain is not None:
        code = explain.strip().upper()
        if code not in RULES and code not in FINDINGS:
            known = ", ".join(sorted(RULES) + sorted(FINDINGS))
            raise click.BadParameter(f"unknown rule {explain!r} (known: {known})", param_hint="--explain")
        click.echo(lint_report.explain(code))
        return
    app = None
    if app_spec:
        # Imported here: it loads the engine's sync rules, which `stepstone lint PATH` alone never needs (the
        # command starts in a fraction of the time without them).
        from stepstone.cli import lint_app

        try:
            app = lint_app.load_app(app_spec)
        except lint_app.AppImportError as error:
            raise click.BadParameter(str(error), param_hint="--app") from error
    targets = paths or ((app.file,) if app and app.file else (Path("."),))
    missing = [str(path) for path in targets if not path.exists()]
    if missing:
        raise click.BadParameter(f"no such file or folder: {', '.join(missing)}", param_hint="PATHS")
    try:
        config = lint_config.load_config(targets[0]).override(select, ignore)
    except lint_config.ConfigError as error:
        raise click.UsageError(str(error)) from error
    if against:
        try:
            history.check_revision(against, targets[0])
        except history.RevisionError as error:
            raise click.BadParameter(str(error), param_hint="--against") from error
    report = lint_paths(targets, config, against)
    if app is not None:
        where = str(app.file) if app.file else app.spec
        from stepstone.cli import lint_app

        report.config = [ConfigProblem(app.spec, where, problem) for problem in lint_app.config_problems(app)]
    output = lint_report.render(report, fmt)
    if output:
        click.echo(output)
    sys.exit(report.exit_code)
