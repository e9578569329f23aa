"""`python -m stepstone` is the `stepstone` command."""

from __future__ import annotations

from stepstone.cli.main import main

main()
