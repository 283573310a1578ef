"""USE_REDIS=true: sessions live in a real redis-server and survive their actor's restart."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import ray

from deployments.sessions import ShardStats
from integrity.session.risk.config import RiskConfig
from serve_app.settings import Settings
from serve_app.shard_client import NAMESPACE, SessionShards
from tests.conftest import RedisServer
from tests.integration.conftest import UNLIMITED, analyze, end, running_app, start

pytestmark = [pytest.mark.integration, pytest.mark.redis]


@pytest.fixture(scope="module")
def redis_settings(redis_server: RedisServer) -> dict[str, Any]:
    return {"use_redis": True, "redis_url": redis_server.url, "session_shards": 2}


@pytest.fixture(scope="module")
def client(serve_port: int, redis_settings: dict[str, Any]) -> Iterator[httpx.Client]:
    with running_app(serve_port, **redis_settings) as http:
        yield http


def test_session_survives_its_actor_being_killed(
    client: httpx.Client, redis_settings: dict[str, Any], fixture_bytes: dict[str, bytes]
) -> None:
    two_faces = fixture_bytes["A03_two_faces_webcam.png"]
    session_id = start(client, "redis-candidate")
    for t in range(3):  # 1.0 s of two faces: not yet an event (MULTIPLE_FACES holds 1.5 s)
        assert analyze(client, session_id, two_faces, ts=t * 0.5)["events"] == []
    assert client.get("/health").json()["active_sessions"] >= 1

    settings = Settings(**{**UNLIMITED, **redis_settings})
    shards = SessionShards(settings, RiskConfig.load())
    actor = ray.get_actor(shards.names[shards.index_of(session_id)], namespace=NAMESPACE)
    shard: Any = actor  # Ray's stubs type actor method results loosely
    born: float = ray.get(shard.stats.remote()).started_at
    ray.kill(actor, no_restart=False)  # the process dies; Ray restarts the actor with empty memory
    deadline = time.monotonic() + 30
    while True:
        try:
            stats: ShardStats = ray.get(shard.stats.remote(), timeout=5)
            if stats.started_at > born:
                break
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            pass
        assert time.monotonic() < deadline, "the shard actor did not restart"
        time.sleep(0.2)

    raised = analyze(client, session_id, two_faces, ts=1.5)["events"]
    assert raised == ["MULTIPLE_FACES"]  # the debounce run begun before the restart went on
    ended = end(client, session_id)
    assert ended["summary"]["frames_analyzed"] == 4
    assert ended["summary"]["event_counts"] == {"MULTIPLE_FACES": 1}
    assert client.post("/end-session", json={"session_id": session_id}).json()["code"] == "session_ended"


def shard_of(session_id: str, redis_settings: dict[str, Any]) -> Any:
    settings = Settings(**{**UNLIMITED, **redis_settings})
    shards = SessionShards(settings, RiskConfig.load())
    actor: Any = ray.get_actor(shards.names[shards.index_of(session_id)], namespace=NAMESPACE)
    return actor


def test_sigkill_of_the_session_holder_loses_no_recorded_event(
    client: httpx.Client, redis_settings: dict[str, Any], fixture_bytes: dict[str, bytes]
) -> None:
    session_id = start(client, "sigkill-candidate")
    frames = [(fixture_bytes["A03_two_faces_webcam.png"], t * 0.5) for t in range(5)]
    frames += [(fixture_bytes["A07_no_person_pen_on_paper.jpg"], 2.5 + t * 0.5) for t in range(6)]
    raised = [event for data, ts in frames for event in analyze(client, session_id, data, ts=ts)["events"]]
    assert {"MULTIPLE_FACES", "NO_FACE"} <= set(raised)

    shard = shard_of(session_id, redis_settings)
    before: ShardStats = ray.get(shard.stats.remote())
    os.kill(before.pid, signal.SIGKILL)  # no goodbye: the process is gone mid-session
    deadline = time.monotonic() + 60
    while True:
        try:
            after: ShardStats = ray.get(shard.stats.remote(), timeout=5)
            if after.pid != before.pid:
                break
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            pass
        assert time.monotonic() < deadline, "the shard actor did not come back"
        time.sleep(0.2)

    summary = end(client, session_id)["summary"]
    assert summary["frames_analyzed"] == len(frames)
    assert summary["event_counts"] == dict(Counter(raised))  # every event raised before the kill
    assert [e["type"] for e in summary["timeline"]] == raised
