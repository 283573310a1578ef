"""The session shard: a long-lived Ray actor holding many sessions, each run by a SessionManager.

One actor per session would cost ~80 MB and a second to create, so sessions are spread over a few
actors by a stable hash of the session id (``serve_app.shard_client``). The actors are named and
detached: they must outlive the ingress replica that happened to create them. An actor that has
held no session for ``idle_exit_s`` exits, so shards of a deleted application do not linger.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import ray
from pydantic import BaseModel, ConfigDict
from ray.exceptions import AsyncioActorExit

from integrity.session.manager import SessionManager
from integrity.session.rate_limit import Rate, RateLimiter
from integrity.session.record import ReviewDecision, SessionRecord
from integrity.session.risk.config import RiskConfig
from integrity.session.state import EndOutcome, FrameFacts, FrameOutcome, FramePlan, SessionState
from integrity.session.store import MemoryStore, RedisStore, SessionStore

logger = logging.getLogger(__name__)


class ShardOptions(BaseModel):
    """What a shard is built from (the app builder derives it from the settings)."""

    model_config = ConfigDict(frozen=True)

    use_redis: bool = False
    redis_url: str = "redis://localhost:6379/0"
    expire_seconds: float = 900.0
    idle_exit_s: float = 7200.0
    log_level: str = "info"
    frames_per_s: float = 0.0  # per session; 0: no limit
    frame_burst: float = 1.0
    starts_per_minute: float = 0.0  # per API key; 0: no limit
    trust_client_time: bool = False  # replays only: run sessions on the client's timestamps
    record_retention_s: float = 30 * 86400.0  # records of ended sessions are kept this long


class ShardStats(BaseModel):
    shard: int
    pid: int
    sessions: int
    expired_total: int
    store: str
    started_at: float
    state_bytes: int | None = None


def make_store(options: ShardOptions) -> SessionStore:
    if options.use_redis:
        return RedisStore(options.redis_url, options.expire_seconds)
    return MemoryStore()


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)
class SessionShard:
    """An async actor: calls interleave only at awaits, so a session's updates never race."""

    def __init__(self, options: ShardOptions, config: RiskConfig, index: int) -> None:
        logging.basicConfig(level=options.log_level.upper())
        self.index = index
        self.store = make_store(options)
        self.manager = SessionManager(
            self.store,
            config,
            options.expire_seconds,
            record_retention_s=options.record_retention_s,
            trust_client_time=options.trust_client_time,
        )
        self.frames = RateLimiter(Rate(options.frames_per_s, options.frame_burst), "frames of this session")
        self.starts = RateLimiter(
            Rate(options.starts_per_minute / 60.0, max(1.0, options.starts_per_minute / 6.0)),
            "new sessions for this API key",
        )
        self.sweep_interval_s = max(0.5, min(30.0, options.expire_seconds / 4))
        self.idle_exit_s = options.idle_exit_s
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
                    and not self.store.holds_records()  # in-memory records must outlive the session
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
        for session_id in expired:
            self.frames.forget(session_id)
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
        """Validate the session, then admit the frame under the session's rate (nothing is booked)."""
        self._touch()
        plan = await self.manager.plan_frame(session_id, timestamp)
        self.frames.take(session_id)
        return plan

    async def take_start(self, key_id: str) -> None:
        """Admit one new session for this API key under the per-key rate, or raise RateLimited."""
        self._touch()
        self.starts.take(key_id)

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        self._touch()
        return await self.manager.record_frame(session_id, facts)

    async def end(self, session_id: str) -> EndOutcome:
        self._touch()
        outcome = await self.manager.end(session_id)
        self.frames.forget(session_id)
        return outcome

    async def count(self) -> int:
        self._touch()
        return await self.manager.count()

    async def record(self, session_id: str) -> SessionRecord:
        self._touch()
        return await self.manager.record(session_id)

    async def review(
        self, session_id: str, event_id: str, decision: ReviewDecision, note: str | None, reviewer: str
    ) -> SessionRecord:
        self._touch()
        return await self.manager.review(session_id, event_id, decision, note, reviewer)

    async def stats(self) -> ShardStats:
        self._touch()
        return ShardStats(
            shard=self.index,
            pid=os.getpid(),
            sessions=await self.manager.count(),
            expired_total=self.expired_total,
            store=type(self.store).__name__,
            started_at=self.started_at,
            state_bytes=self.store.memory_bytes() if isinstance(self.store, MemoryStore) else None,
        )
