"""The production dashboard's password, kept only as two keys derived from it: the password itself is dropped.

Both keys are HMAC-SHA256 of the password under the engine's signing key, with different labels:
`verifier` checks a login attempt (compared in constant time), `session_key` signs the session cookies.
Every engine started with the same signing key and password derives the same keys, so behind a load
balancer a session made by one engine is valid on the others; a new password or signing key ends every
session. Neither key is printed: `repr` hides them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from stepstone.protocol import signing

_VERIFIER = b"stepstone dashboard login v1\x00"
_SESSION = b"stepstone dashboard session v1\x00"


def _derive(label: bytes, password: str, signing_key: str) -> bytes:
    return hmac.new(signing.strip_key_prefix(signing_key).encode(), label + password.encode(), hashlib.sha256).digest()


@dataclass(frozen=True, repr=False)
class DashboardPassword:
    """What an engine keeps of `--dashboard-password`: a verifier for logins and the key that signs sessions."""

    verifier: bytes
    session_key: bytes

    @classmethod
    def derive(cls, password: str, signing_key: str) -> DashboardPassword:
        """The keys for `password` under `signing_key` (the same on every engine given the same two)."""
        if not password:
            raise ValueError("the dashboard password is empty")
        return cls(_derive(_VERIFIER, password, signing_key), _derive(_SESSION, password, signing_key))

    def matches(self, candidate: str, signing_key: str) -> bool:
        """True when `candidate` is the password (constant time: the digests compared have one length)."""
        return hmac.compare_digest(_derive(_VERIFIER, candidate, signing_key), self.verifier)

    def __repr__(self) -> str:
        return "DashboardPassword(<hidden>)"
