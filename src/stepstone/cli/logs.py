"""The engine's log on stderr: text for people (the default), or one JSON object a line (`--log-format json`).

A JSON line holds `ts` (RFC 3339, UTC, milliseconds), `level`, `logger` and `msg` (the formatted
message), then the fields of `FIELDS` that the record carries in its `extra` (run and function ids,
the `action` key, an access line's method and path...), and `exc` with the traceback when there is
one. Only those fields are copied: whatever else a library puts on a record stays out, so a line
never carries more than its message says. `status` is a run's status or an access line's HTTP
status, always written as a string: one type per key, as typed log stores (Elasticsearch, BigQuery)
need. Every logger propagates to the one handler installed
here, uvicorn's included (the engine runs uvicorn with `log_config=None`).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

from stepstone.protocol import durations

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

FIELDS = (
    "action",
    "run_id",
    "function_id",
    "app_id",
    "event_id",
    "step_id",
    "attempt",
    "status",
    "error",
    "url",
    "method",
    "path",
    "duration_ms",
)


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module docstring for its keys)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": durations.format_time(datetime.fromtimestamp(record.created, tz=UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = record.__dict__
        for key in FIELDS:
            value = fields.get(key)
            if value is not None and value != "":
                line[key] = str(value) if key == "status" else value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


def configure(level: str, log_format: str = "text") -> None:
    """Send every log record at `level` and above to stderr, as text or JSON (replacing other handlers).

    uvicorn's loggers are reset to hand their records to this handler, whatever configured them before.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler], force=True)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
