"""`POST /e/{event_key}`: the event API.

It answers `{"ids": [...], "status": 200}` once the events are stored and their runs created
(queued), and starts the runs once that answer is written. When one event of a list is invalid,
the events before it are kept and the answer is a 400 with their ids and the error. An event whose
`ts` is in the future starts its runs at that time (a delayed run).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.background import BackgroundTask

from stepstone.protocol import events as wire_events
from stepstone.protocol import headers as h
from stepstone.server.api import auth
from stepstone.server.api.common import JSONAnswer, RawHeaders, error, header
from stepstone.server.api.hot import HotRoute
from stepstone.server.core.clock import wall_ms
from stepstone.server.core.ids import ULIDS
from stepstone.server.engine import Engine

_EVENT_ID_SEED = h.EVENT_ID_SEED.encode()
EVENT_SCHEMA: dict[str, Any] = {  # `#/components/schemas/EventIn` of the OpenAPI document
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "description": "the event name, e.g. `user/signup`"},
        "data": {"type": "object", "description": "any JSON object (null means {})"},
        "id": {"type": "string", "description": "your id: a second event with the same id within 24 h starts no run"},
        "ts": {"type": "integer", "description": "milliseconds since the epoch (default: when received)"},
        "user": {"type": "object"},
        "v": {"type": "string"},
    },
}


def run_delay(raw: dict[str, Any], ts: int, wall: int) -> int:
    """How far in the future the sender's `ts` is (0 when it gave none): its runs start that much later.

    The `ts` was written by the sender's clock, so it is read against the OS clock, and the delay is
    then applied to the engine clock (which dev mode moves ahead of the OS clock).
    """
    return max(0, ts - wall) if raw.get("ts") else 0


def _ids(count: int, seed_header: str | None, now_ms: int) -> list[str]:
    seed = wire_events.parse_seed(seed_header) if seed_header else None
    if seed is None:
        return [ULIDS.new(now_ms) for _ in range(count)]
    millis, entropy = seed
    return [wire_events.seeded_event_id(millis, entropy, index + 1) for index in range(count)]


async def send_events(engine: Engine, event_key: str, body: bytes, headers: RawHeaders) -> JSONAnswer:
    """Store the events of one request and start their runs (the hot route `SEND_EVENTS`)."""
    auth.check_event_key(engine.settings, event_key)
    return await accept_events(engine, body, headers)


async def accept_events(engine: Engine, body: bytes, headers: RawHeaders) -> JSONAnswer:
    """Validate and store the events of a request body, answered as the event API answers (the caller checked
    who may send): `POST /e/{key}` and the REST API's `POST /v1/events` share it."""
    limits = engine.settings.limits
    if len(body) > limits.max_request_bytes:
        return error(413, f"the request is over {limits.max_request_bytes} bytes", ids=[])
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        return error(400, f"the body is not valid JSON: {err}", ids=[])
    raw_events = parsed if isinstance(parsed, list) else [parsed]
    if not raw_events:
        return error(400, "no events: send an event object or a non-empty list", ids=[])
    if len(raw_events) > limits.max_events_per_request:
        return error(400, f"at most {limits.max_events_per_request} events per request", ids=[])
    now, wall = engine.clock.now_ms(), wall_ms()
    accepted: list[dict[str, Any]] = []
    delays: list[int] = []
    problem: str | None = None
    for position, raw in enumerate(raw_events):
        try:
            encoded = orjson.dumps(raw)
        except orjson.JSONEncodeError:  # the store writes events with orjson, which stops at 254 levels
            problem = f"event {position}: nested too deeply (at most 254 levels of objects and lists)"
            break
        size = len(encoded) if isinstance(parsed, list) else len(body)
        if size > limits.max_event_bytes:
            problem = f"event {position}: over the size limit of {limits.max_event_bytes} bytes"
            break
        try:
            event = wire_events.validate_event(raw, now_ms=now)
        except wire_events.EventInvalidError as err:
            problem = f"event {position}: {err}" if isinstance(parsed, list) else str(err)
            break
        accepted.append(event.model_dump(exclude_none=True))
        delays.append(run_delay(raw, event.ts, wall))
    ids = _ids(len(raw_events), header(headers, _EVENT_ID_SEED), now)[: len(accepted)]
    dispatch = None
    if accepted:
        ids, dispatch = await engine.send_events(accepted, ids, delays)
    answer = error(400, problem, ids=ids) if problem is not None else JSONAnswer({"ids": ids, "status": 200})
    if dispatch is not None:
        # The runs start once the answer is written (a response's background runs after its body is
        # sent): the sender's `send` returns before the functions it triggered start.
        answer.background = BackgroundTask(dispatch)
    return answer


def names_of(body: bytes, most: int = 10) -> str:
    """The distinct event names in a request body, for the audit log (never the data); "" if unreadable."""
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    raw = parsed if isinstance(parsed, list) else [parsed]
    names = dict.fromkeys(str(item["name"])[:200] for item in raw if isinstance(item, dict) and "name" in item)
    shown = list(names)[:most]
    return ",".join(shown) + (",..." if len(names) > most else "")


SEND_EVENTS = HotRoute(
    "/e/{event_key}",
    send_events,
    summary="Send one event or a list of events",
    tags=["events"],
    responses={200: {"description": '{"ids": [...], "status": 200}'}, 400: {}, 401: {}, 413: {}},
    request_body={
        "oneOf": [
            {"$ref": "#/components/schemas/EventIn"},
            {"type": "array", "items": {"$ref": "#/components/schemas/EventIn"}},
        ]
    },
)
