"""What the benchmark's subprocesses logged, as messages: traceback frames left out (the exception line
stays), timestamps and loopback ports masked, so that a message repeated across processes and rounds is
counted as one.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
PORT = re.compile(r"(127\.0\.0\.1(?::|', ))\d{4,5}")
NOT_MESSAGES = ("Traceback (most recent call last)", "The above exception", "During handling", "DETAIL:", "HINT:")
LONGEST = 240


def offsets(paths: dict[str, Path]) -> dict[str, int]:
    """The current size of each log (`who` -> path), to read only what comes after."""
    return {who: path.stat().st_size if path.exists() else 0 for who, path in paths.items()}


def messages(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        if line.strip() and not line[0].isspace() and not line.startswith(NOT_MESSAGES):
            found.append(PORT.sub(r"\1<port>", TIMESTAMP.sub("", line))[:LONGEST])
    return found


def read(paths: dict[str, Path], since: dict[str, int] | None = None) -> Counter[str]:
    """`<who>: <message>` -> count, over what each log (`who` -> path) holds after its offset in `since`."""
    found: Counter[str] = Counter()
    for who, path in paths.items():
        if path.exists():
            with path.open("rb") as log:
                log.seek((since or {}).get(who, 0))
                found.update(f"{who}: {message}" for message in messages(log.read().decode(errors="replace")))
    return found
