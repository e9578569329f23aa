"""The `stepstone` command's entry point: `stepstone lint ...` runs the linter's command alone, without loading
the engine that every other command needs (a pre-commit hook or an editor runs it on every save); everything
else goes to the full command group in `stepstone.cli.main`. May import `stepstone.cli` only.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run `stepstone` with the process's arguments."""
    if sys.argv[1:2] == ["lint"]:
        from stepstone.cli.lint import lint

        lint.main(args=sys.argv[2:], prog_name="stepstone lint")
    else:
        from stepstone.cli.main import main as everything

        everything()
