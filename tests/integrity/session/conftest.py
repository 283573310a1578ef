"""Session-engine fixtures: a settable server clock, and each store (memory, and a real Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from integrity.session.store import MemoryStore, RedisStore, SessionStore
from tests.conftest import RedisServer


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
async def store(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[SessionStore]:
    """Each test module defines the ``clock`` its sessions run on."""
    if request.param == "memory":
        yield MemoryStore(clock=clock)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    redis_store = RedisStore(server.url, expire_seconds=60)
    await redis_store._redis.flushdb()
    try:
        yield redis_store
    finally:
        await redis_store.close()
