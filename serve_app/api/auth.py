"""Who is calling: a platform backend with an API key, a candidate's browser with a session token,
or anyone, when no API key is configured (open mode, as before; the service warns at start).

Keys come as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``; session tokens as
``Authorization: Bearer <token>``; a WebSocket may also pass either as ``?access_token=`` (browsers
cannot set headers there). Keys are compared in constant time, every configured key each time.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from integrity.core.errors import Forbidden, Unauthorized
from serve_app.tokens import SessionTokens

CallerKind = Literal["open", "key", "session"]


def key_id(key: str) -> str:
    """What names an API key in limits, logs and configs/policy.yaml: never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Caller:
    kind: CallerKind
    key_id: str = ""  # a short hash of the key (never the key), for limits and logs
    session_id: str | None = None  # the one session a session token may use

    def require_key(self, action: str) -> None:
        if self.kind == "session":
            raise Forbidden(f"{action} needs the API key; a session token cannot do it")

    def require_session(self, session_id: str) -> None:
        if self.kind == "session" and session_id != self.session_id:
            raise Forbidden("this session token belongs to another session")


class Authenticator:
    def __init__(self, api_keys: tuple[str, ...], tokens: SessionTokens) -> None:
        self._keys = [k.encode() for k in api_keys]
        self.tokens = tokens

    @property
    def open(self) -> bool:
        return not self._keys

    def _key_id(self, credential: str) -> str | None:
        given = credential.encode()
        matched: bytes | None = None
        for key in self._keys:  # no early exit: the time taken does not depend on which key
            if hmac.compare_digest(given, key):
                matched = key
        return None if matched is None else key_id(matched.decode())

    def identify(self, api_key: str | None, bearer: str | None) -> Caller:
        if self.open:
            return Caller("open", key_id="open")
        for credential in (api_key, bearer):
            if credential:
                key_id = self._key_id(credential)
                if key_id is not None:
                    return Caller("key", key_id=key_id)
        if bearer:
            session_id = self.tokens.session_of(bearer)
            if session_id is not None:
                return Caller("session", session_id=session_id)
        if api_key or bearer:
            raise Unauthorized("the API key or session token is not valid")
        raise Unauthorized("send an API key (X-API-Key or Authorization: Bearer) or a session token")

    def identify_connection(self, connection: HTTPConnection, allow_query: bool = False) -> Caller:
        bearer = None
        scheme, _, value = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            bearer = value.strip()
        if bearer is None and allow_query:
            bearer = connection.query_params.get("access_token") or None
        return self.identify(connection.headers.get("x-api-key"), bearer)


# Declared as OpenAPI security schemes, so the schema says which routes need credentials.
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A platform backend's API key (API_KEYS)."
)
bearer = HTTPBearer(
    auto_error=False, description="An API key, or a session token (frames of its own session only)."
)


async def caller(  # async: no thread-pool hop per request (serve_app/api/deps.py)
    connection: HTTPConnection,
    api_key: Annotated[str | None, Security(api_key_header)],
    authorization: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Caller:
    authenticator: Authenticator = connection.app.state.auth
    return authenticator.identify(api_key, authorization.credentials if authorization else None)


Authenticated = Annotated[Caller, Depends(caller)]
