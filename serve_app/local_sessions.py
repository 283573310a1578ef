"""Sessions in this process: one ``SessionHost`` behind the same calls as the shard client
(``serve_app.shard_client.SessionShards``), for the in-process service (tests, offline analysis).

The clocks are parameters, so tests drive expiry, rates and the realtime verdict with a fake clock.
"""

from __future__ import annotations

import time
from typing import Any

from integrity.session.host import Clock, SessionHost, ShardStats
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
from serve_app.settings import Settings


class LocalSessions:
    def __init__(
        self,
        settings: Settings,
        config: RiskConfig,
        *,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
    ) -> None:
        self.host = SessionHost(settings.shard_options, config, clock=clock, monotonic=monotonic)

    async def create(
        self,
        session_id: str,
        candidate_id: str,
        metadata: dict[str, Any],
        timestamp: float | None,
        policy: EffectivePolicy | None = None,
    ) -> SessionState:
        return await self.host.create(session_id, candidate_id, metadata, timestamp, policy)

    async def take_start(self, key_id: str) -> None:
        await self.host.take_start(key_id)

    async def get(self, session_id: str) -> SessionState:
        return await self.host.get(session_id)

    async def plan_frame(self, session_id: str, timestamp: float | None) -> FramePlan:
        return await self.host.plan_frame(session_id, timestamp)

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        return await self.host.record_frame(session_id, facts)

    async def record_objects(self, session_id: str, facts: FrameFacts) -> ObjectOutcome:
        return await self.host.record_objects(session_id, facts)

    async def record_identity(self, session_id: str, check: IdentityCheck) -> IdentityOutcome:
        return await self.host.record_identity(session_id, check)

    async def end(self, session_id: str) -> EndOutcome:
        return await self.host.end(session_id)

    async def record(self, session_id: str) -> SessionRecord:
        return await self.host.record(session_id)

    async def review(
        self, session_id: str, event_id: str, decision: ReviewDecision, note: str | None, reviewer: str
    ) -> SessionRecord:
        return await self.host.review(session_id, event_id, decision, note, reviewer)

    async def count(self) -> int:
        return await self.host.count()

    async def stats(self) -> list[ShardStats]:
        return [await self.host.stats()]

    async def sweep(self) -> list[str]:
        """Expire idle sessions now (the shard actors do it on a timer)."""
        return await self.host.sweep()
