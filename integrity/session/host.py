"""A host of many sessions: the session engine with its store, the per-session frame rate and the
per-API-key start rate, idle expiry and statistics.

What a session shard is, without Ray: the shard actor (``deployments/sessions.py``) is a thin
wrapper over one host, and the in-process service (``serve_app/local_sessions.py``) uses one
directly. Both therefore book frames, refuse over-rate frames and expire idle sessions alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from integrity.session.identity_watch import IdentityCheck
from integrity.session.manager import SessionManager
from integrity.session.policy import EffectivePolicy
from integrity.session.rate_limit import Rate, RateLimiter
from integrity.session.record import ReviewDecision, SessionRecord
from integrity.session.risk.config import RiskConfig
from integrity.session.state import (
    EndOutcome,
    FrameFacts,
    FrameOutcome,
    FramePlan,
    IdentityOutcome,
    ObjectOutcome,
    SessionState,
)
from integrity.session.store import MemoryStore, RedisStore, SessionStore

Clock = Callable[[], float]


class ShardOptions(BaseModel):
    """What a host is built from (the app builder derives it from the settings)."""

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


def make_store(options: ShardOptions, clock: Clock = time.time) -> SessionStore:
    if options.use_redis:
        return RedisStore(options.redis_url, options.expire_seconds)
    return MemoryStore(clock)


class SessionHost:
    """Sessions, their rates and their expiry. Not thread-safe: one event loop calls it (an async
    actor, or the in-process service's loop); a session's updates are serialised by the manager."""

    def __init__(
        self,
        options: ShardOptions,
        config: RiskConfig,
        index: int = 0,
        *,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
    ) -> None:
        self.index = index
        self.store = make_store(options, clock)
        self.manager = SessionManager(
            self.store,
            config,
            options.expire_seconds,
            clock=clock,
            record_retention_s=options.record_retention_s,
            trust_client_time=options.trust_client_time,
        )
        self.frames = RateLimiter(
            Rate(options.frames_per_s, options.frame_burst), "frames of this session", clock=monotonic
        )
        self.starts = RateLimiter(
            Rate(options.starts_per_minute / 60.0, max(1.0, options.starts_per_minute / 6.0)),
            "new sessions for this API key",
            clock=monotonic,
        )
        self.sweep_interval_s = max(0.5, min(30.0, options.expire_seconds / 4))
        self.expired_total = 0
        self.started_at = clock()

    async def sweep(self) -> list[str]:
        """End the sessions idle for longer than the expiry; returns their ids."""
        expired = await self.manager.expire_idle()
        for session_id in expired:
            self.frames.forget(session_id)
        self.expired_total += len(expired)
        return expired

    async def empty(self) -> bool:
        """No open session, and no ended session's record held in this process's memory."""
        return await self.manager.count() == 0 and not self.store.holds_records()

    async def create(
        self,
        session_id: str,
        candidate_id: str,
        metadata: dict[str, Any],
        timestamp: float | None,
        policy: EffectivePolicy | None = None,
    ) -> SessionState:
        return await self.manager.create(candidate_id, metadata, timestamp, session_id, policy)

    async def take_start(self, key_id: str) -> None:
        """Admit one new session for this API key under the per-key rate, or raise RateLimited."""
        self.starts.take(key_id)

    async def get(self, session_id: str) -> SessionState:
        return await self.manager.get(session_id)

    async def plan_frame(self, session_id: str, timestamp: float | None) -> FramePlan:
        """Validate the session, then admit the frame under the session's rate (nothing is booked)."""
        plan = await self.manager.plan_frame(session_id, timestamp)
        self.frames.take(session_id)
        return plan

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        return await self.manager.record_frame(session_id, facts)

    async def record_objects(self, session_id: str, facts: FrameFacts) -> ObjectOutcome:
        return await self.manager.record_objects(session_id, facts)

    async def record_identity(self, session_id: str, check: IdentityCheck) -> IdentityOutcome:
        return await self.manager.record_identity(session_id, check)

    async def end(self, session_id: str) -> EndOutcome:
        outcome = await self.manager.end(session_id)
        self.frames.forget(session_id)
        return outcome

    async def count(self) -> int:
        return await self.manager.count()

    async def record(self, session_id: str) -> SessionRecord:
        return await self.manager.record(session_id)

    async def review(
        self, session_id: str, event_id: str, decision: ReviewDecision, note: str | None, reviewer: str
    ) -> SessionRecord:
        return await self.manager.review(session_id, event_id, decision, note, reviewer)

    async def stats(self) -> ShardStats:
        return ShardStats(
            shard=self.index,
            pid=os.getpid(),
            sessions=await self.manager.count(),
            expired_total=self.expired_total,
            store=type(self.store).__name__,
            started_at=self.started_at,
            state_bytes=self.store.memory_bytes() if isinstance(self.store, MemoryStore) else None,
        )
