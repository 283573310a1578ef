"""Session tokens: what the platform hands the candidate's browser instead of its API key.

A token names one session and an expiry, signed with HMAC-SHA256 under the deployment's secret, so
every ingress replica can check it without a lookup. It lets its holder send frames to that session
only (REST and WebSocket); it cannot start, end or read sessions. Its life is bounded by the
session's own (an ended or expired session refuses frames whatever the token says) and by
``SESSION_TOKEN_TTL_S``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

PREFIX = "st1"
_CONTEXT = b"interview-integrity session token v1|"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionTokens:
    def __init__(self, secret: bytes, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the session token secret needs at least 16 bytes")
        self._secret = secret
        self.ttl_s = ttl_s
        self.clock = clock

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, _CONTEXT + payload, hashlib.sha256).digest()

    def issue(self, session_id: str) -> str:
        expires = int(self.clock() + self.ttl_s)
        payload = f"{session_id}|{expires}".encode()
        return f"{PREFIX}.{_b64(payload)}.{_b64(self._sign(payload))}"

    def session_of(self, token: str) -> str | None:
        """The session a valid, unexpired token names; None for anything else."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        try:
            payload, signature = _unb64(parts[1]), _unb64(parts[2])
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        session_id, _, expires = payload.decode("utf-8", "replace").rpartition("|")
        if not session_id or not expires.isdigit() or int(expires) < self.clock():
            return None
        return session_id
