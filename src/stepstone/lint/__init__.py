"""`stepstone lint`: static checks of user code that defines durable functions.

This room owns reading users' source with Python's `ast` (their code is never imported) and reporting the
mistakes durable functions invite (clock or I/O outside a step, nested steps, unawaited steps, ...). It may
import only the standard library and `stepstone.protocol`: never `stepstone.server` nor `stepstone.sdk`.
"""

from __future__ import annotations

from stepstone.lint.config import Config, load_config
from stepstone.lint.findings import Finding, LintError, Report
from stepstone.lint.rules import RULES, Rule
from stepstone.lint.runner import lint_paths, lint_source

__all__ = ["RULES", "Config", "Finding", "LintError", "Report", "Rule", "lint_paths", "lint_source", "load_config"]
