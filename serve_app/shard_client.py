"""A typed client for the session shard actors: one method per actor call, retry policy per method.

Every ingress replica computes the same shard for a session id (a stable hash), so any replica can
serve any session. Shard actor names carry a fingerprint of the code version and of everything the
shards are built from, so a redeploy with other settings gets fresh actors.
"""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, TypeVar

from ray.exceptions import RayActorError

from deployments.sessions import SessionShard
from integrity import __version__
from integrity.core.errors import SessionStoreUnavailable
from integrity.session.host import ShardStats
from integrity.session.identity_watch import IdentityCheck
from integrity.session.policy import EffectivePolicy
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
from serve_app.remote import unwrap
from serve_app.settings import Settings

NAMESPACE = "interview_integrity"
T = TypeVar("T")


class Retry(Enum):
    """What to do when a shard actor died under a call."""

    ONCE = "once"  # reads, and writes that are safe to send twice: resolve the name again and resend
    NEVER = "never"  # changes that may have half-happened in the dead actor: refuse, the client retries


def shard_fingerprint(settings: Settings, config: RiskConfig) -> str:
    """Changes whenever the code version or anything the shards are built from changes."""
    options = settings.shard_options
    # The shard count too: sessions are placed by hash modulo the count, so another count is
    # another set of shards (sessions in memory would otherwise be looked for in the wrong one).
    count = str(settings.session_shards)
    material = "|".join([__version__, count, options.model_dump_json(), config.model_dump_json()])
    return hashlib.sha1(material.encode(), usedforsecurity=False).hexdigest()[:10]


def shard_index(session_id: str, shards: int) -> int:
    return zlib.crc32(session_id.encode()) % shards


class SessionShards:
    """Finds (or creates) the shard actors and routes each session id to its shard."""

    def __init__(self, settings: Settings, config: RiskConfig) -> None:
        self.use_redis = settings.use_redis
        self.options = settings.shard_options
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
            ).remote(self.options, self.config, index)
        return self._handles[index]

    def index_of(self, session_id: str) -> int:
        return shard_index(session_id, len(self.names))

    # -- one method per actor call --------------------------------------------------------------
    async def create(
        self,
        session_id: str,
        candidate_id: str,
        metadata: dict[str, Any],
        timestamp: float | None,
        policy: EffectivePolicy | None = None,
    ) -> SessionState:
        # Safe to resend: the id is new, so a create that half-happened is simply overwritten.
        return await self._call(
            self.index_of(session_id),
            Retry.ONCE,
            lambda h: h.create.remote(session_id, candidate_id, metadata, timestamp, policy),
        )

    async def take_start(self, key_id: str) -> None:
        """Count one new session against the API key's rate (raises RateLimited)."""
        await self._call(self.index_of(key_id), Retry.ONCE, lambda h: h.take_start.remote(key_id))

    async def get(self, session_id: str) -> SessionState:
        return await self._call(self.index_of(session_id), Retry.ONCE, lambda h: h.get.remote(session_id))

    async def plan_frame(self, session_id: str, timestamp: float | None) -> FramePlan:
        return await self._call(
            self.index_of(session_id), Retry.ONCE, lambda h: h.plan_frame.remote(session_id, timestamp)
        )

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        return await self._call(
            self.index_of(session_id), Retry.NEVER, lambda h: h.record_frame.remote(session_id, facts)
        )

    async def record_objects(self, session_id: str, facts: FrameFacts) -> ObjectOutcome:
        return await self._call(
            self.index_of(session_id), Retry.NEVER, lambda h: h.record_objects.remote(session_id, facts)
        )

    async def record_identity(self, session_id: str, check: IdentityCheck) -> IdentityOutcome:
        return await self._call(
            self.index_of(session_id), Retry.NEVER, lambda h: h.record_identity.remote(session_id, check)
        )

    async def end(self, session_id: str) -> EndOutcome:
        return await self._call(self.index_of(session_id), Retry.NEVER, lambda h: h.end.remote(session_id))

    async def record(self, session_id: str) -> SessionRecord:
        return await self._call(self.index_of(session_id), Retry.ONCE, lambda h: h.record.remote(session_id))

    async def review(
        self, session_id: str, event_id: str, decision: ReviewDecision, note: str | None, reviewer: str
    ) -> SessionRecord:
        # Safe to resend: a decision replaces the previous one on the same event.
        return await self._call(
            self.index_of(session_id),
            Retry.ONCE,
            lambda h: h.review.remote(session_id, event_id, decision, note, reviewer),
        )

    async def count(self) -> int:
        counts: list[int] = await asyncio.gather(
            *(self._call(i, Retry.ONCE, lambda h: h.count.remote()) for i in range(len(self.names)))
        )
        if self.use_redis:
            return max(counts)  # every shard sees the same Redis set
        return sum(counts)

    async def stats(self) -> list[ShardStats]:
        return list(
            await asyncio.gather(
                *(self._call(i, Retry.ONCE, lambda h: h.stats.remote()) for i in range(len(self.names)))
            )
        )

    async def _call(self, index: int, retry: Retry, send: Callable[[Any], Awaitable[T]]) -> T:
        try:
            return await unwrap(send(self.handle(index)))
        except RayActorError as exc:
            lost = exc
        # The shard exited (idle), was lost for good, or cannot be reached: resolve the name again.
        handle = self.handle(index, refresh=True)
        if retry is Retry.NEVER:
            raise SessionStoreUnavailable("the session store restarted during the call; retry") from lost
        try:
            return await unwrap(send(handle))
        except RayActorError as exc:
            # Still unreachable: its node is lost and Ray has not yet declared it dead (~15 s by
            # default), so the actor is neither alive nor restarted. Refused like any store outage.
            raise SessionStoreUnavailable("the session store is unreachable; retry") from exc
