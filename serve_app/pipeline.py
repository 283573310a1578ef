"""The per-frame pipeline: plan, face and objects together, gaze, record.

It knows its analyzers and the session engine only through the small protocols below, so unit
tests run it in-process (``serve_app.analyzers.LocalAnalyzers`` and a SessionManager) and
production runs it over DeploymentHandles and the session shards, with the same code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from integrity.core.errors import AnalysisFailed, IntegrityError, NotAnImage
from integrity.core.results import FaceAnalysis, GazeAnalysis, GazeNeutral, ModelStatus, ObjectAnalysis
from integrity.core.timing import ms_since
from integrity.session.state import FrameFacts, FrameOutcome, FramePlan
from integrity.vision.imaging import ImageDecodeError

logger = logging.getLogger(__name__)


class FaceModel(Protocol):
    async def analyze(self, data: bytes) -> FaceAnalysis: ...

    async def status(self) -> ModelStatus: ...

    async def statuses(self) -> dict[str, ModelStatus]:
        """Each model of the face stage (``face``, ``face_landmarks``, ``face_verifier``)."""
        ...


class GazeModel(Protocol):
    async def analyze(self, face: FaceAnalysis, neutral: GazeNeutral) -> GazeAnalysis:
        """Gaze of ``face``'s primary face (the caller checks there is one)."""
        ...

    async def status(self) -> ModelStatus: ...


class ObjectModel(Protocol):
    async def analyze(self, data: bytes) -> ObjectAnalysis: ...

    async def status(self) -> ModelStatus: ...


class SessionEngine(Protocol):
    async def plan_frame(self, session_id: str, timestamp: float | None) -> FramePlan: ...

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome: ...


@dataclass(frozen=True, slots=True)
class Analyzers:
    face: FaceModel
    gaze: GazeModel
    objects: ObjectModel


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


class FramePipeline:
    def __init__(self, analyzers: Analyzers, sessions: SessionEngine) -> None:
        self.analyzers = analyzers
        self.sessions = sessions

    async def run(self, session_id: str, data: bytes, timestamp: float | None) -> FrameResult:
        """Analyse one validated frame (encoded bytes) for an open session and book it.

        The session is checked first, so an unknown or ended session costs no model time. A failed
        face model fails the frame (nothing is booked); a failed gaze or object model is reported as
        "not looked at" for this frame, never as "nothing there".
        """
        started = time.perf_counter()
        plan = await self.sessions.plan_frame(session_id, timestamp)
        timings: dict[str, float] = {"prepare": ms_since(started)}

        objects_task = asyncio.ensure_future(self._objects(data))
        tick = time.perf_counter()
        try:
            face = await self._face(data)
        except BaseException:
            objects_task.cancel()
            raise
        timings["face"] = ms_since(tick)

        gaze = await self._gaze(face, plan.neutral)
        timings["gaze_done"] = ms_since(started)
        objects = await objects_task
        timings["objects_done"] = ms_since(started)

        models = {"face": ModelStatus(available=True), "gaze": gaze_status(gaze), "objects": objects.status}
        facts = FrameFacts.of(
            plan.timestamp,
            face,
            gaze,
            objects,
            {name: s.detail or "unavailable" for name, s in models.items() if not s.available},
            received_at=plan.received_at,
            client_timestamp=plan.client_timestamp,
        )
        tick = time.perf_counter()
        outcome = await self.sessions.record_frame(session_id, facts)
        timings["session"] = ms_since(tick)
        # The session's judgement of the gaze (a look down told from a blink by its duration).
        judged = outcome.gaze if outcome.gaze is not None else gaze
        return FrameResult(plan, face, judged, objects, models, outcome, timings)

    async def _face(self, data: bytes) -> FaceAnalysis:
        try:
            return await self.analyzers.face.analyze(data)
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

    async def _objects(self, data: bytes) -> ObjectAnalysis:
        try:
            return await self.analyzers.objects.analyze(data)
        except Exception as exc:  # say the objects were not looked at; never "no phone"
            logger.exception("object detection failed")
            return ObjectAnalysis(
                status=ModelStatus(available=False, detail=f"object detection failed: {type(exc).__name__}")
            )


def gaze_status(gaze: GazeAnalysis | None) -> ModelStatus:
    if gaze is None:
        return ModelStatus(available=True, detail="no face in the frame")
    if not gaze.available:
        return ModelStatus(available=False, detail=gaze.failure)
    return ModelStatus(available=True)
