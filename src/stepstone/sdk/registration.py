"""Sync (PUT) and inspection (GET): what the serve endpoint tells the engine about the app."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from stepstone.protocol import config, signing
from stepstone.sdk import settings, transport
from stepstone.sdk.client import Stepstone
from stepstone.sdk.function import Function

CAPABILITIES = {"trust_probe": "v1"}
INSPECTION_SCHEMA = "2024-05-24"


def serve_url(request_url: str, *, origin: str | None, path: str | None, mode: settings.Mode) -> str:
    """The URL the engine should call: the request's, with origin and path overridden when configured."""
    parsed = urllib.parse.urlsplit(request_url)
    scheme, netloc, url_path = parsed.scheme, parsed.netloc, parsed.path
    if origin:
        wanted = urllib.parse.urlsplit(settings.normalize_url(origin, mode))
        scheme, netloc = wanted.scheme, wanted.netloc
    return urllib.parse.urlunsplit((scheme, netloc, path or url_path, "", ""))


def register_flow(
    client: Stepstone,
    functions: Sequence[Function],
    *,
    url: str,
    framework: str,
    query: Mapping[str, str],
) -> transport.Flow[tuple[int, dict[str, Any]]]:
    """POST the app's configuration to `{api}/fn/register`; returns the status and body to answer the PUT with."""
    body = config.RegisterRequest.model_validate(
        {
            "url": url,
            "appName": client.app_id,
            "appVersion": client.app_version,
            "sdk": transport.SDK_HEADER,
            "framework": framework,
            "v": "0.1",
            "deployType": "ping",
            "capabilities": CAPABILITIES,
            "functions": [cfg.dump() for fn in functions for cfg in fn.configs(url)],
        }
    ).dump()
    call = transport.HttpCall(
        "POST",
        client.api_url("/fn/register"),
        headers=transport.sdk_headers(framework=framework, env=client.env),
        body=json.dumps(body).encode(),
        params={"deployId": query["deployId"]} if query.get("deployId") else {},
    )
    reply = yield from transport.authed(call, [client.signing_key, client.signing_key_fallback])
    status, answer = registered(reply)
    if status != 200:
        client.logger.error("sync failed: %s", answer["message"], extra={"action": "registration_failed"})
    return status, answer


def registered(reply: transport.Reply) -> tuple[int, dict[str, Any]]:
    """The PUT's answer for the engine's reply: 200 on success, else the engine's status and error."""
    if not isinstance(reply, transport.HttpReply):
        return 500, {"code": "registration_failed", "message": f"could not reach the engine: {reply}"}
    if reply.is_success:
        return 200, {"message": "Successfully registered"}
    try:
        body = reply.json()
    except ValueError:
        body = None
    message = reply.text.strip() or f"status {reply.status_code}"
    if isinstance(body, dict):
        message = str(body.get("error") or body.get("message") or message)
    return reply.status_code, {"code": "registration_failed", "message": message}


def inspection(
    client: Stepstone,
    function_count: int,
    *,
    authenticated: bool,
    framework: str,
    serve_origin: str | None,
    serve_path: str,
) -> dict[str, Any]:
    """The GET answer; a validly signed request also gets the app's details."""
    s = client.settings
    body: dict[str, Any] = {
        "schema_version": INSPECTION_SCHEMA,
        "function_count": function_count,
        "has_event_key": bool(s.event_key),
        "has_signing_key": bool(s.signing_key),
        "has_signing_key_fallback": bool(s.signing_key_fallback),
        "mode": s.mode.value,
    }
    if not authenticated:
        return body
    return body | {
        "api_origin": s.api_origin,
        "app_id": client.app_id,
        "authentication_succeeded": True,
        "capabilities": CAPABILITIES,
        "env": s.env,
        "event_api_origin": s.event_api_origin,
        "event_key_hash": signing.hash_event_key(s.event_key) if s.event_key else None,
        "framework": framework,
        "sdk_language": "py",
        "sdk_version": transport.VERSION,
        "serve_origin": serve_origin,
        "serve_path": serve_path,
        "signing_key_hash": _key_hash(s.signing_key),
        "signing_key_fallback_hash": _key_hash(s.signing_key_fallback),
    }


def _key_hash(key: str | None) -> str | None:
    if not key:
        return None
    try:
        return signing.hash_signing_key(key)
    except ValueError:  # not hex: still show something stable
        return hashlib.sha256(key.encode()).hexdigest()
