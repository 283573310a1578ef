"""The per-frame pipeline: (plan,) face and objects together, gaze, record.

It knows its analyzers and the session engine only through the small protocols below, so unit
tests run it in-process (``serve_app.analyzers.LocalAnalyzers`` and a SessionManager) and
production runs it over DeploymentHandles and the session shards, with the same code.

Where the object model sees a ``person`` with no face in it, an optional second look
(``AsyncPersonFaceAnalyzer``, integrity/vision/person_faces.py) crops the person's upper part and looks for
a face there again (a small or turned second face the whole-frame detector missed); what verifies
is counted with the frame's faces before the session books it.

One session call per frame: the session's answer to a frame (``FrameOutcome.neutral``) carries the
candidate's calibration for the next one, which the pipeline keeps in a small LRU per session
(``NeutralCache``). A frame of a session found there goes straight to the models, stamped with its
server receipt time, and ``record_frame`` books it under the session's clock rules; only a miss
(the session's first frame on this replica, an evicted or stale entry) asks ``plan_frame`` first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from integrity.core.errors import (
    AnalysisFailed,
    IntegrityError,
    NotAnImage,
    SessionEnded,
    SessionExpired,
    SessionNotFound,
)
from integrity.core.results import FaceAnalysis, GazeAnalysis, GazeNeutral, ModelStatus, ObjectAnalysis
from integrity.core.timing import ms_since
from integrity.session.browser import AudioFeatures, ClientSignals
from integrity.session.identity_watch import IdentityCheck
from integrity.session.rate_limit import Rate, RateLimiter
from integrity.session.state import FrameFacts, FrameOutcome, FramePlan, IdentityOutcome, ObjectOutcome
from integrity.vision.identity import IdentityConfig
from integrity.vision.imaging import ImageDecodeError
from integrity.vision.object_sampling import ObjectSamplingConfig
from serve_app.identity_lane import IdentityEvidence, IdentityLane, IdentityModel
from serve_app.object_lane import BookedFrame, EvidenceSink, FrameNotBooked, LateEvent, ObjectLane, Sampled

logger = logging.getLogger(__name__)


class AsyncFaceAnalyzer(Protocol):
    async def analyze(self, data: bytes) -> FaceAnalysis: ...

    async def status(self) -> ModelStatus: ...

    async def statuses(self) -> dict[str, ModelStatus]:
        """Each model of the face stage (``face``, ``face_landmarks``, ``face_verifier``)."""
        ...


class AsyncGazeAnalyzer(Protocol):
    async def analyze(self, face: FaceAnalysis, neutral: GazeNeutral) -> GazeAnalysis:
        """Gaze of ``face``'s primary face (the caller checks there is one)."""
        ...

    async def status(self) -> ModelStatus: ...


class AsyncObjectAnalyzer(Protocol):
    async def analyze(self, data: bytes) -> ObjectAnalysis: ...

    async def status(self) -> ModelStatus: ...

    async def missing(self) -> ModelStatus | None:
        """The model's status when it is known to be unavailable (no weights): nothing to sample."""
        ...


class AsyncFaceGazeAnalyzer(Protocol):
    """Face and gaze in one call (gaze beside face in the face replica: one hop less per frame)."""

    async def analyze_with_gaze(
        self, data: bytes, neutral: GazeNeutral
    ) -> tuple[FaceAnalysis, GazeAnalysis | None]:
        """The frame's faces, and the primary face's gaze (None without a face; a failed gaze comes
        back as ``GazeAnalysis(available=False)``, never as an error)."""
        ...


class AsyncPersonFaceAnalyzer(Protocol):
    async def relook(self, data: bytes, face: FaceAnalysis, objects: ObjectAnalysis) -> FaceAnalysis:
        """``face`` with the faces found again inside person boxes that held none (unchanged when
        there is no such person box)."""
        ...


class SessionEngine(Protocol):
    async def plan_frame(self, session_id: str, timestamp: float | None) -> FramePlan: ...

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome: ...

    async def record_objects(self, session_id: str, facts: FrameFacts) -> ObjectOutcome: ...

    async def record_identity(self, session_id: str, check: IdentityCheck) -> IdentityOutcome: ...


