"""What a lint run reports: findings (a rule broken at a place) and errors (a file that could not be read)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Finding:
    """A rule broken at `path:line:col` (both 1-based, as editors count).

    Attributes:
        path: The file, as given (or found under a given folder).
        line: The line of the offending expression.
        col: Its column, 1-based.
        code: The rule's code (`STP001`).
        message: What is wrong, naming the call or statement.
        fix: How to fix it, in one sentence.
    """

    path: str
    line: int
    col: int
    code: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}. {self.fix}"


@dataclass(frozen=True, order=True)
class LintError:
    """A file that could not be checked (unreadable, or not valid Python)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: error: {self.message}"


@dataclass(frozen=True)
class ConfigProblem:
    """A function configuration a sync would refuse or adjust (`stepstone lint --app`).

    Attributes:
        app: The `module:attr` given.
        path: The module's file (or the spec when it has none).
        message: The engine's message, naming the function and the field.
    """

    app: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.app}: config: {self.message}"


@dataclass
class Report:
    """The outcome of a run: its findings, errors and configuration problems, and how many files were checked."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[LintError] = field(default_factory=list)
    files: int = 0
    config: list[ConfigProblem] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """2 when some input could not be read, else 1 when something was found, else 0."""
        return 2 if self.errors else 1 if self.findings or self.config else 0
