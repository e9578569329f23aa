"""Events on the wire: the payload model, its validation rules, and deterministic event ids."""

from __future__ import annotations

import base64
import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from ulid import ULID

# Names the engine emits itself; the event API refuses them from callers.
RESERVED_PREFIX = "inngest/"
FUNCTION_FAILED = "inngest/function.failed"
FUNCTION_FINISHED = "inngest/function.finished"
FUNCTION_CANCELLED = "inngest/function.cancelled"
FUNCTION_INVOKED = "inngest/function.invoked"
SCHEDULED_TIMER = "inngest/scheduled.timer"

# `ts` must fall in [1980-01-01, 2100-01-01) (inngest: pkg/event/event.go Validate).
MIN_TS_MS = 315532800000
MAX_TS_MS = 4102444800000


class Event(BaseModel):
    """An event as apps send it and as the engine hands it to functions."""

    model_config = ConfigDict(extra="ignore")

    name: str
    data: dict[str, Any] = Field(default_factory=dict)
    id: str = ""
    ts: int = 0
    v: str | None = None
    user: dict[str, Any] | None = None


class EventInvalidError(ValueError):
    """An event payload broke a rule; the message names the field."""


def validate_event(raw: object, *, now_ms: int, allow_reserved: bool = False) -> Event:
    """Check one raw payload by the event API's rules and normalize it.

    `data: null` becomes `{}`, a missing or zero `ts` becomes `now_ms`.

    Raises:
        EventInvalidError: the payload breaks a rule; the message says which.
    """
    if not isinstance(raw, dict):
        raise EventInvalidError(f"an event must be a JSON object, not {_json_type(raw)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise EventInvalidError("`name` must be a non-empty string")
    if not allow_reserved and name.lower().startswith(RESERVED_PREFIX):
        raise EventInvalidError(f"`name` {name!r} is reserved: names starting with 'inngest/' are the engine's own")
    data = raw.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EventInvalidError(f"`data` must be a JSON object, not {_json_type(data)}")
    event_id = raw.get("id")
    if event_id is None:
        event_id = ""
    if not isinstance(event_id, str):
        raise EventInvalidError(f"`id` must be a string, not {_json_type(event_id)}")
    ts = raw.get("ts")
    if ts is None or ts == 0:
        ts = now_ms
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise EventInvalidError(f"`ts` must be an integer of milliseconds since the epoch, not {_json_type(ts)}")
    if not MIN_TS_MS <= ts < MAX_TS_MS:
        raise EventInvalidError("`ts` must be milliseconds since the epoch between 1980 and 2100")
    version = raw.get("v")
    if version is not None and not isinstance(version, str):
        raise EventInvalidError(f"`v` must be a string, not {_json_type(version)}")
    user = raw.get("user")
    if user is not None and not isinstance(user, dict):
        raise EventInvalidError(f"`user` must be a JSON object, not {_json_type(user)}")
    data = {k: v for k, v in data.items() if k != "_inngest"} if not allow_reserved else data
    return Event(name=name, data=data, id=event_id, ts=ts, v=version, user=user)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def new_seed(now_ms: int) -> str:
    """An `x-inngest-event-id-seed` value: `<unix ms>,<base64 of 10 random bytes>`."""
    return f"{now_ms},{base64.b64encode(os.urandom(10)).decode('ascii')}"


def parse_seed(header: str) -> tuple[int, bytes] | None:
    """Split a seed header into (milliseconds, 10 entropy bytes); None when malformed."""
    millis_text, _, entropy_text = header.partition(",")
    try:
        millis = int(millis_text)
        entropy = base64.b64decode(entropy_text, validate=True)
    except ValueError:
        return None
    if len(entropy) != 10 or not 0 <= millis < 2**48:
        return None
    return millis, entropy


def seeded_event_id(millis: int, entropy: bytes, index: int) -> str:
    """The ULID of the event at 1-based `index` of a seeded request.

    As Inngest does (inngest: pkg/event/id.go), `index` is added to the last four entropy bytes,
    big-endian, so a retried request with the same seed gets the same ids.
    """
    tail = (int.from_bytes(entropy[6:], "big") + index) % 2**32
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + entropy[:6] + tail.to_bytes(4, "big")))


def ulid_millis(value: str) -> int:
    """The timestamp (ms) inside a ULID string.

    Raises:
        ValueError: not a ULID.
    """
    return ULID.from_str(value).milliseconds
