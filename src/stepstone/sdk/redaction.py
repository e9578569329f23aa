"""Keep event keys out of the app's logs.

Sending events puts the event key in the URL path (`POST /e/<key>`, as the protocol wants), and
httpx logs every request URL at INFO. A filter on the `httpx` logger rewrites those paths to
`/e/<redacted>` before any handler sees them.
"""

from __future__ import annotations

import logging
import re

_EVENT_PATH = re.compile(r"/e/[^/\s\"']+")


class RedactEventKeys(logging.Filter):
    """Replace `/e/<key>` in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _EVENT_PATH.sub("/e/<redacted>", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                _EVENT_PATH.sub("/e/<redacted>", str(arg)) if "/e/" in str(arg) else arg for arg in record.args
            )
        return True


_FILTER = RedactEventKeys()


def install() -> None:
    """Attach the filter to the `httpx` logger (once per process)."""
    logger = logging.getLogger("httpx")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
