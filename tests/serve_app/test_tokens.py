"""Session tokens and API-key checks, in-process."""

from __future__ import annotations

import pytest

from integrity.core.errors import Forbidden, Unauthorized
from serve_app.api.auth import Authenticator
from serve_app.tokens import SessionTokens

SECRET = b"0123456789abcdef0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_names_its_session_until_it_expires() -> None:
    clock = Clock()
    tokens = SessionTokens(SECRET, ttl_s=60, clock=clock)
    token = tokens.issue("6f1c7f0e-3b5e-4a8e-9c55-7d1f1b7c2a10")
    assert tokens.session_of(token) == "6f1c7f0e-3b5e-4a8e-9c55-7d1f1b7c2a10"
    clock.now += 61
    assert tokens.session_of(token) is None


def test_forged_tampered_and_foreign_tokens_are_refused() -> None:
    tokens = SessionTokens(SECRET, ttl_s=60)
    token = tokens.issue("session-a")
    prefix, payload, signature = token.split(".")
    other = SessionTokens(b"another secret of sufficient size", ttl_s=60).issue("session-a")
    forged_payload = tokens.issue("session-b").split(".")[1]
    for bad in (
        other,  # signed under another deployment's secret
        f"{prefix}.{forged_payload}.{signature}",  # someone else's session under this signature
        f"{prefix}.{payload}.{signature[:-2]}xx",
        f"st0.{payload}.{signature}",
        "not-a-token",
        "st1..",
        "st1.!!!.???",
    ):
        assert tokens.session_of(bad) is None, bad
    with pytest.raises(ValueError):
        SessionTokens(b"short", ttl_s=60)


def test_keys_tokens_and_open_mode() -> None:
    tokens = SessionTokens(SECRET, ttl_s=60)
    auth = Authenticator(("key-one", "key-two"), tokens)
    assert auth.identify("key-two", None).kind == "key"
    assert auth.identify(None, "key-one").kind == "key"
    assert auth.identify("key-one", None).key_id != auth.identify("key-two", None).key_id
    assert "key-one" not in auth.identify("key-one", None).key_id
    caller = auth.identify(None, tokens.issue("s1"))
    assert (caller.kind, caller.session_id) == ("session", "s1")
    caller.require_session("s1")
    with pytest.raises(Forbidden):
        caller.require_session("s2")
    with pytest.raises(Forbidden):
        caller.require_key("ending a session")
    for api_key, bearer in ((None, None), ("nope", None), (None, "nope"), ("", "")):
        with pytest.raises(Unauthorized):
            auth.identify(api_key, bearer)
    assert Authenticator((), tokens).identify(None, None).kind == "open"
