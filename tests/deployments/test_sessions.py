"""Session shard actors on the test session's real Ray: routing, errors across the actor boundary, expiry."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
import ray

from deployments.sessions import SessionShard
from integrity.core.errors import SessionExpired, SessionNotFound
from integrity.session.risk.config import RiskConfig
from serve_app.settings import Settings
from serve_app.shard_client import NAMESPACE, SessionShards, shard_fingerprint, shard_index


def test_routing_is_stable_and_spreads_sessions() -> None:
    ids = [f"session-{i}" for i in range(4000)]
    assert [shard_index(i, 4) for i in ids] == [shard_index(i, 4) for i in ids]
    spread = Counter(shard_index(i, 4) for i in ids)
    assert set(spread) == {0, 1, 2, 3}
    assert min(spread.values()) > 800  # ~1000 each


def test_fingerprint_changes_with_what_the_shards_are_built_from() -> None:
    config = RiskConfig.load()
    base = shard_fingerprint(Settings(), config)
    assert base == shard_fingerprint(Settings(), config)
    assert base != shard_fingerprint(Settings(session_expire_seconds=5), config)
    assert base != shard_fingerprint(Settings(use_redis=True), config)
    assert base != shard_fingerprint(Settings(session_shards=Settings().session_shards + 1), config)


async def test_errors_cross_the_actor_boundary_as_themselves(ray_session: None) -> None:
    shards = SessionShards(Settings(session_shards=2, session_expire_seconds=300), RiskConfig.load())
    with pytest.raises(SessionNotFound, match="does not exist"):
        await shards.plan_frame("missing", None)
    state = await shards.create("abc", "cand", {}, None)
    assert state.session_id == "abc"
    assert await shards.count() >= 1
    await shards.end("abc")


async def test_idle_sessions_expire_and_the_actor_frees_them(ray_session: None) -> None:
    settings = Settings(session_shards=1, session_expire_seconds=1.0)
    config = RiskConfig.load()
    shards = SessionShards(settings, config)
    for i in range(3):
        await shards.create(f"s{i}", "cand", {"i": i}, None)
    stats = (await shards.stats())[0]
    assert stats.sessions == 3 and (stats.state_bytes or 0) > 0

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the actor's own sweeper runs every 0.5 s here
        if not (await shards.stats())[0].sessions:
            break
        await asyncio.sleep(0.25)
    final = (await shards.stats())[0].model_dump(exclude={"started_at", "pid"})
    assert final == {"shard": 0, "sessions": 0, "expired_total": 3, "store": "MemoryStore", "state_bytes": 0}
    with pytest.raises(SessionExpired):
        await shards.plan_frame("s1", None)


def test_shards_are_named_detached_actors_any_replica_finds(ray_session: None) -> None:
    settings = Settings(session_shards=2, session_expire_seconds=123)
    config = RiskConfig.load()
    first, second = SessionShards(settings, config), SessionShards(settings, config)
    assert first.names == second.names
    handle = first.handle(1)
    assert ray.get(handle.count.remote()) == 0
    found = ray.get_actor(first.names[1], namespace=NAMESPACE)
    assert found._actor_id == second.handle(1)._actor_id == handle._actor_id
    assert SessionShard is not None


async def test_an_idle_shard_exits_and_is_recreated_on_demand(ray_session: None) -> None:
    """Detached shards must not outlive a deleted application forever: idle ones exit."""
    settings = Settings(session_shards=1, session_expire_seconds=1.0, session_shard_idle_exit_s=1.0)
    shards = SessionShards(settings, RiskConfig.load())
    first = shards.handle(0)
    assert await first.count.remote() == 0
    await asyncio.sleep(4.0)  # no calls (a call is activity): idle 1 s, swept every 0.5 s
    with pytest.raises(ray.exceptions.RayActorError):
        await asyncio.wait_for(first.count.remote(), timeout=10)
    # The next call finds the name free, starts a fresh shard and answers.
    assert await shards.count() == 0
    await shards.create("after", "cand", {}, None)
    assert await shards.count() == 1
