"""Redis stopped mid-session: frames refused with 503 + Retry-After, /health degraded, nothing
half-written; Redis back: the same session continues where it was."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RedisServer, started_redis
from tests.integration.conftest import analyze, b64, end, running_app, start

pytestmark = [pytest.mark.integration, pytest.mark.redis]


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    """A server of this module's own: the test stops it."""
    with started_redis() as server:
        yield server


@pytest.fixture(scope="module")
def client(serve_port: int, own_redis: RedisServer) -> Iterator[httpx.Client]:
    with running_app(serve_port, use_redis=True, redis_url=own_redis.url, session_shards=1) as http:
        yield http


def test_redis_down_refuses_frames_and_the_session_continues_when_it_returns(
    client: httpx.Client, own_redis: RedisServer, fixture_bytes: dict[str, bytes]
) -> None:
    two_faces = fixture_bytes["A03_two_faces_webcam.png"]
    session_id = start(client, "outage-candidate")
    raised = [e for t in range(4) for e in analyze(client, session_id, two_faces, ts=t * 0.5)["events"]]
    assert "MULTIPLE_FACES" in raised  # raised at 1.5 s

    own_redis.stop()
    started = time.monotonic()
    response = client.post(
        "/analyze-frame", json={"session_id": session_id, "frame": b64(two_faces), "timestamp": 2.0}
    )
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "session_store_unavailable"
    assert int(response.headers["retry-after"]) >= 1
    assert time.monotonic() - started < 10  # refused, not hung
    health = client.get("/health").json()
    assert health["status"] == "degraded" and health["active_sessions"] == 0  # the store did not answer

    own_redis.restart()
    deadline = time.monotonic() + 30
    while True:  # the store reconnects on its own; the client retries as Retry-After says
        response = client.post(
            "/analyze-frame", json={"session_id": session_id, "frame": b64(two_faces), "timestamp": 2.5}
        )
        if response.status_code == 200:
            raised += response.json()["events"]
            break
        assert response.status_code == 503 and time.monotonic() < deadline, response.text
        time.sleep(1.0)
    assert client.get("/health").json()["active_sessions"] == 1  # the store answers again
    summary = end(client, session_id)["summary"]
    assert summary["frames_analyzed"] == 5  # 4 before, the refused one not booked, 1 after
    assert summary["event_counts"] == dict(Counter(raised))
