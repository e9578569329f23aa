"""Durations and times as the wire writes them: `"30s"`, `"1h30m"`, `"2d"`, and ISO 8601 UTC times."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

_UNIT_SECONDS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)")
_FORMAT_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(text: str) -> timedelta:
    """Parse `"30s"`, `"1h30m"`, `"24h0m0s"`, `"500ms"`, `"2d"`, `"1w"` (Go and Inngest spellings).

    Raises:
        ValueError: the text is not a duration.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty duration")
    pos = 0
    seconds = 0.0
    for match in _PART.finditer(value):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(value) or pos == 0:
        raise ValueError(f"invalid duration {text!r}: expected a number and a unit, e.g. '30s', '5m', '1h30m'")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"invalid duration {text!r}: too long") from None


def format_duration(delta: timedelta) -> str:
    """Write a duration in the largest unit that divides it evenly (`"90s"` → `"90s"`, `"2h"`).

    Raises:
        ValueError: the duration is under one second or not a whole number of seconds.
    """
    millis = round(delta.total_seconds() * 1000)
    if millis < 1000:
        raise ValueError("duration must be at least 1 second")
    if millis % 1000:
        raise ValueError("duration must be a whole number of seconds")
    seconds = millis // 1000
    for suffix, unit in _FORMAT_UNITS:
        if seconds % unit == 0:
            return f"{seconds // unit}{suffix}"
    raise AssertionError("unreachable: every whole number of seconds divides by 1")


def to_timedelta(value: int | float | timedelta | str) -> timedelta:
    """Accept the SDK's duration spellings: int milliseconds, `timedelta`, or a string like `"30m"`."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise TypeError("a duration cannot be a bool")
    if isinstance(value, int | float):
        return timedelta(milliseconds=value)
    if isinstance(value, str):
        return parse_duration(value)
    raise TypeError(f"a duration must be int milliseconds, timedelta or str, not {type(value).__name__}")


def format_time(moment: datetime) -> str:
    """Write `moment` as ISO 8601 UTC with milliseconds and a `Z`: `2026-11-24T16:01:54.452Z`."""
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a naive time is local time, as datetime.now() gives it
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time (a `Z` or an offset; naive means UTC) or an RFC 1123 date, as UTC.

    Raises:
        ValueError: the text is not a time.
    """
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"invalid time {text!r}: expected ISO 8601, e.g. 2026-01-02T03:04:05Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_millis(moment: datetime) -> int:
    """Unix milliseconds of an aware datetime."""
    return int(moment.timestamp() * 1000)


def from_millis(millis: int) -> datetime:
    """The aware UTC datetime of unix milliseconds."""
    return datetime.fromtimestamp(millis / 1000, tz=UTC)
