"""Session lifecycle and the per-frame risk update. Plain async class: the Ray actor wraps it.

Two clocks: *stream time* (the client's frame timestamps, else the server's clock) drives debounce,
decay and durations, so frames may arrive at any rate or be replayed; the *server clock* drives
idle expiry, which is about resources.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from integrity.core.errors import SessionEnded, SessionExpired, SessionNotFound
from integrity.session.behaviour.tracker import BehaviourTracker
from integrity.session.risk.conditions import frame_observations
from integrity.session.risk.config import RiskConfig
from integrity.session.risk.engine import RiskEngine
from integrity.session.state import (
    EndOutcome,
    FrameFacts,
    FrameOutcome,
    FramePlan,
    GoneReason,
    SessionState,
    SessionSummary,
)
from integrity.session.store import SessionStore

Clock = Callable[[], float]


class SessionManager:
    def __init__(
        self,
        store: SessionStore,
        config: RiskConfig,
        expire_seconds: float,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.engine = RiskEngine(config)
        self.behaviour = BehaviourTracker(config.behaviour)
        self.expire_seconds = expire_seconds
        self.clock = clock
        # One update at a time per session: with Redis, a load-modify-save spans awaits, and two
        # frames of one session interleaving there would lose one of them.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def _exclusive(self, session_id: str) -> AsyncIterator[None]:
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        async with lock:
            yield

    # -- lifecycle --------------------------------------------------------------------------------
    async def create(
        self,
        candidate_id: str,
        metadata: dict[str, Any] | None = None,
        timestamp: float | None = None,
        session_id: str | None = None,
    ) -> SessionState:
        now = self.clock()
        state = SessionState(
            session_id=session_id or str(uuid.uuid4()),
            candidate_id=candidate_id,
            metadata=metadata or {},
            created_at=now,
            last_activity=now,
            clock_origin=timestamp,
        )
        await self.store.save(state)
        return state

    async def _active(self, session_id: str) -> SessionState:
        """The open session, or the right error: unknown, ended or expired."""
        state = await self.store.load(session_id)
        if state is None:
            reason = await self.store.gone(session_id)
            if reason is GoneReason.ENDED:
                raise SessionEnded(f"session {session_id} has ended")
            if reason is GoneReason.EXPIRED:
                raise SessionExpired(f"session {session_id} expired after {self.expire_seconds:g} s idle")
            raise SessionNotFound(f"session {session_id} does not exist")
        if self.clock() - state.last_activity > self.expire_seconds:
            await self.store.remove(session_id, GoneReason.EXPIRED)
            raise SessionExpired(f"session {session_id} expired after {self.expire_seconds:g} s idle")
        return state

    async def get(self, session_id: str) -> SessionState:
        return await self._active(session_id)

    # -- frames -----------------------------------------------------------------------------------
    async def plan_frame(self, session_id: str, timestamp: float | None) -> FramePlan:
        """Validate the session; return the frame's stream time and the candidate's calibration."""
        state = await self._active(session_id)
        ts = self._stream_time(state, timestamp)
        return FramePlan(timestamp=ts, neutral=self.behaviour.neutral(state.behaviour))

    def _stream_time(self, state: SessionState, timestamp: float | None) -> float:
        ts = self.clock() if timestamp is None else timestamp
        # Frames may arrive out of order; time never runs backwards for the engine.
        if state.last_ts is not None and ts < state.last_ts:
            ts = state.last_ts
        return ts

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        """Run the risk engine on one analysed frame and persist the session."""
        async with self._exclusive(session_id):
            return await self._record(session_id, facts)

    async def _record(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        state = await self._active(session_id)
        ts = self._stream_time(state, facts.timestamp)
        facts = facts.model_copy(update={"timestamp": ts})
        if state.clock_origin is None:
            state.clock_origin = ts
        observations = frame_observations(facts)
        gaze = facts.gaze if facts.faces > 0 else None
        behaviour, snapshot = self.behaviour.update(state.behaviour, gaze, ts)
        observations |= behaviour
        events = self.engine.observe(state.risk, ts, observations)

        state.last_ts = ts
        state.frames += 1
        state.last_activity = self.clock()
        if facts.gaze is not None and facts.gaze.available and facts.faces > 0:
            state.attention_sum += facts.gaze.attention
            state.attention_frames += 1
        state.unavailable.update(facts.unavailable)
        await self.store.save(state)

        verdict, _ = self.engine.verdict(state.risk, ts)
        return FrameOutcome(
            risk_score=self.engine.score_at(state.risk, ts),
            peak_risk_score=state.risk.peak,
            cheating=self.engine.is_cheating(state.risk, ts),
            verdict=verdict,
            events=events,
            timestamp=ts,
            behaviour=snapshot,
        )

    async def end(self, session_id: str) -> EndOutcome:
        async with self._exclusive(session_id):
            return await self._end(session_id)

    async def _end(self, session_id: str) -> EndOutcome:
        state = await self._active(session_id)
        now = self.clock()
        ts = state.last_ts if state.last_ts is not None else now
        final = self.engine.score_at(state.risk, ts)
        verdict, reason = self.engine.verdict(state.risk, ts)
        if state.last_ts is not None and state.clock_origin is not None:
            duration = state.last_ts - state.clock_origin
        else:
            duration = now - state.created_at
        summary = SessionSummary(
            candidate_id=state.candidate_id,
            metadata=state.metadata,
            started_at=state.created_at,
            ended_at=now,
            frames_analyzed=state.frames,
            event_counts={str(k): v for k, v in sorted(state.risk.counts.items())},
            peak_risk_score=round(state.risk.peak, 3),
            peak_at=state.risk.peak_at,
            final_risk_score=round(final, 3),
            verdict_reason=reason,
            average_attention=(
                round(state.attention_sum / state.attention_frames, 2) if state.attention_frames else None
            ),
            timeline=state.risk.timeline,
            timeline_truncated=state.risk.timeline_dropped,
            models_unavailable=state.unavailable,
            behaviour=self.behaviour.snapshot(state.behaviour),
        )
        await self.store.remove(session_id, GoneReason.ENDED)
        return EndOutcome(
            session_id=session_id,
            final_risk_score=final,
            verdict=verdict,
            total_violations=sum(state.risk.counts.values()),
            duration_seconds=round(max(0.0, duration), 3),
            summary=summary,
        )

    # -- housekeeping -----------------------------------------------------------------------------
    async def expire_idle(self) -> list[str]:
        """Forget sessions idle longer than the expiry; return their ids."""
        cutoff = self.clock() - self.expire_seconds
        expired = await self.store.idle_before(cutoff)
        for session_id in expired:
            await self.store.remove(session_id, GoneReason.EXPIRED)
        return expired

    async def count(self) -> int:
        return await self.store.count()
