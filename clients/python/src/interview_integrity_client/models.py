"""Typed bodies of the API's answers (docs/API.md), as pydantic models.

Unknown fields are kept (``extra="allow"``): a newer service adds fields beside the documented ones,
and this client keeps working and passes them through (``model_extra``, ``model_dump()``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["CLEAN", "SUSPICIOUS", "CHEATING", "INCONCLUSIVE"]
"""INCONCLUSIVE: too little of the session could be observed to call it clean."""
Gaze = Literal["center", "left", "right", "up", "down", "unknown"]
"""In the image as displayed: ``left`` is toward the image's left edge (the candidate's right)."""
Severity = Literal["low", "medium", "high", "critical"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class Box(_Body):
    x: int
    y: int
    width: int
    height: int


class FaceDetail(_Body):
    box: Box
    score: float
    detector: str
    checks: list[Any] = Field(default_factory=list)
    """The checks a doubtful candidate passed to be counted (empty: a sure detection)."""
    landmarks: list[tuple[float, float]] | None = None


class DetectedObject(_Body):
    label: str
    confidence: float
    box: Box
    partial: bool = False
    event: str | None = None


class EventDetail(_Body):
    id: str = ""
    """Stable within the session (``ev0001``, ...): the key of its evidence and of reviews."""
    type: str
    severity: Severity
    risk_increase: float
    timestamp: float
    risk_after: float
    evidence: dict[str, Any] = Field(default_factory=dict)
    evidence_url: str | None = None
    """The event's evidence image (JPEG), readable with the API key or the session's token."""


class ModelStatus(_Body):
    available: bool
    detail: str | None = None


class FrameDetails(_Body):
    """The evidence behind one frame's answer. Only the frame size and the faces are required: the
    rest is diagnostic and may grow or change between service versions (all of it is kept)."""

    image_width: int
    image_height: int
    faces: list[FaceDetail]
    face_detector: str | None = None
    unverified_face_candidates: int = 0
    gaze: dict[str, Any] | None = None
    behaviour: dict[str, Any] | None = None
    models: dict[str, ModelStatus] = Field(default_factory=dict)
    risk_score_exact: float = 0.0
    peak_risk_score: float = 0.0
    timings_ms: dict[str, float] = Field(default_factory=dict)


class StartSessionResponse(_Body):
    session_id: str
    message: str
    timestamp: float
    """Server time, Unix seconds."""
    session_token: str | None = None
    """Hand this to the candidate's browser: it may send frames for this session only."""


class AnalyzeFrameResponse(_Body):
    session_id: str
    cheating: bool
    risk_score: int
    attention: int
    gaze: Gaze
    faces: int
    objects: list[DetectedObject]
    events: list[str]
    """Names of the events this frame raised (after debounce), usually empty."""
    processing_time_ms: float
    timestamp: float
    """The frame's stream time."""
    verdict: Verdict
    """What ending the session now would answer."""
    event_details: list[EventDetail]
    details: FrameDetails


class SessionSummary(_Body):
    candidate_id: str
    metadata: dict[str, Any]
    started_at: float
    ended_at: float
    frames_analyzed: int
    event_counts: dict[str, int]
    peak_risk_score: float
    peak_at: float | None = None
    final_risk_score: float
    verdict_reason: str
    average_attention: float | None = None
    timeline: list[EventDetail]
    timeline_truncated: int = 0
    models_unavailable: dict[str, str] = Field(default_factory=dict)
    behaviour: dict[str, Any] | None = None


class EndSessionResponse(_Body):
    session_id: str
    final_risk_score: int
    verdict: Verdict
    total_violations: int
    duration_seconds: float
    summary: SessionSummary


class HealthResponse(_Body):
    status: Literal["ok", "degraded"]
    service: str
    uptime_seconds: float
    active_sessions: int
    models_loaded: bool
    models: dict[str, ModelStatus]
    version: str
