"""Cron schedules of cron triggers, in Inngest's syntax, computed with `cronsim`.

Inngest parses schedules with robfig/cron v3: five fields (minute hour day-of-month month day-of-week) of numbers,
names (`MON`, `JAN`), `*`, `?`, lists, ranges and steps, after an optional `TZ=Zone ` or `CRON_TZ=Zone ` prefix; no
zone means UTC. It rejects descriptors such as `@daily`. cronsim accepts more (a seconds field, `L`, `W`, `#`); this
module rejects those, so a schedule accepted here is accepted by Inngest.

Where cronsim differs from robfig, cronsim decides:

- DST, as Debian cron: a schedule with a fixed minute and hour that falls in the hour skipped in spring fires at the
  end of the gap (02:30 → 03:00), and fires once, on the first pass, in the hour repeated in autumn; a schedule with
  `*` in the minute or hour field fires by elapsed time, so in both passes.
- Day-of-week `7` is Sunday; robfig rejects it.
- Day-of-month and day-of-week must both match when either field starts with `*` (robfig: when either is `*` or `?`
  without a step), and either may match otherwise.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from stepstone.protocol import durations
from stepstone.server.core.errors import EngineError

MAX_LENGTH = 255
MIN_JITTER = timedelta(seconds=1)
MAX_JITTER = timedelta(minutes=5)

_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_ZONE_PREFIX = re.compile(r"(?:CRON_)?TZ=(\S*)\s*(.*)", re.DOTALL)
_ATOM = re.compile(r"\*|\?|\d+|[A-Za-z]{3}")
_ATOM_SEPARATORS = re.compile(r"[,/-]")
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_SYNTAX = "numbers, names such as MON or JAN, *, ?, lists (1,2), ranges (1-5) and steps (*/15)"


class CronError(EngineError, ValueError):
    """A cron schedule or jitter that is not valid.

    Attributes:
        expression: the schedule or jitter as written.
    """

    def __init__(self, message: str, *, expression: str) -> None:
        super().__init__(message)
        self.expression = expression


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed cron schedule; build one with `parse_cron`."""

    expression: str
    """The schedule as written, zone prefix included."""
    zone: ZoneInfo
    """The zone its fields are read in: the `TZ=` prefix, or UTC."""
    fields: str
    """The five fields as cronsim reads them."""

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after `moment`.

        Args:
            moment: an aware datetime, in any zone.

        Returns:
            The tick, an aware datetime in UTC.

        Raises:
            ValueError: `moment` is naive.
            CronError: the schedule never fires again (cronsim looks 50 years ahead).
        """
        if moment.tzinfo is None:
            raise ValueError("moment must be an aware datetime")
        after = moment.astimezone(UTC)
        # cronsim computes a fixed-time schedule on local wall-clock time, which forgets which pass of a repeated
        # autumn hour `moment` is in, so its first tick can be up to an hour early: skip such ticks. Compare in UTC,
        # since datetimes sharing a zone compare by wall clock.
        for tick in CronSim(self.fields, after.astimezone(self.zone)):
            if tick.astimezone(UTC) > after:
                return tick.astimezone(UTC)
        raise CronError(
            f"cron schedule {self.expression!r} never fires after {after.isoformat()}", expression=self.expression
        )


def parse_cron(text: str) -> CronSchedule:
    """Parse a cron schedule: five fields after an optional `TZ=Zone ` or `CRON_TZ=Zone ` prefix.

    Raises:
        CronError: the schedule is too long, is a descriptor such as `@daily`, has a bad field or an unknown zone.
    """
    if len(text) > MAX_LENGTH:
        message = f"cron schedule is {len(text)} characters long: at most {MAX_LENGTH} are allowed"
        raise CronError(message, expression=text)
    zone, spec = _split_zone(text)
    if spec.startswith("@"):
        descriptor = spec.split()[0].lower()
        example = _DESCRIPTORS.get(descriptor, "0 * * * *")
        raise CronError(
            f"cron descriptors such as {descriptor!r} are not supported: write the five fields "
            f"(minute hour day-of-month month day-of-week), e.g. {example!r}",
            expression=text,
        )
    parts = spec.split()
    if len(parts) != len(_FIELD_NAMES):
        raise CronError(
            f"cron schedule {text!r} has {len(parts)} fields: expected 5 (minute hour day-of-month month "
            "day-of-week), e.g. '0 * * * *' for every hour",
            expression=text,
        )
    for name, part in zip(_FIELD_NAMES, parts, strict=True):
        if not all(_ATOM.fullmatch(atom) for atom in _ATOM_SEPARATORS.split(part)):
            raise CronError(f"cron schedule {text!r}: bad {name} field {part!r} (use {_SYNTAX})", expression=text)
    fields = " ".join("*" if part == "?" else part for part in parts)
    try:
        CronSim(fields, datetime(2000, 1, 1, tzinfo=zone))
    except CronSimError as exc:
        raise CronError(f"cron schedule {text!r}: {str(exc).lower()} field (use {_SYNTAX})", expression=text) from exc
    return CronSchedule(expression=text, zone=zone, fields=fields)


def _split_zone(text: str) -> tuple[ZoneInfo, str]:
    """The zone of a `TZ=`/`CRON_TZ=` prefix (UTC without one, or with an empty name, as in Go) and the rest."""
    stripped = text.strip()
    match = _ZONE_PREFIX.fullmatch(stripped)
    if match is None:
        return ZoneInfo("UTC"), stripped
    name, rest = match.groups()
    try:
        return ZoneInfo(name or "UTC"), rest
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(
            f"unknown time zone {name!r} in cron schedule {text!r}: use an IANA name such as 'Europe/Paris' or 'UTC'",
            expression=text,
        ) from None


def parse_jitter(text: str | None) -> timedelta:
    """Parse a cron trigger's jitter: None, `""`, `"0"`, or a duration between 1 s and 5 min (`"30s"`, `"2m"`).

    Returns:
        The jitter, zero for none.

    Raises:
        CronError: the text is not a duration, or is out of bounds.
    """
    if text is None or text.strip() in ("", "0"):
        return timedelta(0)
    try:
        jitter = durations.parse_duration(text)
    except ValueError as exc:
        raise CronError(f"invalid jitter: {exc}", expression=text) from None
    if jitter and jitter < MIN_JITTER:
        raise CronError(f"jitter {text!r} is too short: use 0 or at least 1s", expression=text)
    if jitter > MAX_JITTER:
        raise CronError(f"jitter {text!r} is too long: at most 5m", expression=text)
    return jitter


def jitter_problem(text: str | None) -> str | None:
    """Why a jitter is not valid, or None: for validating configs at registration."""
    try:
        parse_jitter(text)
    except CronError as exc:
        return str(exc)
    return None


def jitter_offset(seed: str, jitter: timedelta) -> timedelta:
    """A deterministic delay in [1 s, `jitter`], to the millisecond, derived from a hash of `seed`.

    Args:
        seed: what keeps the delay steady from tick to tick, such as the cron job's id.
        jitter: the most to delay; under 1 s (no jitter) gives zero.
    """
    if jitter < MIN_JITTER:
        return timedelta(0)
    span = int(jitter / timedelta(milliseconds=1)) - 1000
    digest = hashlib.sha256(seed.encode()).digest()
    return timedelta(milliseconds=1000 + int.from_bytes(digest[:8], "big") % (span + 1))
