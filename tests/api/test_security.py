"""Credentials, per-session tokens, rate limits, CORS and body limits: the service in process (its
real app, auth and limits, without Ray), on a clock the test holds still (the rate limits' buckets
refill only when it moves). The WebSocket handshake's HTTP 403 through a real server, and the body
limit through Serve's proxy: tests/integration/test_smoke.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from serve_app.pipeline import Analyzers
from tests.api.conftest import FakeClock, LocalWs, local_client
from tests.integration.conftest import b64

KEY, OTHER_KEY = "k-platform-0123456789", "k-second-platform-9876"
ORIGIN = "https://interviews.example.com"
MAX_FRAME_BYTES = 1_000_000


@pytest.fixture(scope="module")
def client(analyzers: Analyzers, no_object_models: dict[str, Any]) -> Iterator[httpx.Client]:
    with local_client(
        analyzers,
        clock=FakeClock(),
        **no_object_models,
        api_keys=f"{KEY},{OTHER_KEY}",
        rate_limit_fps=2,
        rate_limit_burst=3,
        session_starts_per_minute=60,  # a burst of 10 starts per key, then one a second
        cors_origins=ORIGIN,
        max_frame_bytes=MAX_FRAME_BYTES,
    ) as http:
        yield http


def key(k: str = KEY) -> dict[str, str]:
    return {"X-API-Key": k}


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def start(client: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post("/start-session", json={"candidate_id": "c"}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def frame(
    client: httpx.Client, session_id: str, data: bytes, headers: dict[str, str], ts: float
) -> httpx.Response:
    body = {"session_id": session_id, "frame": b64(data), "timestamp": ts}
    return client.post("/analyze-frame", json=body, headers=headers)


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def test_every_endpoint_but_health_needs_a_valid_key(client: httpx.Client) -> None:
    assert client.get("/health").status_code == 200
    for headers in ({}, key("wrong-key"), bearer("wrong-key"), {"Authorization": "Basic eDp5"}):
        refused(
            client.post("/start-session", json={"candidate_id": "c"}, headers=headers), 401, "unauthorized"
        )
        refused(client.post("/end-session", json={"session_id": "x"}, headers=headers), 401, "unauthorized")
        response = client.post("/analyze-frame", json={"session_id": "x", "frame": "AAAA"}, headers=headers)
        assert refused(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert start(client, key())["session_id"]
    assert start(client, bearer(OTHER_KEY))["session_id"]


def test_a_session_token_sends_frames_to_its_own_session_only(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    a01 = fixture_bytes["A01_frontal_webcam_man.png"]
    mine, other = start(client, key()), start(client, key())
    token = mine["session_token"]
    assert token.startswith("st1.") and KEY not in token

    ok = frame(client, mine["session_id"], a01, bearer(token), ts=0.0)
    assert ok.status_code == 200 and ok.json()["faces"] == 1
    refused(frame(client, other["session_id"], a01, bearer(token), ts=0.0), 403, "forbidden")
    refused(
        client.post("/end-session", json={"session_id": mine["session_id"]}, headers=bearer(token)),
        403,
        "forbidden",
    )
    refused(
        client.post("/start-session", json={"candidate_id": "c"}, headers=bearer(token)), 403, "forbidden"
    )
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused(frame(client, mine["session_id"], a01, bearer(tampered), ts=0.5), 401, "unauthorized")

    ended = client.post("/end-session", json={"session_id": mine["session_id"]}, headers=key())
    assert ended.status_code == 200 and ended.json()["summary"]["frames_analyzed"] == 1
    # The token lives no longer than its session.
    refused(frame(client, mine["session_id"], a01, bearer(token), ts=1.0), 409, "session_ended")


def test_the_websocket_checks_credentials_before_reading_any_frame(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    for bad in ("", "?access_token=nope"):
        assert isinstance(client, TestClient)
        with pytest.raises(WebSocketDisconnect) as refused_handshake:  # closed before it is accepted
            client.websocket_connect("/ws/stream" + bad).__enter__()
        assert refused_handshake.value.code == 1008

    mine, other = start(client, key()), start(client, key())
    ws = LocalWs(client, path=f"/ws/stream?access_token={mine['session_token']}")
    assert ws.send({"action": "resume", "session_id": other["session_id"]})["code"] == "forbidden"
    assert ws.send({"action": "start", "candidate_id": "c"})["code"] == "forbidden"
    assert ws.send({"action": "resume", "session_id": mine["session_id"]})["type"] == "session_resumed"
    analysis = ws.send({"action": "frame", "frame": b64(fixture_bytes["A01_frontal_webcam_man.png"])})
    assert analysis["type"] == "analysis" and analysis["faces"] == 1
    assert ws.send({"action": "end"})["code"] == "forbidden"
    ws.close()
    ws = LocalWs(client, headers=key())
    assert ws.send({"action": "resume", "session_id": mine["session_id"]})["type"] == "session_resumed"
    assert ws.send({"action": "end"})["summary"]["frames_analyzed"] == 1
    ws.close()


def test_frames_beyond_the_rate_are_refused_with_retry_after_and_not_booked(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    a01 = fixture_bytes["A01_frontal_webcam_man.png"]
    session = start(client, key())
    statuses = []
    for i in range(6):  # far faster than 2 fps: the burst of 3 passes, then refusals
        response = frame(client, session["session_id"], a01, bearer(session["session_token"]), ts=i * 0.5)
        statuses.append(response.status_code)
        if response.status_code == 429:
            body = refused(response, 429, "rate_limited")
            assert int(response.headers["retry-after"]) >= 1 and 0 < body["retry_after"] <= 1.0
    accepted = statuses.count(200)
    assert 3 <= accepted < 6 and statuses.count(429) == 6 - accepted
    summary = client.post("/end-session", json={"session_id": session["session_id"]}, headers=key()).json()
    assert summary["summary"]["frames_analyzed"] == accepted


def test_new_sessions_per_key_are_limited(client: httpx.Client) -> None:
    outcomes = [
        client.post("/start-session", json={"candidate_id": f"c{i}"}, headers=key(OTHER_KEY))
        for i in range(20)
    ]
    codes = [r.status_code for r in outcomes]
    assert 200 in codes and 429 in codes
    limited = outcomes[codes.index(429)]
    assert refused(limited, 429, "rate_limited") and int(limited.headers["retry-after"]) >= 1
    assert client.post("/start-session", json={"candidate_id": "c"}, headers=key()).status_code == 200


def test_cors_headers_only_for_listed_origins(client: httpx.Client) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = client.options("/analyze-frame", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    stranger = client.options("/analyze-frame", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in stranger.headers
    health = client.get("/health", headers={"Origin": "https://evil.example"})
    assert health.status_code == 200 and "access-control-allow-origin" not in health.headers
    listed = client.get("/health", headers={"Origin": ORIGIN})
    assert listed.headers["access-control-allow-origin"] == ORIGIN


def test_an_oversized_body_gets_a_413_answer(client: httpx.Client) -> None:
    session = start(client, key())
    huge = json.dumps({"session_id": session["session_id"], "frame": "A" * (6 * MAX_FRAME_BYTES)})
    response = client.post(
        "/analyze-frame", content=huge, headers={**key(), "Content-Type": "application/json"}
    )
    body = refused(response, 413, "frame_too_large")
    assert "limit" in body["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for i in range(0, len(huge), 256 * 1024):
            yield huge[i : i + 256 * 1024].encode()

    chunked = client.post(
        "/analyze-frame", content=chunks(), headers={**key(), "Content-Type": "application/json"}
    )
    refused(chunked, 413, "frame_too_large")
    assert client.get("/health").status_code == 200
