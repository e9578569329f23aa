"""Schema versions: numbered SQL files, applied in order and recorded in `schema_migrations`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stepstone.server.store import sql


@dataclass(frozen=True)
class SchemaStatus:
    current: int
    latest: int
    pending: list[str]

    def describe(self) -> str:
        if not self.pending:
            return f"schema version {self.current} (up to date)"
        return f"schema version {self.current}; {len(self.pending)} to apply: {', '.join(self.pending)}"


def status(current: int, directory: Path) -> SchemaStatus:
    files = sql.migration_files(directory)
    return SchemaStatus(current, len(files), [f"{v:04d}_{name}" for v, name, _ in files[current:]])


def too_new(current: int, latest: int, where: str) -> str:
    return (
        f"{where} is at schema {current}, newer than this build of Stepstone ({latest}): upgrade Stepstone "
        "before running it against this database"
    )
