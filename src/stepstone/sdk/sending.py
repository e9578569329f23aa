"""Sending events to `{event_api}/e/{event_key}` and signals to `{api}/v1/signals`: one flow each for
the async and the blocking method."""

from __future__ import annotations

import json
import time
from typing import Any

from stepstone.protocol import events as wire_events
from stepstone.protocol import headers
from stepstone.sdk import errors, transport
from stepstone.sdk.settings import Settings

MAX_SEND_ATTEMPTS = 5
DEV_EVENT_KEY = "NO_EVENT_KEY_SET"


def send_flow(settings: Settings, events: wire_events.Event | list[wire_events.Event]) -> transport.Flow[list[str]]:
    """The calls of one send, to the event API of the client's `settings` with their event key: one id seed
    for every attempt, retries on network errors and 5xx only.

    The engine derives event ids from the seed, so a retried request that did reach it creates no
    duplicates.
    """
    batch = events if isinstance(events, list) else [events]
    key = settings.event_key or _missing_event_key(settings)
    now_ms = int(time.time() * 1000)
    call = transport.HttpCall(
        "POST",
        f"{settings.event_api_origin}/e/{key}",
        headers={**transport.sdk_headers(env=settings.env), headers.EVENT_ID_SEED: wire_events.new_seed(now_ms)},
        body=json.dumps([_payload(event, now_ms) for event in batch]).encode(),
    )
    reply = yield from _answered(call, [])  # the event key is in the URL
    return _ids(reply)


def _answered(call: transport.HttpCall, keys: list[str | None]) -> transport.Flow[transport.Reply]:
    """Make `call` (with the first of `keys`, then the fallback on 401/403) until an answer under 500 comes,
    `MAX_SEND_ATTEMPTS` times at most with backoff; the last reply."""
    reply: transport.Reply = None
    for attempt in range(MAX_SEND_ATTEMPTS):
        if attempt:
            yield transport.Pause(transport.backoff(attempt - 1))
        reply = yield from transport.authed(call, keys)
        if isinstance(reply, transport.HttpReply) and reply.status_code < 500:
            break
    return reply


def signal_flow(settings: Settings, signal: str, data: object) -> transport.Flow[str | None]:
    """The call of one `send_signal`, signed with the signing key: the id of the run the signal resumed,
    or None when no run waits for it. Retried on network errors and 5xx only (a retry after a lost
    answer finds the signal taken, and answers None)."""
    call = transport.HttpCall(
        "POST",
        f"{settings.api_origin}/v1/signals",
        headers={**transport.sdk_headers(env=settings.env), headers.CONTENT_TYPE: "application/json"},
        body=json.dumps({"signal": signal, "data": data}).encode(),
    )
    reply = yield from _answered(call, [settings.signing_key, settings.signing_key_fallback])
    return _signalled_run(reply)


def _signalled_run(reply: transport.Reply) -> str | None:
    if not isinstance(reply, transport.HttpReply):
        raise errors.SendSignalError(f"could not reach the engine: {reply}")
    if reply.status_code == 404:
        return None
    try:
        body = reply.json()
    except ValueError:
        body = None
    data = body.get("data") if isinstance(body, dict) else None
    if reply.status_code >= 400 or not isinstance(data, dict) or not data.get("run_id"):
        detail = body.get("error") if isinstance(body, dict) and body.get("error") else reply.text[:200]
        raise errors.SendSignalError(f"the engine answered {reply.status_code}: {detail}")
    return str(data["run_id"])


def _missing_event_key(settings: Settings) -> str:
    if settings.is_dev:
        return DEV_EVENT_KEY
    raise errors.EventKeyUnspecifiedError(
        "cannot send events without an event key in production mode: pass event_key= or set "
        "STEPSTONE_EVENT_KEY (or set STEPSTONE_DEV=1 for dev mode)"
    )


def _payload(event: wire_events.Event, now_ms: int) -> dict[str, Any]:
    """The event as sent: no `id` unless given, and `ts` = now when unset."""
    payload = event.model_dump(mode="json", exclude_none=True)
    if not payload.get("id"):
        payload.pop("id", None)
    if not payload.get("ts"):
        payload["ts"] = now_ms
    return payload


def _ids(reply: transport.Reply) -> list[str]:
    if not isinstance(reply, transport.HttpReply):
        raise errors.SendEventsError(f"could not reach the event API: {reply}", [])
    try:
        body = reply.json()
    except ValueError:
        raise errors.SendEventsError(f"event API answered {reply.status_code} with a non-JSON body", []) from None
    ids = body.get("ids") if isinstance(body, dict) else None
    accepted = [str(item) for item in ids] if isinstance(ids, list) else []
    if isinstance(body, dict) and body.get("error"):
        raise errors.SendEventsError(str(body["error"]), accepted)
    if reply.status_code >= 400:
        raise errors.SendEventsError(f"event API answered {reply.status_code}", accepted)
    return accepted
