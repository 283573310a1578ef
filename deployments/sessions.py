"""The session shard: a long-lived Ray actor holding many sessions, a thin wrapper over a
``SessionHost`` (integrity/session/host.py), which the in-process service uses directly.

One actor per session would cost ~80 MB and a second to create, so sessions are spread over a few
actors by a stable hash of the session id (``serve_app.shard_client``). The actors are named and
detached: they must outlive the ingress replica that happened to create them. An actor that has
held no session for ``idle_exit_s`` exits, so shards of a deleted application do not linger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import ray
from ray.exceptions import AsyncioActorExit

from integrity.session.host import SessionHost, ShardOptions, ShardStats
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

logger = logging.getLogger(__name__)

__all__ = ["SessionShard", "ShardOptions", "ShardStats"]


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)
class SessionShard:
    """An async actor: calls interleave only at awaits, so a session's updates never race."""

    def __init__(self, options: ShardOptions, config: RiskConfig, index: int) -> None:
        logging.basicConfig(level=options.log_level.upper())
        self.host = SessionHost(options, config, index)
        self.idle_exit_s = options.idle_exit_s
        self.last_call = time.monotonic()
        self._sweeper: asyncio.Task[None] | None = None

    def _touch(self) -> SessionHost:
        self.last_call = time.monotonic()
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())
        return self.host

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.host.sweep_interval_s)
            try:
                expired = await self.host.sweep()
                if expired:
                    logger.info("expired %d idle session(s)", len(expired))
                idle = (
                    self.idle_exit_s > 0
                    and await self.host.empty()  # in-memory records must outlive the session
                    and time.monotonic() - self.last_call > self.idle_exit_s
                )
            except Exception:  # keep sweeping whatever one pass hit (e.g. Redis briefly down)
                logger.exception("session sweep failed")
                continue
            if idle:
                logger.info("session shard %s idle for %.0f s: exiting", self.host.index, self.idle_exit_s)
                try:
                    ray.actor.exit_actor()  # marks the actor to exit (not restarted), then raises
                except AsyncioActorExit:
                    return

    async def sweep(self) -> list[str]:
        return await self.host.sweep()

    async def create(
        self,
        session_id: str,
        candidate_id: str,
        metadata: dict[str, Any],
        timestamp: float | None,
        policy: EffectivePolicy | None = None,
    ) -> SessionState:
        return await self._touch().create(session_id, candidate_id, metadata, timestamp, policy)

    async def get(self, session_id: str) -> SessionState:
        return await self._touch().get(session_id)

    async def plan_frame(self, session_id: str, timestamp: float | None) -> FramePlan:
        return await self._touch().plan_frame(session_id, timestamp)

    async def take_start(self, key_id: str) -> None:
        await self._touch().take_start(key_id)

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        return await self._touch().record_frame(session_id, facts)

    async def record_objects(self, session_id: str, facts: FrameFacts) -> ObjectOutcome:
        return await self._touch().record_objects(session_id, facts)

    async def record_identity(self, session_id: str, check: IdentityCheck) -> IdentityOutcome:
        return await self._touch().record_identity(session_id, check)

    async def end(self, session_id: str) -> EndOutcome:
        return await self._touch().end(session_id)

    async def count(self) -> int:
        return await self._touch().count()

    async def record(self, session_id: str) -> SessionRecord:
        return await self._touch().record(session_id)

    async def review(
        self, session_id: str, event_id: str, decision: ReviewDecision, note: str | None, reviewer: str
    ) -> SessionRecord:
        return await self._touch().review(session_id, event_id, decision, note, reviewer)

    async def stats(self) -> ShardStats:
        return await self._touch().stats()
