"""What the ingress does per request, shared by REST and WebSocket so both answer alike.

Per frame: decode the base64 once, ask the session how hard to look (which also validates the
session before any model runs), fan out through DeploymentHandles (face and objects at once, gaze
after face because it needs the landmarks), then let the session's actor run the risk engine.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, TypeVar

from ray.exceptions import RayTaskError
from ray.serve.handle import DeploymentHandle

from deployments.imaging import ImageDecodeError
from deployments.results import FaceAnalysis, GazeAnalysis, ModelStatus, ObjectAnalysis
from serve_app import __version__
from serve_app.domain import GazeDirection
from serve_app.errors import AnalysisFailed, NotAnImage, ServiceError, TooManySessions
from serve_app.frames import decode_frame
from serve_app.metrics import ServiceMetrics
from serve_app.schemas import (
    AnalyzeFrameResponse,
    EndSessionResponse,
    FaceSummary,
    FrameDetails,
    HealthResponse,
    StartSessionResponse,
)
from serve_app.sessions.shard import SessionShards
from serve_app.sessions.state import EndOutcome, FrameFacts, FrameOutcome, FramePlan, SessionState
from serve_app.settings import Settings

logger = logging.getLogger(__name__)

SERVICE_NAME = "interview-integrity"
HEALTH_TIMEOUT_S = 5.0
T = TypeVar("T")


async def unwrap(awaitable: Any) -> Any:
    """Await a Ray call, re-raising our own errors from inside actors/replicas as themselves."""
    try:
        return await awaitable
    except RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, (ServiceError, ImageDecodeError)):
            raise cause from None
        raise


class IntegrityService:
    def __init__(
        self,
        settings: Settings,
        face: DeploymentHandle[Any],
        gaze: DeploymentHandle[Any],
        objects: DeploymentHandle[Any],
        shards: SessionShards,
    ) -> None:
        self.settings = settings
        self.face = face
        self.gaze = gaze
        self.objects = objects
        self.shards = shards
        self.started = time.time()
        self.metrics = ServiceMetrics()

    # -- sessions ---------------------------------------------------------------------------------
    async def start_session(
        self, candidate_id: str, metadata: dict[str, Any], timestamp: float | None
    ) -> StartSessionResponse:
        limit = self.settings.max_concurrent_sessions
        if await self.shards.count() >= limit:
            raise TooManySessions(f"the service holds its limit of {limit} open sessions; try again later")
        session_id = str(uuid.uuid4())
        state: SessionState = await unwrap(
            self.shards.call(session_id, "create", candidate_id, metadata, timestamp, session_id)
        )
        self.metrics.sessions_started.inc()
        return StartSessionResponse(
            session_id=state.session_id, message="Session started", timestamp=time.time()
        )

    async def resume_session(self, session_id: str) -> str:
        """Check that the session is open (raises otherwise) and return its id."""
        state: SessionState = await unwrap(self.shards.call(session_id, "get", session_id))
        return state.session_id

    async def end_session(self, session_id: str) -> EndSessionResponse:
        outcome: EndOutcome = await unwrap(self.shards.call(session_id, "end", session_id))
        self.metrics.sessions_ended.inc(tags={"verdict": str(outcome.verdict)})
        return EndSessionResponse(
            session_id=outcome.session_id,
            final_risk_score=round(outcome.final_risk_score),
            verdict=outcome.verdict,
            total_violations=outcome.total_violations,
            duration_seconds=outcome.duration_seconds,
            summary=outcome.summary,
        )

    # -- frames -----------------------------------------------------------------------------------
    async def analyze(
        self,
        session_id: str,
        frame: str,
        timestamp: float | None,
        include_landmarks: bool = False,
        transport: str = "rest",
    ) -> AnalyzeFrameResponse:
        started = time.perf_counter()
        settings = self.settings
        data, _ = decode_frame(frame, settings.max_frame_bytes, settings.max_frame_pixels)
        plan: FramePlan = await unwrap(self.shards.call(session_id, "plan_frame", session_id, timestamp))
        timings: dict[str, float] = {"prepare": _ms_since(started)}

        objects_call = self.objects.analyze.remote(data)
        tick = time.perf_counter()
        try:
            face: FaceAnalysis = await unwrap(self.face.analyze.remote(data, plan.deep, plan.fine))
        except ImageDecodeError as exc:
            raise NotAnImage(f"frame could not be decoded: {exc}") from None
        except ServiceError:
            raise
        except Exception as exc:
            logger.exception("face analysis failed")
            raise AnalysisFailed(f"face analysis failed: {type(exc).__name__}") from None
        timings["face"] = _ms_since(tick)

        gaze = await self._gaze(face, plan)
        timings["gaze_done"] = _ms_since(started)
        objects = await self._objects(objects_call)
        timings["objects_done"] = _ms_since(started)

        models = {"face": ModelStatus(available=True), "gaze": _gaze_status(gaze), "objects": objects.status}
        facts = FrameFacts.of(
            plan.timestamp,
            face,
            gaze,
            objects,
            {name: s.detail or "unavailable" for name, s in models.items() if not s.available},
        )
        tick = time.perf_counter()
        outcome: FrameOutcome = await unwrap(self.shards.call(session_id, "record_frame", session_id, facts))
        timings["session"] = _ms_since(tick)
        elapsed = _ms_since(started)

        self.metrics.frames.inc(tags={"scan": str(face.scan), "transport": transport})
        self.metrics.frame_latency.observe(elapsed, tags={"scan": str(face.scan)})
        for event in outcome.events:
            self.metrics.events.inc(tags={"event_type": str(event.type), "severity": str(event.severity)})

        attention = gaze.attention if gaze is not None and gaze.available else 0.0
        return AnalyzeFrameResponse(
            session_id=session_id,
            cheating=outcome.cheating,
            risk_score=round(outcome.risk_score),
            attention=round(attention),
            gaze=gaze.direction if gaze is not None else GazeDirection.UNKNOWN,
            faces=face.count,
            objects=objects.objects,
            events=[e.type for e in outcome.events],
            processing_time_ms=round(elapsed, 2),
            timestamp=outcome.timestamp,
            verdict=outcome.verdict,
            event_details=outcome.events,
            details=FrameDetails(
                image_width=face.image_width,
                image_height=face.image_height,
                scan=face.scan,
                faces=[
                    FaceSummary(
                        box=f.box,
                        score=f.score,
                        detector=f.detector,
                        landmarks=f.landmarks if include_landmarks else None,
                    )
                    for f in face.faces
                ],
                unverified_face_candidates=len(face.doubtful),
                gaze=gaze,
                behaviour=outcome.behaviour,
                models=models,
                risk_score_exact=round(outcome.risk_score, 3),
                peak_risk_score=round(outcome.peak_risk_score, 3),
                timings_ms={
                    **{k: round(v, 2) for k, v in timings.items()},
                    **{f"face.{k}": v for k, v in face.timings_ms.items()},
                },
            ),
        )

    async def _gaze(self, face: FaceAnalysis, plan: FramePlan) -> GazeAnalysis | None:
        if face.primary is None:
            return None
        main = face.faces[face.primary]
        try:
            result: GazeAnalysis = await unwrap(
                self.gaze.analyze.remote(
                    main.landmarks, face.image_width, face.image_height, face.eye_patch, plan.neutral
                )
            )
            return result
        except Exception as exc:  # gaze is not essential: report it unavailable for this frame
            logger.exception("gaze analysis failed")
            return GazeAnalysis(available=False, method=f"failed: {type(exc).__name__}")

    async def _objects(self, call: Any) -> ObjectAnalysis:
        try:
            result: ObjectAnalysis = await unwrap(call)
            return result
        except Exception as exc:  # say the objects were not looked at; never "no phone"
            logger.exception("object detection failed")
            return ObjectAnalysis(
                status=ModelStatus(available=False, detail=f"object detection failed: {type(exc).__name__}")
            )

    # -- health -----------------------------------------------------------------------------------
    async def health(self) -> HealthResponse:
        names = ("face", "gaze", "objects")
        handles = (self.face, self.gaze, self.objects)
        results = await asyncio.gather(
            *(asyncio.wait_for(unwrap(h.status.remote()), HEALTH_TIMEOUT_S) for h in handles),
            return_exceptions=True,
        )
        models: dict[str, ModelStatus] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, ModelStatus):
                models[name] = result
            else:
                models[name] = ModelStatus(available=False, detail=f"not responding: {type(result).__name__}")
        try:
            active = await asyncio.wait_for(self.shards.count(), HEALTH_TIMEOUT_S)
        except Exception:
            logger.exception("session count failed")
            active = -1
        all_loaded = all(m.available for m in models.values())
        return HealthResponse(
            status="ok" if all_loaded and active >= 0 else "degraded",
            service=SERVICE_NAME,
            uptime_seconds=round(time.time() - self.started, 3),
            active_sessions=max(active, 0),
            models_loaded=all_loaded,
            models=models,
            version=__version__,
        )


def _gaze_status(gaze: GazeAnalysis | None) -> ModelStatus:
    if gaze is None:
        return ModelStatus(available=True, detail="no face in the frame")
    if not gaze.available:
        return ModelStatus(available=False, detail=gaze.method)
    return ModelStatus(available=True)


def _ms_since(tick: float) -> float:
    return (time.perf_counter() - tick) * 1000
