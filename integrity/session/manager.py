"""Session lifecycle and the per-frame risk update. Plain async class: the Ray actor wraps it.

The session's clock is the server's: when the service received the frame. A client timestamp is used
only within ``clock.tolerance_s`` of it (it removes network jitter); constant, backwards, reset or
drifting client timestamps are not used, and are counted (``SessionState.clock``), as are gaps without
frames. Offline replays (the CLI, benchmarks) pass ``trust_client_time=True`` to run on the file's
timestamps instead. The same server clock drives idle expiry.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from integrity.core.enums import EventType
from integrity.core.errors import EventNotFound, SessionEnded, SessionExpired, SessionNotFound
from integrity.core.identity import IdentityMatch, IdentityRules
from integrity.session.background import BackgroundLearner
from integrity.session.behaviour.tracker import BehaviourTracker
from integrity.session.browser import browser_observations
from integrity.session.conditions import (
    frame_observations,
    learn_background,
    looking,
    object_observations,
    with_gaze,
)
from integrity.session.identity_watch import IdentityCheck, IdentityState, book_check
from integrity.session.object_watch import ObjectCoverage
from integrity.session.policy import EffectivePolicy
from integrity.session.record import (
    RecordStatus,
    Review,
    ReviewDecision,
    RiskPoint,
    SessionRecord,
    VerdictRules,
    models_seen,
)
from integrity.session.risk.config import Lane, RiskConfig
from integrity.session.risk.engine import RiskEngine
from integrity.session.risk.models import Coverage, EventRecord
from integrity.session.risk.verdict import Judge
from integrity.session.state import (
    EndOutcome,
    FrameFacts,
    FrameOutcome,
    FramePlan,
    GoneReason,
    IdentityOutcome,
    ObjectOutcome,
    SessionState,
    SessionSummary,
)
from integrity.session.store import SessionStore

Clock = Callable[[], float]

RECORD_RETENTION_S = 30 * 86400.0


# What of a policy changes the rules (not its name or where it came from).
JUDGED_BY = {"risk_scale", "suspicious_threshold", "cheating_threshold", "treatments", "allowed_labels"}


@dataclass(frozen=True, slots=True)
class Rules:
    """What a session is judged by: the event table and verdict rules of its policy."""

    config: RiskConfig
    engine: RiskEngine
    judge: Judge
    allowed_labels: frozenset[str] = frozenset()


class SessionManager:
    def __init__(
        self,
        store: SessionStore,
        config: RiskConfig,
        expire_seconds: float,
        clock: Clock = time.time,
        record_retention_s: float = RECORD_RETENTION_S,
        trust_client_time: bool = False,
        identity: IdentityRules | None = None,
    ) -> None:
        """``identity``: how identity checks are judged (None: configs/identity.yaml's rules)."""
        self.trust_client_time = trust_client_time
        self.identity = identity if identity is not None else IdentityRules.rules_of()
        self.store = store
        self.record_retention_s = record_retention_s
        self.config = config
        self.engine = RiskEngine(config)
        self.judge = Judge(config)
        self._default = Rules(config, self.engine, self.judge)
        self._rules: dict[str, Rules] = {}  # per policy (a few profiles in use at any time)
        self.behaviour = BehaviourTracker(config.behaviour)
        self.background = BackgroundLearner(config.background)
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

    def rules(self, policy: EffectivePolicy | None) -> Rules:
        """The rules a session's policy judges it by (None: the event table as it is)."""
        risk = self.config.risk
        if policy is None or (
            # Most sessions run under a policy that changes nothing: no key to build per frame.
            policy.is_default
            and policy.suspicious_threshold == risk.suspicious_threshold
            and policy.cheating_threshold == risk.cheating_threshold
        ):
            return self._default
        key = policy.model_dump_json(include=JUDGED_BY)
        rules = self._rules.get(key)
        if rules is None:
            if len(self._rules) >= 256:  # policies are few; a flood of variants must not grow this
                self._rules.clear()
            config = policy.risk_config(self.config)
            rules = Rules(config, RiskEngine(config), Judge(config), frozenset(policy.allowed_labels))
            self._rules[key] = rules
        return rules

    # -- lifecycle --------------------------------------------------------------------------------
    async def create(
        self,
        candidate_id: str,
        metadata: dict[str, Any] | None = None,
        timestamp: float | None = None,
        session_id: str | None = None,
        policy: EffectivePolicy | None = None,
    ) -> SessionState:
        now = self.clock()
        state = SessionState(
            session_id=session_id or str(uuid.uuid4()),
            candidate_id=candidate_id,
            metadata=metadata or {},
            created_at=now,
            last_activity=now,
            clock_origin=timestamp,
            policy=policy,
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
            await self._keep_record(state, "expired")
            await self.store.remove(session_id, GoneReason.EXPIRED)
            raise SessionExpired(f"session {session_id} expired after {self.expire_seconds:g} s idle")
        return state

    async def get(self, session_id: str) -> SessionState:
        """The open session, without its identity enrolment (descriptors stay in the store)."""
        state = await self._active(session_id)
        return state.model_copy(update={"identity": IdentityState()})

    # -- frames -----------------------------------------------------------------------------------
    async def plan_frame(self, session_id: str, timestamp: float | None) -> FramePlan:
        """Validate the session; return the frame's stream time and the candidate's calibration."""
        state = await self._active(session_id)
        received = self.clock()
        ts = self._session_time(state, timestamp, received, count=False)
        return FramePlan(
            timestamp=ts,
            received_at=received,
            client_timestamp=timestamp,
            neutral=self.behaviour.neutral(state.behaviour),
        )

    def _session_time(self, state: SessionState, client: float | None, received: float, count: bool) -> float:
        """The frame's session time; with ``count`` also book anomalies and gaps in the state."""
        if self.trust_client_time:
            ts = received if client is None else client
        else:
            ts = self._server_time(state, client, received, count)
        # Frames may arrive out of order; time never runs backwards for the engine.
        if state.last_ts is not None and ts < state.last_ts:
            ts = state.last_ts
        return ts

    def _server_time(self, state: SessionState, client: float | None, received: float, count: bool) -> float:
        cfg = self.config.clock
        clock = state.clock if count else state.clock.model_copy(deep=True)
        if clock.last_server is not None and received - clock.last_server > cfg.gap_s:
            clock.gaps += 1
            clock.gap_s = round(clock.gap_s + received - clock.last_server, 3)
        ts = received
        if client is not None:
            if clock.offset is None:
                clock.offset = client - received
            elif abs(client - clock.offset - received) <= cfg.tolerance_s:
                ts = client - clock.offset
            else:
                kind = "ahead"
                last = clock.last_client
                if last is not None and client < last - cfg.reset_s:
                    kind = "reset"
                elif last is not None and client < last:
                    kind = "backwards"
                elif last is not None and client == last:
                    kind = "constant"
                elif client - clock.offset < received:
                    kind = "behind"
                clock.anomalies[kind] = clock.anomalies.get(kind, 0) + 1
                clock.offset = client - received  # re-anchored; this frame runs on the server's time
            clock.last_client = client
        clock.last_server = received if clock.last_server is None else max(clock.last_server, received)
        return ts

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        """Run the risk engine on one analysed frame and persist the session."""
        async with self._exclusive(session_id):
            return await self._record(session_id, facts)

    async def _record(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        state = await self._active(session_id)
        # Planned, or stamped by the ingress at receipt (one session call per frame): the server's
        # receipt time and the client's stamp, under the same clock rules either way.
        if facts.received_at is not None:
            ts = self._session_time(state, facts.client_timestamp, facts.received_at, count=True)
        else:  # called directly: the timestamp is the client's, received now
            ts = self._session_time(state, facts.timestamp, self.clock(), count=True)
        facts = facts.model_copy(update={"timestamp": ts})
        if state.clock_origin is None:
            state.clock_origin = ts
        rules = self.rules(state.policy)
        static = learn_background(self.background, state.background, facts, ts)  # photos, bookshelves
        observations = frame_observations(facts, static, rules.allowed_labels)
        gaze = facts.gaze if facts.faces > 0 else None
        behaviour, snapshot, judged = self.behaviour.update(state.behaviour, gaze, ts)
        observations = with_gaze(observations | behaviour, judged)
        state.browser.add(facts.audio, facts.client)
        observations |= browser_observations(
            facts.audio,
            facts.client,
            behaviour.get(EventType.WHISPERING),
            facts.faces == 1,
            ts,
            rules.config.browser,
        )
        # A frame analysed whole observes every lane; one whose objects are analysed apart (sampled,
        # booked by record_objects when they arrive) says nothing about objects.
        lanes = tuple(Lane) if facts.objects is not None else (Lane.FRAMES,)
        events = rules.engine.observe(state.risk, ts, observations, lanes)
        if facts.objects is not None:
            state.objects.book(ts, self._fresh_s, facts.objects.status.available)
        if facts.objects_shed:
            state.objects.shed += 1
        self._track_risk(rules, state, ts, events)

        state.last_ts = ts
        state.frames += 1
        state.last_activity = self.clock()
        if facts.gaze is not None and facts.gaze.available and facts.faces > 0:
            state.attention_sum += facts.gaze.attention
            state.attention_frames += 1
        state.unavailable.update(facts.unavailable)
        await self.store.save(state)

        score = rules.engine.score_at(state.risk, ts)
        verdict, _ = rules.judge.verdict(state.risk, score)
        return FrameOutcome(
            risk_score=score,
            peak_risk_score=state.risk.peak,
            cheating=rules.judge.is_cheating(state.risk, score),
            verdict=verdict,
            events=events,
            timestamp=ts,
            behaviour=snapshot,
            gaze=judged if facts.faces > 0 else facts.gaze,
            coverage=self._coverage(state),
            clock=state.clock.model_copy(),
            neutral=self.behaviour.neutral(state.behaviour),
            objects=self._object_coverage(state),
        )

    async def record_objects(self, session_id: str, facts: FrameFacts) -> ObjectOutcome:
        """Book an object analysis that ran apart from its frame, at the frame's stream time
        (``facts.timestamp``, as ``record_frame`` booked it; ``facts``: the frame's faces, its judged
        gaze, and ``objects``). Results of a session are booked in frame order: one older than the
        latest booked is not booked (``booked`` False). The frame's debounce and episodes run on the
        frames' own time, object conditions on their own lane."""
        if facts.objects is None:
            raise ValueError("record_objects needs the frame's object analysis")
        async with self._exclusive(session_id):
            state = await self._active(session_id)
            rules = self.rules(state.policy)
            ts = facts.timestamp
            if state.last_ts is not None:
                ts = min(ts, state.last_ts)  # never ahead of the frames booked
            available = facts.objects.status.available
            events: list[EventRecord] = []
            booked = state.objects.book(ts, self._fresh_s, available)
            if booked:
                objects = facts.objects.objects if available else None
                static = self.background.update(state.background, ts, None, objects, None, looking(facts))
                observations = with_gaze(object_observations(facts, static, rules.allowed_labels), facts.gaze)
                events = rules.engine.observe(state.risk, ts, observations, (Lane.OBJECTS,))
                if events:
                    self._track_risk(rules, state, ts, events)
                if not available:
                    state.unavailable["objects"] = facts.objects.status.detail or "unavailable"
                await self.store.save(state)
            return ObjectOutcome(
                booked=booked,
                timestamp=ts,
                events=events,
                objects=self._object_coverage(state),
                **self._standing(rules, state),
            )

    async def record_identity(self, session_id: str, check: IdentityCheck) -> IdentityOutcome:
        """Book an identity check that ran apart from its frame, at the frame's stream time: enrol
        with it, or judge it against the enrolment (IDENTITY_CHANGED on its own lane)."""
        async with self._exclusive(session_id):
            state = await self._active(session_id)
            rules = self.rules(state.policy)
            ts = check.timestamp
            if state.last_ts is not None:
                ts = min(ts, state.last_ts)
            check = check.model_copy(update={"timestamp": ts})
            booked = state.identity.last_at is None or ts >= state.identity.last_at
            reading, observations = book_check(state.identity, check, self.identity)
            events: list[EventRecord] = []
            if booked:
                if observations:
                    events = rules.engine.observe(state.risk, ts, observations, (Lane.IDENTITY,))
                    if events:
                        self._track_risk(rules, state, ts, events)
                await self.store.save(state)
            return IdentityOutcome(
                booked=booked,
                timestamp=ts,
                reading=reading,
                events=events,
                # Someone else, not yet an event: the second check at once, on the next frame.
                confirm=reading.match is IdentityMatch.DIFFERENT
                and rules.config.cause(EventType.IDENTITY_CHANGED) not in state.risk.episodes,
                enrol_crop=state.identity.enrol_crop if events else None,
                identity=state.identity.summary(self.identity),
                **self._standing(rules, state),
            )

    def _standing(self, rules: Rules, state: SessionState) -> dict[str, Any]:
        """The session's risk, peak, flag and verdict now, for an answer to a result booked apart
        from its frame (object analyses, identity checks)."""
        score = rules.engine.score_at(state.risk, self._judged_at(state, self.clock()))
        verdict, _ = rules.judge.verdict(state.risk, score)
        return {
            "risk_score": score,
            "peak_risk_score": state.risk.peak,
            "cheating": rules.judge.is_cheating(state.risk, score),
            "verdict": verdict,
        }

    @property
    def _fresh_s(self) -> float:
        return self.config.risk.objects_fresh_s

    def _object_coverage(self, state: SessionState) -> ObjectCoverage:
        return state.objects.coverage(state.clock_origin, state.last_ts, self._fresh_s)

    @staticmethod
    def _coverage(state: SessionState) -> dict[str, Coverage]:
        return {str(k): v.rounded() for k, v in sorted(state.risk.coverage.items())}

    async def end(self, session_id: str) -> EndOutcome:
        async with self._exclusive(session_id):
            return await self._end(session_id)

    async def _end(self, session_id: str) -> EndOutcome:
        state = await self._active(session_id)
        now = self.clock()
        record = await self._keep_record(state, "ended", now)
        await self.store.remove(session_id, GoneReason.ENDED)
        # The record holds the session's figures (duration, counts, attention, risk, verdict); the
        # summary repeats them and adds what only the end reports. The final risk goes out unrounded
        # (the record keeps it to 3 decimals), as the verdict basis reads it.
        rules = self.rules(state.policy)
        final = rules.engine.score_at(state.risk, self._judged_at(state, now))
        summary = SessionSummary(
            candidate_id=record.candidate_id,
            metadata=record.metadata,
            started_at=record.started_at,
            ended_at=now,
            frames_analyzed=record.frames_analyzed,
            event_counts=record.event_counts,
            peak_risk_score=record.peak_risk_score,
            peak_at=record.peak_at,
            final_risk_score=record.final_risk_score,
            verdict_reason=record.verdict_reason,
            average_attention=record.average_attention,
            timeline=list(record.events),
            timeline_truncated=record.events_truncated,
            models_unavailable=state.unavailable,
            behaviour=record.behaviour,
            coverage=self._coverage(state),
            verdict_basis=rules.judge.basis(state.risk, final),
            clock=state.clock.model_copy(),
            static_background=[t for t in state.background.tracks if t.static_since is not None],
            objects=self._object_coverage(state),
            policy=state.policy,
            identity=state.identity.summary(self.identity),
            browser=state.browser.model_copy(),
        )
        return EndOutcome(
            session_id=session_id,
            final_risk_score=final,
            verdict=record.verdict,
            total_violations=sum(record.event_counts.values()),
            duration_seconds=record.duration_seconds,
            summary=summary,
        )

    # -- housekeeping -----------------------------------------------------------------------------
    async def expire_idle(self) -> list[str]:
        """Forget sessions idle longer than the expiry; return their ids."""
        cutoff = self.clock() - self.expire_seconds
        expired = await self.store.idle_before(cutoff)
        for session_id in expired:
            state = await self.store.load(session_id)
            if state is not None:
                await self._keep_record(state, "expired")
            await self.store.remove(session_id, GoneReason.EXPIRED)
        await self.store.sweep_records()
        return expired

    async def count(self) -> int:
        return await self.store.count()

    # -- records and reviews ------------------------------------------------------------------------
    async def record(self, session_id: str) -> SessionRecord:
        """The session's record: built live while it is open, kept after its end for the retention."""
        state = await self._open_or_none(session_id)
        if state is not None:
            return self._build_record(state, "active")
        record = await self.store.load_record(session_id)
        if record is None:
            raise SessionNotFound(
                f"no session or record {session_id}: unknown, or past the record retention "
                f"({self.record_retention_s / 86400:g} days)"
            )
        return record

    async def review(
        self, session_id: str, event_id: str, decision: ReviewDecision, note: str | None, reviewer: str
    ) -> SessionRecord:
        """Record a reviewer's decision on one event (replacing an earlier one); return the record."""
        review = Review(event_id=event_id, decision=decision, note=note, reviewer=reviewer, at=self.clock())
        async with self._exclusive(session_id):
            state = await self._open_or_none(session_id)
            if state is not None:
                if not any(e.id == event_id for e in state.risk.timeline):
                    raise EventNotFound(f"session {session_id} has no event {event_id}")
                state.reviews[event_id] = review
                await self.store.save(state)
                return self._build_record(state, "active")
            record = await self.record(session_id)
            if record.event(event_id) is None:
                raise EventNotFound(f"session {session_id} has no event {event_id}")
            record.reviews = {**record.reviews, event_id: review}
            record = self._with_reviews(record)
            await self.store.save_record(record)
            return record

    async def _open_or_none(self, session_id: str) -> SessionState | None:
        try:
            return await self._active(session_id)
        except (SessionNotFound, SessionEnded, SessionExpired):
            return None

    async def _keep_record(
        self, state: SessionState, status: RecordStatus, now: float | None = None
    ) -> SessionRecord:
        record = self._build_record(state, status, self.clock() if now is None else now)
        await self.store.save_record(record)
        return record

    @staticmethod
    def _track_risk(rules: Rules, state: SessionState, ts: float, events: list[EventRecord]) -> None:
        """Sample the risk for the record's chart (both sides of a jump when the frame raised events)."""
        risk = rules.engine.score_at(state.risk, ts)
        before = None
        if events:
            first = events[0]
            before = max(0.0, first.risk_after - first.risk_increase)
        state.risk_series.add(ts, risk, jump_from=before)

    @staticmethod
    def _judged_at(state: SessionState, now: float) -> float:
        """The stream time a session's risk and verdict are read at: its last frame's (now, without one)."""
        return state.last_ts if state.last_ts is not None else now

    def _build_record(
        self, state: SessionState, status: RecordStatus, ended_at: float | None = None
    ) -> SessionRecord:
        now = self.clock() if ended_at is None else ended_at
        rules = self.rules(state.policy)
        score = rules.engine.score_at(state.risk, self._judged_at(state, now))
        verdict, reason = rules.judge.verdict(state.risk, score)
        if state.last_ts is not None and state.clock_origin is not None:
            duration = state.last_ts - state.clock_origin
        else:
            duration = now - state.created_at
        params = rules.config.risk
        record = SessionRecord(
            session_id=state.session_id,
            status=status,
            candidate_id=state.candidate_id,
            metadata=state.metadata,
            started_at=state.created_at,
            ended_at=ended_at,
            stream_start=state.clock_origin,
            stream_end=state.last_ts,
            duration_seconds=round(max(0.0, duration), 3),
            frames_analyzed=state.frames,
            verdict=verdict,
            verdict_reason=reason,
            final_risk_score=round(score, 3),
            peak_risk_score=round(state.risk.peak, 3),
            peak_at=state.risk.peak_at,
            average_attention=(
                round(state.attention_sum / state.attention_frames, 2) if state.attention_frames else None
            ),
            event_counts={str(k): v for k, v in sorted(state.risk.counts.items())},
            events=list(state.risk.timeline),
            events_truncated=state.risk.timeline_dropped,
            risk_timeline=[RiskPoint(t=t, risk=r) for t, r in state.risk_series.points],
            models=models_seen(state.unavailable),
            reviews=dict(state.reviews),
            rules=VerdictRules(
                basis=params.verdict_basis,
                suspicious_threshold=params.suspicious_threshold,
                cheating_threshold=params.cheating_threshold,
                cheating_min_severity=params.cheating_min_severity,
            ),
            behaviour=self.behaviour.snapshot(state.behaviour),
            objects=self._object_coverage(state),
            policy=state.policy,
            identity=state.identity.summary(self.identity),
            browser=state.browser.model_copy(),
            kept_until=None if ended_at is None else ended_at + self.record_retention_s,
        )
        return self._with_reviews(record)

    def _with_reviews(self, record: SessionRecord) -> SessionRecord:
        """Fill in the reviewed verdict: the rules replayed without the dismissed events."""
        if not record.reviews:
            return record.model_copy(
                update={
                    "reviewed_verdict": None,
                    "reviewed_verdict_reason": None,
                    "reviewed_peak_risk_score": None,
                }
            )
        dismissed = {i for i, r in record.reviews.items() if r.decision == "dismissed"}
        rules = self.rules(record.policy)
        replayed = rules.engine.replay(e for e in record.events if e.id not in dismissed)
        end = record.stream_end if record.stream_end is not None else (record.ended_at or self.clock())
        verdict, reason = rules.judge.verdict(replayed, rules.engine.score_at(replayed, end))
        if dismissed:
            reason = f"{reason} (without {len(dismissed)} dismissed event(s))"
        return record.model_copy(
            update={
                "reviewed_verdict": verdict,
                "reviewed_verdict_reason": reason,
                "reviewed_peak_risk_score": round(replayed.peak, 3),
            }
        )
