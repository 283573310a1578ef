"""Response bodies built from what the service returns (one place, for REST and WebSocket)."""

from __future__ import annotations

import time
from typing import Literal

from integrity.core.enums import GazeDirection
from integrity.core.results import ModelStatus
from integrity.session.policy import EffectivePolicy
from integrity.session.record import SessionRecord
from integrity.session.risk.models import EventRecord
from integrity.session.state import EndOutcome
from serve_app.api.schemas import (
    AnalyzeFrameResponse,
    EndSessionResponse,
    EventDetail,
    FaceSummary,
    FrameDetails,
    HealthResponse,
    ObjectResultInfo,
    ObjectWatchHealth,
    RecordedEvent,
    ReviewResponse,
    SessionRecordResponse,
    StartSessionResponse,
)
from serve_app.object_lane import ObjectLaneStats
from serve_app.pipeline import FrameResult
from serve_app.service import AnalyzedFrame, Health, RecordView


def started(
    session_id: str, session_token: str, policy: EffectivePolicy | None = None
) -> StartSessionResponse:
    return StartSessionResponse(
        session_id=session_id,
        message="Session started",
        timestamp=time.time(),
        session_token=session_token,
        policy=policy,
    )


def ended(outcome: EndOutcome) -> EndSessionResponse:
    return EndSessionResponse(
        session_id=outcome.session_id,
        final_risk_score=round(outcome.final_risk_score),
        verdict=outcome.verdict,
        total_violations=outcome.total_violations,
        duration_seconds=outcome.duration_seconds,
        summary=outcome.summary,
    )


def analyzed(session_id: str, frame: AnalyzedFrame, include_landmarks: bool) -> AnalyzeFrameResponse:
    result = frame.result
    face, gaze, outcome = result.face, result.gaze, result.outcome
    attention = gaze.attention if gaze is not None and gaze.available else 0.0
    raised = [*outcome.events, *(late.event for late in result.late_events)]
    return AnalyzeFrameResponse(
        session_id=session_id,
        cheating=outcome.cheating,
        risk_score=round(outcome.risk_score),
        attention=round(attention),
        gaze=gaze.direction if gaze is not None else GazeDirection.UNKNOWN,
        faces=face.count,
        objects=result.objects.objects,
        events=[e.type for e in raised],
        processing_time_ms=round(frame.elapsed_ms, 2),
        # The seed's field: the request's own timestamp when given, so clients match answers to frames.
        timestamp=result.plan.client_timestamp
        if result.plan.client_timestamp is not None
        else outcome.timestamp,
        session_time=outcome.timestamp,
        verdict=outcome.verdict,
        event_details=event_details(raised, frame.evidence),
        details=FrameDetails(
            image_width=face.image_width,
            image_height=face.image_height,
            face_detector=face.detector,
            faces=[
                FaceSummary(
                    box=f.box,
                    score=f.score,
                    detector=f.detector,
                    checks=f.checks,
                    landmarks=f.landmarks if include_landmarks else None,
                )
                for f in face.faces
            ],
            unverified_face_candidates=len(face.unverified),
            gaze=gaze,
            behaviour=outcome.behaviour,
            models=result.models,
            risk_score_exact=round(outcome.risk_score, 3),
            peak_risk_score=round(outcome.peak_risk_score, 3),
            coverage=outcome.coverage,
            clock=outcome.clock,
            object_result=object_result(result),
            object_coverage=outcome.objects,
            timings_ms={
                **{k: round(v, 2) for k, v in result.timings_ms.items()},
                **{f"face.{k}": v for k, v in face.timings_ms.items()},
            },
        ),
    )


def object_result(result: FrameResult) -> ObjectResultInfo | None:
    sampled = result.objects_sampled
    if sampled is None:
        return None  # analysed whole: `objects` are this frame's
    this_frame: Literal["analysing", "shed", "not_due", "unavailable"] = "not_due"
    if not result.models["objects"].available:
        this_frame = "unavailable"
    elif sampled.started:
        this_frame = "analysing"
    elif sampled.shed:
        this_frame = "shed"
    return ObjectResultInfo(
        frame_time=result.objects_frame_time,
        age_s=result.objects_age_s,
        this_frame=this_frame,
        triggers=[str(t) for t in sampled.triggers],
    )


def object_watch(stats: ObjectLaneStats | None) -> ObjectWatchHealth | None:
    if stats is None:
        return None
    return ObjectWatchHealth(
        window_s=stats.window_s,
        interval_s=stats.interval_s,
        sessions=stats.sessions,
        coverage=stats.coverage,
        analyses_per_s=stats.analyses_per_s,
        shed_per_s=stats.shed_per_s,
        triggered_per_s=stats.triggered_per_s,
        in_flight=stats.in_flight,
        max_inflight=stats.max_inflight,
    )


def health(report: Health) -> HealthResponse:
    all_loaded = all(m.available for m in report.models.values())
    return HealthResponse(
        status="ok" if all_loaded and report.active_sessions >= 0 else "degraded",
        service=report.service,
        uptime_seconds=report.uptime_seconds,
        active_sessions=max(report.active_sessions, 0),
        models_loaded=all_loaded,
        models=report.models,
        session_store=ModelStatus(available=report.store_error is None, detail=report.store_error),
        objects=object_watch(report.objects),
        version=report.version,
    )


def event_details(events: list[EventRecord], evidence: dict[str, str]) -> list[EventDetail]:
    return [EventDetail(**e.model_dump(), evidence_url=evidence.get(e.id)) for e in events]


def record(view: RecordView) -> SessionRecordResponse:
    rec = view.record
    events = [
        RecordedEvent(**e.model_dump(), evidence_url=view.evidence.get(e.id), review=rec.reviews.get(e.id))
        for e in rec.events
    ]
    return SessionRecordResponse(**{**dict(rec), "events": events})


def reviewed(rec: SessionRecord, event_id: str) -> ReviewResponse:
    return ReviewResponse(
        session_id=rec.session_id,
        event_id=event_id,
        review=rec.reviews[event_id],
        verdict=rec.verdict,
        reviewed_verdict=rec.reviewed_verdict,
        reviewed_verdict_reason=rec.reviewed_verdict_reason,
    )
