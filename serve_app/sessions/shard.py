"""Sessions held by a few long-lived Ray actors ("shards"), each running a SessionManager.

One actor per session would cost ~80 MB and ~1 s to create here, so sessions are spread over
``SESSION_SHARDS`` actors by a stable hash of the session id; every ingress replica computes the
same shard, so any replica can serve any session. The actors are named and detached: they must
outlive the ingress replica that happened to create them (replicas come and go with autoscaling).
Their names carry a fingerprint of the code version and configuration, so a redeploy with other
settings gets fresh actors, and an actor that has held no session for ``idle_exit_s`` exits, so
shards of a deleted application do not linger.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import zlib
from typing import Any

import ray
from ray.exceptions import AsyncioActorExit, RayActorError

from serve_app import __version__
from serve_app.errors import SessionStoreUnavailable
from serve_app.risk.config import RiskConfig
from serve_app.sessions.manager import SessionManager
from serve_app.sessions.state import EndOutcome, FrameFacts, FrameOutcome, FramePlan, SessionState
from serve_app.sessions.store import MemoryStore, RedisStore, SessionStore
from serve_app.settings import Settings

logger = logging.getLogger(__name__)

NAMESPACE = "interview_integrity"
REPEATABLE = frozenset({"get", "plan_frame", "count", "stats", "create"})  # safe to send twice


def make_store(settings: Settings) -> SessionStore:
    if settings.use_redis:
        return RedisStore(settings.redis_url, settings.session_expire_seconds)
    return MemoryStore()


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)
class SessionShard:
    """An async actor: calls interleave only at awaits, so a session's updates never race."""

    def __init__(self, settings: Settings, config: RiskConfig, index: int) -> None:
        logging.basicConfig(level=settings.log_level.upper())
        self.index = index
        self.settings = settings
        self.store = make_store(settings)
        self.manager = SessionManager(self.store, config, settings.session_expire_seconds)
        self.sweep_interval_s = max(0.5, min(30.0, settings.session_expire_seconds / 4))
        self.idle_exit_s = settings.session_shard_idle_exit_s
        self.last_call = time.monotonic()
        self.expired_total = 0
        self.started_at = time.time()
        self._sweeper: asyncio.Task[None] | None = None

    def _touch(self) -> None:
        self.last_call = time.monotonic()
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval_s)
            try:
                await self.sweep()
                idle = (
                    self.idle_exit_s > 0
                    and await self.manager.count() == 0
                    and time.monotonic() - self.last_call > self.idle_exit_s
                )
            except Exception:  # keep sweeping whatever one pass hit (e.g. Redis briefly down)
                logger.exception("session sweep failed")
                continue
            if idle:
                logger.info("session shard %s idle for %.0f s: exiting", self.index, self.idle_exit_s)
                try:
                    ray.actor.exit_actor()  # marks the actor to exit (not restarted), then raises
                except AsyncioActorExit:
                    return

    async def sweep(self) -> list[str]:
        expired = await self.manager.expire_idle()
        self.expired_total += len(expired)
        if expired:
            logger.info("expired %d idle session(s)", len(expired))
        return expired

    async def create(
        self,
        candidate_id: str,
        metadata: dict[str, Any],
        timestamp: float | None,
        session_id: str,
    ) -> SessionState:
        self._touch()
        return await self.manager.create(candidate_id, metadata, timestamp, session_id)

    async def get(self, session_id: str) -> SessionState:
        self._touch()
        return await self.manager.get(session_id)

    async def plan_frame(self, session_id: str, timestamp: float | None) -> FramePlan:
        self._touch()
        return await self.manager.plan_frame(session_id, timestamp)

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        self._touch()
        return await self.manager.record_frame(session_id, facts)

    async def end(self, session_id: str) -> EndOutcome:
        self._touch()
        return await self.manager.end(session_id)

    async def count(self) -> int:
        self._touch()
        return await self.manager.count()

    async def stats(self) -> dict[str, Any]:
        self._touch()
        stats: dict[str, Any] = {
            "shard": self.index,
            "sessions": await self.manager.count(),
            "expired_total": self.expired_total,
            "store": type(self.store).__name__,
            "started_at": self.started_at,
        }
        if isinstance(self.store, MemoryStore):
            stats["state_bytes"] = self.store.memory_bytes()
        return stats


def shard_fingerprint(settings: Settings, config: RiskConfig) -> str:
    """Changes whenever the code version or anything the shards are built from changes."""
    material = "|".join(
        [
            __version__,
            str(settings.use_redis),
            settings.redis_url if settings.use_redis else "",
            repr(settings.session_expire_seconds),
            repr(settings.session_shard_idle_exit_s),
            config.model_dump_json(),
        ]
    )
    return hashlib.sha1(material.encode(), usedforsecurity=False).hexdigest()[:10]


def shard_index(session_id: str, shards: int) -> int:
    return zlib.crc32(session_id.encode()) % shards


class SessionShards:
    """Finds (or creates) the shard actors and routes each session id to its shard."""

    def __init__(self, settings: Settings, config: RiskConfig) -> None:
        self.settings = settings
        self.config = config
        fingerprint = shard_fingerprint(settings, config)
        self.names = [f"sessions-{fingerprint}-{i}" for i in range(settings.session_shards)]
        self._handles: list[Any] = [None] * settings.session_shards

    def handle(self, index: int, refresh: bool = False) -> Any:
        if refresh or self._handles[index] is None:
            self._handles[index] = SessionShard.options(  # type: ignore[attr-defined]
                name=self.names[index],
                namespace=NAMESPACE,
                lifetime="detached",
                get_if_exists=True,
            ).remote(self.settings, self.config, index)
        return self._handles[index]

    def index_of(self, session_id: str) -> int:
        return shard_index(session_id, len(self.names))

    async def call(self, session_id: str, method: str, *args: Any) -> Any:
        return await self.call_shard(self.index_of(session_id), method, *args)

    async def call_shard(self, index: int, method: str, *args: Any) -> Any:
        try:
            return await getattr(self.handle(index), method).remote(*args)
        except RayActorError as exc:
            # The shard exited (idle) or was lost for good: resolve the name again. Calls that
            # change a session may have half-happened in the dead actor, so they are not replayed.
            handle = self.handle(index, refresh=True)
            if method not in REPEATABLE:
                raise SessionStoreUnavailable(f"the session store restarted during {method}; retry") from exc
            return await getattr(handle, method).remote(*args)

    async def count(self) -> int:
        counts: list[int] = await asyncio.gather(
            *(self.call_shard(i, "count") for i in range(len(self.names)))
        )
        if self.settings.use_redis:
            return max(counts)  # every shard sees the same Redis set
        return sum(counts)

    async def stats(self) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(self.call_shard(i, "stats") for i in range(len(self.names)))))