@dataclass(frozen=True, slots=True)
class Analyzers:
    face: AsyncFaceAnalyzer
    gaze: AsyncGazeAnalyzer
    objects: AsyncObjectAnalyzer
    face_gaze: AsyncFaceGazeAnalyzer | None = None  # set: face and gaze in one call (``gaze`` serves status)
    person_faces: AsyncPersonFaceAnalyzer | None = None  # set: a second look in person boxes without a face
    identity: IdentityModel | None = None  # set: the identity watch (IDENTITY_CHANGED)


SESSION_GONE = (SessionNotFound, SessionEnded, SessionExpired)


class NeutralCache:
    """The latest calibration (gaze neutral) per session, as its session returned it; bounded LRU.

    An entry older than ``max_age_s`` is not used: with ``max_age_s`` at most the session expiry, a
    session idle long enough to have expired always gets a ``plan_frame`` (refused before any model
    runs). Entries are dropped when the session ends through this pipeline or a call finds it gone.
    """

    def __init__(self, size: int, max_age_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.max_age_s = max_age_s
        self.clock = clock
        self._entries: OrderedDict[str, tuple[GazeNeutral, float]] = OrderedDict()

    def get(self, session_id: str) -> GazeNeutral | None:
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        neutral, at = entry
        if self.clock() - at > self.max_age_s:
            del self._entries[session_id]
            return None
        self._entries.move_to_end(session_id)
        return neutral

    def put(self, session_id: str, neutral: GazeNeutral) -> None:
        if self.size <= 0:
            return
        self._entries[session_id] = (neutral, self.clock())
        self._entries.move_to_end(session_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, session_id: str) -> None:
        self._entries.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(slots=True)
class _Frame:
    """One frame on its way through the pipeline: what it came with and what its plan said."""

    session_id: str
    data: bytes
    timestamp: float | None  # the client's
    plan: FramePlan | None  # None: the calibration came from the cache (no plan call)
    neutral: GazeNeutral
    received: float  # server clock at receipt
    started: float  # perf_counter at receipt
    timings: dict[str, float]
    audio: AudioFeatures | None = None  # what the candidate's page measured beside the camera
    client: ClientSignals | None = None


@dataclass(slots=True)
class FrameResult:
    """Everything one frame produced; the transport maps it to its response schema."""

    plan: FramePlan
    face: FaceAnalysis
    gaze: GazeAnalysis | None
    objects: ObjectAnalysis
    models: dict[str, ModelStatus]
    outcome: FrameOutcome
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Objects analysed apart (sampled): ``objects`` is the session's latest fresh result, of the
    # frame at ``objects_frame_time`` (stream time), ``objects_age_s`` before this one arrived;
    # ``late_events``: events object results raised since the session's previous answer here.
    objects_frame_time: float | None = None
    objects_age_s: float | None = None
    objects_sampled: Sampled | None = None
    late_events: list[LateEvent] = field(default_factory=list)


class FramePipeline:
    def __init__(
        self,
        analyzers: Analyzers,
        sessions: SessionEngine,
        *,
        cache_size: int = 10_000,
        cache_max_age_s: float = 60.0,
        frame_rate: Rate | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        person_faces: AsyncPersonFaceAnalyzer | None = None,
        object_sampling: ObjectSamplingConfig | None = None,
        replay: bool = False,
        evidence: EvidenceSink | None = None,
        frames_busy: Callable[[], bool] | None = None,
        identity: IdentityConfig | None = None,
        identity_evidence: IdentityEvidence | None = None,
    ) -> None:
        """``cache_size`` 0 plans every frame (two session calls per frame, the former behaviour).
        ``frame_rate``: the per-session frame rate, enforced here for frames that skip the plan (the
        session shard enforces it on ``plan_frame``). ``clock`` stamps receipt times (server time);
        ``monotonic`` times the rate and the cache's ages (tests pass a clock they move).
        ``person_faces``: the second look inside person boxes without a face (None: the analyzers').
        ``object_sampling`` (enabled): objects off the frame's path (``serve_app.object_lane``), on
        the frames' timestamps when ``replay``; ``evidence`` stores the images of the events object
        results raise; while ``frames_busy`` says the frames queue, due analyses are shed. Disabled or
        None: every frame waits for its own object analysis. ``identity`` (enabled, with the
        analyzers' identity model): the identity watch (``serve_app.identity_lane``), its events'
        images stored by ``identity_evidence``."""
        self.person_faces = person_faces if person_faces is not None else analyzers.person_faces
        self.analyzers = analyzers
        self.sessions = sessions
        self.neutrals = NeutralCache(cache_size, cache_max_age_s, monotonic)
        self.frames = (
            RateLimiter(frame_rate, "frames of this session", clock=monotonic)
            if frame_rate is not None
            else None
        )
        self.clock = clock
        self.monotonic = monotonic
        self.objects: ObjectLane | None = None
        if object_sampling is not None and object_sampling.enabled:
            self.objects = ObjectLane(
                analyzers.objects,
                sessions,
                object_sampling,
                replay=replay,
                evidence=evidence,
                monotonic=monotonic,
                frames_busy=frames_busy,
            )
        self.identity: IdentityLane | None = None
        if identity is not None and identity.enabled and analyzers.identity is not None:
            self.identity = IdentityLane(
                analyzers.identity,
                sessions.record_identity,
                identity,
                replay=replay,
                evidence=identity_evidence,
                monotonic=monotonic,
                frames_busy=frames_busy,
            )

    def forget(self, session_id: str) -> None:
        """The session ended (or went away): its next frame on this pipeline is planned again."""
        self.neutrals.forget(session_id)
        if self.frames is not None:
            self.frames.forget(session_id)
        if self.objects is not None:
            self.objects.forget(session_id)
        if self.identity is not None:
            self.identity.forget(session_id)

    async def run(
        self,
        session_id: str,
        data: bytes,
        timestamp: float | None,
        audio: AudioFeatures | None = None,
        client: ClientSignals | None = None,
    ) -> FrameResult:
        """Analyse one validated frame (encoded bytes) for an open session and book it.

        A session not in the calibration cache is planned first (validated: an unknown, ended or
        expired session costs no model time). A cached one skips the plan; a session ended through
        another ingress replica since its last frame here is then refused by ``record_frame`` after
        the models ran (one frame's model time per replica at most: the entry is dropped). A failed
        face model fails the frame (nothing is booked); a failed gaze or object model is reported as
        "not looked at" for this frame, never as "nothing there".
        """
        started = time.perf_counter()
        received = self.clock()
        neutral = self.neutrals.get(session_id)
        plan: FramePlan | None = None
        if neutral is None:
            plan = await self.sessions.plan_frame(session_id, timestamp)
            neutral = plan.neutral
        if self.frames is not None:
            self.frames.take(session_id)
        frame = _Frame(
            session_id,
            data,
            timestamp,
            plan,
            neutral,
            received,
            started,
            {"prepare": ms_since(started)},
            audio,
            client,
        )
        identity = self.identity
        if identity is not None:
            await identity.before(session_id)
        if self.objects is None:
            result = await self._run_whole(frame)
        else:
            result = await self._run_sampled(self.objects, frame)
        if identity is not None:
            identity.after(session_id, data, timestamp, result.face, result.gaze, result.outcome.timestamp)
            result.late_events += identity.take_late(session_id)
        return result

    async def _run_whole(self, frame: _Frame) -> FrameResult:
        """Every frame waits for its own object analysis (sampling off: offline replays)."""
        data, timings = frame.data, frame.timings
        objects_task = asyncio.ensure_future(self._objects(data))
        try:
            face, gaze = await self._face_and_gaze(data, frame.neutral, timings)
        except BaseException:
            objects_task.cancel()
            raise
        timings["gaze_done"] = ms_since(frame.started)
        objects = await objects_task
        timings["objects_done"] = ms_since(frame.started)
        if self.person_faces is not None and objects.status.available:
            face = await self._relook(data, face, objects)
            timings["relook_done"] = ms_since(frame.started)
        models = {"face": ModelStatus(available=True), "gaze": gaze_status(gaze), "objects": objects.status}
        facts = self._facts(frame, face, gaze, objects, models)
        outcome = await self._record(frame.session_id, facts, timings)
        return self._result(frame, face, gaze, objects, models, outcome)

    async def _run_sampled(self, lane: ObjectLane, frame: _Frame) -> FrameResult:
        """Objects off the frame's path: a due frame's analysis runs beside it and is booked when it
        arrives; the frame is judged with the session's latest fresh result (persons) and answered
        without waiting. Without a fresh result (a session's first frame), the frame waits a moment
        (``own_wait_s``) for its own analysis instead."""
        session_id, data, timestamp, timings = frame.session_id, frame.data, frame.timestamp, frame.timings
        booked: asyncio.Future[BookedFrame] = asyncio.get_running_loop().create_future()
        booked.add_done_callback(_retrieve)
        missing = await self.analyzers.objects.missing()
        sampled = Sampled()
        try:
            if missing is None:
                sampled = await lane.on_arrival(session_id, data, timestamp, booked)
            face, gaze = await self._face_and_gaze(data, frame.neutral, timings)
            timings["gaze_done"] = ms_since(frame.started)
            if missing is None:
                sampled = lane.on_face(session_id, data, timestamp, face, gaze, booked, sampled)
            latest = lane.latest(session_id, timestamp)
            own = await lane.own(sampled, timestamp) if latest is None else None
            latest = latest or own
            objects = (
                latest.analysis if latest is not None else ObjectAnalysis(status=ModelStatus(available=True))
            )
            if self.person_faces is not None and latest is not None:
                face = await self._relook(data, face, latest.analysis)
                timings["relook_done"] = ms_since(frame.started)
            object_status = missing or ModelStatus(
                available=True, detail=_sampling_detail(sampled, latest, lane, own=own is not None)
            )
            models = {
                "face": ModelStatus(available=True),
                "gaze": gaze_status(gaze),
                "objects": object_status,
            }
            facts = self._facts(frame, face, gaze, None, models)
            facts.persons = latest.persons() if latest is not None else None
            facts.objects_shed = sampled.shed
            outcome = await self._record(session_id, facts, timings)
        except BaseException:
            if not booked.done():
                booked.set_exception(FrameNotBooked())
            raise
        judged = outcome.gaze if outcome.gaze is not None else gaze
        booked.set_result(
            BookedFrame(facts.model_copy(update={"timestamp": outcome.timestamp, "gaze": judged}), face, gaze)
        )
        result = self._result(frame, face, gaze, objects, models, outcome)
        result.objects_sampled = replace(sampled, analysis=None)  # what was done, not the task
        if own is not None:
            result.objects_frame_time, result.objects_age_s = outcome.timestamp, 0.0
        elif latest is not None:
            result.objects_frame_time = latest.frame_time
            result.objects_age_s = round(latest.age(lane.clock(timestamp)), 3)
        result.late_events = lane.take_late(session_id)
        return result

    @staticmethod
    def _facts(
        frame: _Frame,
        face: FaceAnalysis,
        gaze: GazeAnalysis | None,
        objects: ObjectAnalysis | None,
        models: dict[str, ModelStatus],
    ) -> FrameFacts:
        facts = FramePipeline._facts_of(frame, face, gaze, objects, models)
        facts.audio, facts.client = frame.audio, frame.client
        return facts

    @staticmethod
    def _facts_of(
        frame: _Frame,
        face: FaceAnalysis,
        gaze: GazeAnalysis | None,
        objects: ObjectAnalysis | None,
        models: dict[str, ModelStatus],
    ) -> FrameFacts:
        unavailable = {name: s.detail or "unavailable" for name, s in models.items() if not s.available}
        plan = frame.plan
        if plan is not None:
            return FrameFacts.of(
                plan.timestamp,
                face,
                gaze,
                objects,
                unavailable,
                received_at=plan.received_at,
                client_timestamp=plan.client_timestamp,
            )
        # Booked at this receipt time, the client's stamp under the session's clock rules.
        provisional = frame.received if frame.timestamp is None else frame.timestamp
        return FrameFacts.of(
            provisional,
            face,
            gaze,
            objects,
            unavailable,
            received_at=frame.received,
            client_timestamp=frame.timestamp,
        )

    async def _record(self, session_id: str, facts: FrameFacts, timings: dict[str, float]) -> FrameOutcome:
        tick = time.perf_counter()
        try:
            outcome = await self.sessions.record_frame(session_id, facts)
        except SESSION_GONE:
            self.forget(session_id)
            raise
        timings["session"] = ms_since(tick)
        if outcome.neutral is not None:
            self.neutrals.put(session_id, outcome.neutral)
        else:  # a session engine that does not return the calibration: plan every frame
            self.neutrals.forget(session_id)
        return outcome

    @staticmethod
    def _result(
        frame: _Frame,
        face: FaceAnalysis,
        gaze: GazeAnalysis | None,
        objects: ObjectAnalysis,
        models: dict[str, ModelStatus],
        outcome: FrameOutcome,
    ) -> FrameResult:
        plan = frame.plan
        if plan is None:
            plan = FramePlan(
                timestamp=outcome.timestamp,
                received_at=frame.received,
                client_timestamp=frame.timestamp,
                neutral=frame.neutral,
            )
        # The session's judgement of the gaze (a look down told from a blink by its duration).
        judged = outcome.gaze if outcome.gaze is not None else gaze
        return FrameResult(plan, face, judged, objects, models, outcome, frame.timings)

    async def _face_and_gaze(
        self, data: bytes, neutral: GazeNeutral, timings: dict[str, float]
    ) -> tuple[FaceAnalysis, GazeAnalysis | None]:
        tick = time.perf_counter()
        combined = self.analyzers.face_gaze
        if combined is not None:
            face, gaze = await self._face(combined.analyze_with_gaze(data, neutral))
            timings["face"] = ms_since(tick)  # face and gaze, one call
            return face, gaze
        face = (await self._face(_alone(self.analyzers.face.analyze(data))))[0]
        timings["face"] = ms_since(tick)
        return face, await self._gaze(face, neutral)

    async def _face(
        self, call: Awaitable[tuple[FaceAnalysis, GazeAnalysis | None]]
    ) -> tuple[FaceAnalysis, GazeAnalysis | None]:
        try:
            return await call
        except ImageDecodeError as exc:
            raise NotAnImage(f"frame could not be decoded: {exc}") from None
        except IntegrityError:
            raise
        except Exception as exc:
            logger.exception("face analysis failed")
            raise AnalysisFailed(f"face analysis failed: {type(exc).__name__}") from None

    async def _gaze(self, face: FaceAnalysis, neutral: GazeNeutral) -> GazeAnalysis | None:
        if face.primary is None:
            return None
        try:
            return await self.analyzers.gaze.analyze(face, neutral)
        except Exception as exc:  # gaze is not essential: report it unavailable for this frame
            logger.exception("gaze analysis failed")
            return GazeAnalysis(available=False, failure=f"failed: {type(exc).__name__}")

    async def _relook(self, data: bytes, face: FaceAnalysis, objects: ObjectAnalysis) -> FaceAnalysis:
        assert self.person_faces is not None
        try:
            return await self.person_faces.relook(data, face, objects)
        except Exception:  # a second look is not essential: keep what the face stage found
            logger.exception("second look for faces in person boxes failed")
            return face

    async def _objects(self, data: bytes) -> ObjectAnalysis:
        try:
            return await self.analyzers.objects.analyze(data)
        except Exception as exc:  # say the objects were not looked at; never "no phone"
            logger.exception("object detection failed")
            return ObjectAnalysis(
                status=ModelStatus(available=False, detail=f"object detection failed: {type(exc).__name__}")
            )


def _retrieve(future: asyncio.Future[BookedFrame]) -> None:
    """A frame that was not booked fails its future; no analysis may be waiting on it."""
    if not future.cancelled():
        future.exception()


def _sampling_detail(sampled: Sampled, latest: object | None, lane: ObjectLane, *, own: bool = False) -> str:
    if own:
        return "sampled: this frame's own analysis is shown (no fresh result before it)"
    if sampled.started:
        why = f" (trigger: {', '.join(sampled.triggers)})" if sampled.triggers else ""
        return f"sampled: this frame's analysis runs apart{why}"
    if sampled.shed:
        return "sampled: this frame's due analysis was shed under load"
    if latest is None:
        return "sampled: no fresh object result yet"
    return f"sampled: the latest result is shown (about one analysis per {lane.config.interval_s:g} s)"


async def _alone(call: Awaitable[FaceAnalysis]) -> tuple[FaceAnalysis, GazeAnalysis | None]:
    return await call, None


def gaze_status(gaze: GazeAnalysis | None) -> ModelStatus:
    if gaze is None:
        return ModelStatus(available=True, detail="no face in the frame")
    if not gaze.available:
        return ModelStatus(available=False, detail=gaze.failure)
    return ModelStatus(available=True)
