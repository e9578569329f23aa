"""Request signatures and key handling (Inngest's HMAC scheme).

A signature header reads `t=<unix seconds>&s=<hex HMAC-SHA256>`. The key is the signing key without
its `signkey-<env>-` prefix, used as UTF-8 text (the hex is not decoded). A *request* is signed over
its JCS-canonical body (RFC 8785, as the official SDKs canonicalize with the `jcs` package) followed by
the decimal timestamp; a *response* over its raw body followed by the timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable

import jcs

_PREFIX = re.compile(r"^signkey-\w+-")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")

# How far a request signature's timestamp may be from the verifier's clock.
MAX_SIGNATURE_AGE_SECONDS = 300


def strip_key_prefix(key: str) -> str:
    """`signkey-prod-abc123` → `abc123`."""
    return _PREFIX.sub("", key, count=1)


def key_prefix(key: str) -> str:
    """`signkey-prod-abc123` → `signkey-prod-` (empty when there is none)."""
    match = _PREFIX.match(key)
    return match.group(0) if match else ""


def signing_key_problem(key: str) -> str | None:
    """Why `key` cannot be a signing key, or None when it can (even-length hex after the prefix)."""
    if not _HEX.match(strip_key_prefix(key)):
        return "a signing key must be even-length hex, optionally prefixed 'signkey-<env>-' (try: openssl rand -hex 32)"
    return None


def canonicalize(body: bytes) -> bytes:
    """The JCS (RFC 8785) form of a JSON body; an empty body stays empty.

    Raises:
        ValueError: the body is not JSON.
    """
    if not body:
        return body
    canonical = jcs.canonicalize(json.loads(body))
    if not isinstance(canonical, bytes):
        raise ValueError("canonicalization did not produce bytes")
    return canonical


def _mac(message: bytes, key: str, at: int) -> str:
    secret = strip_key_prefix(key).encode("utf-8")
    return hmac.new(secret, message + str(at).encode("ascii"), hashlib.sha256).hexdigest()


def sign_request(body: bytes, key: str, *, at: int) -> str:
    """The `x-inngest-signature` value for a request body (signed over its canonical form)."""
    return f"t={at}&s={_mac(canonicalize(body), key, at)}"


def sign_canonical_request(canonical_body: bytes, key: str, *, at: int) -> str:
    """Like `sign_request`, for a body that is already canonical (saves canonicalizing twice)."""
    return f"t={at}&s={_mac(canonical_body, key, at)}"


def sign_response(body: bytes, key: str, *, at: int) -> str:
    """The `x-inngest-signature` value for a response body (signed over its raw bytes)."""
    return f"t={at}&s={_mac(body, key, at)}"


def parse_signature(header: str) -> tuple[int, str] | None:
    """Split `t=..&s=..` into (timestamp, hex mac); None when malformed."""
    parts = dict(part.split("=", 1) for part in header.split("&") if "=" in part)
    try:
        return int(parts["t"]), parts["s"]
    except (KeyError, ValueError):
        return None


def _verify(message: bytes, header: str | None, keys: Iterable[str], now: int | None) -> bool:
    parsed = parse_signature(header or "")
    if parsed is None:
        return False
    at, mac = parsed
    if now is not None and abs(now - at) > MAX_SIGNATURE_AGE_SECONDS:
        return False
    return any(hmac.compare_digest(_mac(message, key, at), mac) for key in keys if key)


def verify_request(body: bytes, header: str | None, keys: Iterable[str], *, now: int | None) -> bool:
    """True when `header` signs `body` with one of `keys`; `now` (unix s) enables the freshness check."""
    try:
        canonical = canonicalize(body)
    except ValueError:
        return False
    return _verify(canonical, header, keys, now)


def verify_response(body: bytes, header: str | None, keys: Iterable[str], *, now: int | None) -> bool:
    """True when `header` signs the raw response `body` with one of `keys`."""
    return _verify(body, header, keys, now)


def hash_signing_key(key: str) -> str:
    """sha256 of the hex-decoded key (prefix stripped): what the SDKs send as their Bearer token."""
    return hashlib.sha256(bytes.fromhex(strip_key_prefix(key))).hexdigest()


def bearer_token(key: str) -> str:
    """The Bearer token an SDK sends to the engine for `key` (the Python SDK's form, no prefix)."""
    return hash_signing_key(key)


def bearer_matches(token: str, keys: Iterable[str]) -> bool:
    """True when `token` is one of `keys`, plain or hashed, with or without the `signkey-` prefix."""
    presented = strip_key_prefix(token.strip())
    for key in keys:
        if not key:
            continue
        plain = strip_key_prefix(key)
        candidates = [plain]
        if signing_key_problem(key) is None:
            candidates.append(hash_signing_key(key))
        if any(hmac.compare_digest(presented, candidate) for candidate in candidates):
            return True
    return False


def hash_event_key(key: str) -> str:
    """sha256 hex of an event key, as the SDKs show it in authenticated inspection."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
