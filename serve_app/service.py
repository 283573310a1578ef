"""What the ingress does per request, shared by REST and WebSocket so both answer alike.

Sessions go to the shard client, frames through the FramePipeline; this layer adds the frame's
base64 decoding (once, at the door), the session limit, metrics and health.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from integrity import __version__
from integrity.core.errors import InvalidPolicy, Overloaded, TooManySessions
from integrity.core.results import ModelStatus
from integrity.core.timing import ms_since
from integrity.evidence.report import render_report
from integrity.evidence.store import EvidenceStore
from integrity.session.browser import AudioFeatures, ClientSignals
from integrity.session.policy import EffectivePolicy, PolicyFile, PolicyRequest, UnknownProfile
from integrity.session.rate_limit import Rate
from integrity.session.record import ReviewDecision, SessionRecord
from integrity.session.state import EndOutcome, SessionState
from integrity.vision.identity import IdentityConfig
from integrity.vision.object_sampling import ObjectSamplingConfig
from serve_app.evidence import EvidenceRecorder
from serve_app.frames import decode_frame
from serve_app.metrics import ServiceMetrics
from serve_app.object_lane import ObjectLaneStats
from serve_app.pipeline import Analyzers, FramePipeline, FrameResult, SessionEngine
from serve_app.settings import Settings

logger = logging.getLogger(__name__)

SERVICE_NAME = "interview-integrity"
HEALTH_TIMEOUT_S = 5.0


class SessionBackend(SessionEngine, Protocol):
    """Where sessions live: the shard actors (``SessionShards``) or this process (``LocalSessions``)."""

    async def create(
        self,
        session_id: str,
        candidate_id: str,
        metadata: dict[str, Any],
        timestamp: float | None,
        policy: EffectivePolicy | None = None,
    ) -> SessionState: ...

    async def take_start(self, key_id: str) -> None: ...

    async def get(self, session_id: str) -> SessionState: ...

    async def end(self, session_id: str) -> EndOutcome: ...

    async def record(self, session_id: str) -> SessionRecord: ...

    async def review(
        self, session_id: str, event_id: str, decision: ReviewDecision, note: str | None, reviewer: str
    ) -> SessionRecord: ...

    async def count(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Health:
    models: dict[str, ModelStatus]
    active_sessions: int  # -1: the session store did not answer
    uptime_seconds: float
    store_error: str | None = None
    objects: ObjectLaneStats | None = None  # the object watch on this replica (None: sampling off)
    version: str = __version__
    service: str = SERVICE_NAME


@dataclass(frozen=True, slots=True)
class AnalyzedFrame:
    result: FrameResult
    elapsed_ms: float
    evidence: dict[str, str] = field(default_factory=dict)  # event id -> evidence URL


@dataclass(frozen=True, slots=True)
class RecordView:
    record: SessionRecord
    evidence: dict[str, str]  # event id -> evidence URL, for the events whose image is kept


class IntegrityService:
    def __init__(
        self,
        settings: Settings,
        analyzers: Analyzers,
        shards: SessionBackend,
        evidence: EvidenceRecorder | None = None,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        object_sampling: ObjectSamplingConfig | None = None,
        policies: PolicyFile | None = None,
        identity: IdentityConfig | None = None,
    ) -> None:
        """``clock`` (server time: receipt stamps, evidence retention) and ``monotonic`` (rates,
        caches) are the real ones but in tests that move time themselves. ``object_sampling``:
        objects off the frame's path (configs/objects.yaml ``sampling``; None: its defaults).
        ``policies``: the interview policies (configs/policy.yaml; None: sessions judged by the event
        table as it is, and a policy asked for is refused)."""
        self.policies = policies
        if object_sampling is None:
            object_sampling = ObjectSamplingConfig()
        self.settings = settings
        self.evidence = evidence or EvidenceRecorder(
            EvidenceStore(
                settings.evidence_dir,
                settings.evidence_retention_s,
                settings.evidence_storage_options,
                clock=clock,
            )
        )
        self.analyzers = analyzers
        self.shards = shards
        self.pipeline = FramePipeline(
            analyzers,
            shards,
            cache_size=settings.neutral_cache_size,
            cache_max_age_s=settings.session_expire_seconds,
            frame_rate=Rate(settings.rate_limit_fps, settings.rate_limit_burst),
            clock=clock,
            monotonic=monotonic,
            object_sampling=object_sampling,
            replay=settings.trust_client_time,
            evidence=self.evidence.capture_events,
            frames_busy=self._frames_queueing,
            identity=identity,
            identity_evidence=self.evidence.capture_identity,
        )
        self._yield_at = max(1, round(settings.max_inflight_frames * object_sampling.yield_share))
        self.started = time.time()
        self.metrics = ServiceMetrics()
        self.inflight = 0  # frames of this replica between admission and answer (one event loop)

    # -- sessions ---------------------------------------------------------------------------------
    async def start_session(
        self,
        candidate_id: str,
        metadata: dict[str, Any],
        timestamp: float | None,
        key_id: str = "open",
        policy: PolicyRequest | None = None,
    ) -> tuple[str, EffectivePolicy | None]:
        """Open a session under its interview's policy; returns its id and the policy resolved."""
        effective = self._policy(policy, key_id)
        if self.inflight >= self.settings.max_inflight_frames * self.settings.start_session_headroom:
            raise Overloaded("the service is busy with open sessions' frames; try again shortly")
        limit = self.settings.max_concurrent_sessions
        if await self.shards.count() >= limit:
            raise TooManySessions(f"the service holds its limit of {limit} open sessions; try again later")
        if key_id != "open":
            await self.shards.take_start(key_id)
        state = await self.shards.create(str(uuid.uuid4()), candidate_id, metadata, timestamp, effective)
        self.metrics.sessions_started.inc()
        return state.session_id, state.policy

    def _policy(self, policy: PolicyRequest | None, key_id: str) -> EffectivePolicy | None:
        if self.policies is None:
            if policy is not None:
                raise InvalidPolicy("this service has no interview policies configured")
            return None
        try:
            return self.policies.resolve(policy, key_id)
        except UnknownProfile as exc:
            raise InvalidPolicy(str(exc)) from exc

    async def resume_session(self, session_id: str) -> str:
        """Check that the session is open (raises otherwise) and return its id."""
        return (await self.shards.get(session_id)).session_id

    async def end_session(self, session_id: str) -> EndOutcome:
        lane = self.pipeline.objects
        if lane is not None:  # what the frames already sent raise belongs in the summary
            await lane.drain(session_id, self.settings.objects_drain_s)
        if self.pipeline.identity is not None:
            await self.pipeline.identity.drain(session_id, self.settings.objects_drain_s)
        self.pipeline.forget(session_id)
        outcome = await self.shards.end(session_id)
        self.metrics.sessions_ended.inc(tags={"verdict": str(outcome.verdict)})
        return outcome

    # -- frames -----------------------------------------------------------------------------------
    def _frames_queueing(self) -> bool:
        """Object analyses yield to frames: this many frames in flight here (the one asking included)
        means the face path queues."""
        return self.inflight >= self._yield_at

    def frames_full(self) -> bool:
        """This replica holds its limit of frames in flight (new frames are refused, 503)."""
        return self.inflight >= self.settings.max_inflight_frames

    async def analyze(
        self,
        session_id: str,
        frame: str | bytes,
        timestamp: float | None,
        transport: str = "rest",
        audio: AudioFeatures | None = None,
        client: ClientSignals | None = None,
    ) -> AnalyzedFrame:
        """``frame``: base64 text (JSON bodies) or the image's own bytes (binary WebSocket frames)."""
        started = time.perf_counter()
        if self.inflight >= self.settings.max_inflight_frames:
            # Refuse now rather than queue: a late verdict on a frame is worth less than a prompt
            # "retry in 1 s", and an unbounded queue makes every session slow.
            raise Overloaded(f"{self.inflight} frames in flight on this replica; retry shortly")
        data, _ = decode_frame(frame, self.settings.max_frame_bytes, self.settings.max_frame_pixels)
        self.inflight += 1
        try:
            result = await self.pipeline.run(session_id, data, timestamp, audio, client)
        finally:
            self.inflight -= 1
        evidence = await self.evidence.capture(session_id, data, result)  # frames with events only
        evidence.update(
            {late.event.id: late.evidence_url for late in result.late_events if late.evidence_url}
        )
        elapsed = ms_since(started)
        self.metrics.frames.inc(tags={"transport": transport})
        self.metrics.frame_latency.observe(elapsed)
        for event in [*result.outcome.events, *(late.event for late in result.late_events)]:
            self.metrics.events.inc(tags={"event_type": str(event.type), "severity": str(event.severity)})
        return AnalyzedFrame(result, elapsed, evidence)

    # -- records, reviews, evidence ---------------------------------------------------------------
    async def record(self, session_id: str) -> RecordView:
        record = await self.shards.record(session_id)
        kept = await self.evidence.available(session_id)
        urls = {e.id: self.evidence.url_for(session_id, e.id) for e in record.events if e.id in kept}
        return RecordView(record, urls)

    async def review(
        self, session_id: str, event_id: str, decision: ReviewDecision, note: str | None, reviewer: str
    ) -> SessionRecord:
        return await self.shards.review(session_id, event_id, decision, note, reviewer)

    async def evidence_image(self, session_id: str, event_id: str) -> bytes:
        return await self.evidence.image(session_id, event_id)

    async def report(self, session_id: str) -> str:
        record = await self.shards.record(session_id)
        images = await self.evidence.thumbnails(session_id, (e.id for e in record.events))
        return await asyncio.to_thread(render_report, record, images)

    # -- health -----------------------------------------------------------------------------------
    async def health(self) -> Health:
        names = ("face", "gaze", "objects")
        probes = (  # the face stage names each of its models: face, face_landmarks, face_verifier
            self.analyzers.face.statuses(),
            _named("gaze", self.analyzers.gaze.status()),
            _named("objects", self.analyzers.objects.status()),
        )
        results = await asyncio.gather(
            *(asyncio.wait_for(p, HEALTH_TIMEOUT_S) for p in probes), return_exceptions=True
        )
        statuses: dict[str, ModelStatus] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                statuses[name] = ModelStatus(
                    available=False, detail=f"not responding: {type(result).__name__}"
                )
            else:
                statuses.update(result)
        store_error = None
        try:
            active = await asyncio.wait_for(self.shards.count(), HEALTH_TIMEOUT_S)
        except Exception as exc:
            logger.warning("session count failed: %s", exc)
            active, store_error = -1, str(exc) or type(exc).__name__
        lane = self.pipeline.objects
        return Health(
            statuses,
            active,
            round(time.time() - self.started, 3),
            store_error=store_error,
            objects=lane.stats() if lane is not None else None,
        )


async def _named(name: str, status: Awaitable[ModelStatus]) -> dict[str, ModelStatus]:
    return {name: await status}
