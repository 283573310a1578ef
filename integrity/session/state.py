"""Serialisable session state, and the compact per-frame facts the ingress sends to a session."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from integrity.core.enums import Verdict
from integrity.core.results import Box, FaceAnalysis, GazeAnalysis, GazeNeutral, ObjectAnalysis
from integrity.session.background import BackgroundState, BackgroundTrack
from integrity.session.behaviour.tracker import BehaviourSnapshot, BehaviourState
from integrity.session.browser import AudioFeatures, BrowserSignalsSeen, ClientSignals
from integrity.session.identity_watch import IdentityReading, IdentityState, IdentitySummary
from integrity.session.object_watch import ObjectCoverage, ObjectWatch
from integrity.session.policy import EffectivePolicy
from integrity.session.record import Review, RiskSeries
from integrity.session.risk.models import Coverage, EventRecord, RiskState
from integrity.session.risk.verdict import VerdictBasis


class GoneReason(StrEnum):
    """Why a session id no longer accepts frames."""

    ENDED = "ended"
    EXPIRED = "expired"


class ClockState(BaseModel):
    """The session's clock: server receipt times, client timestamps only within a tolerance of them."""

    offset: float | None = None  # client timestamp minus server time, at the last anchoring
    last_client: float | None = None
    last_server: float | None = None
    anomalies: dict[str, int] = Field(
        default_factory=dict,
        description="client timestamps not used: backwards, reset (clock restarted), constant, "
        "behind (stamped closer than received: a burst) or ahead (further apart than received)",
    )
    gaps: int = Field(0, description="spans without frames longer than clock.gap_s")
    gap_s: float = Field(0.0, description="their total length, seconds")


class SessionState(BaseModel):
    session_id: str
    candidate_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: float  # server wall clock
    last_activity: float  # server wall clock, drives expiry
    clock_origin: float | None = None  # stream time of the session's start
    last_ts: float | None = None  # stream time of the latest frame
    frames: int = 0
    attention_sum: float = 0.0
    attention_frames: int = 0
    risk: RiskState = Field(default_factory=RiskState)
    behaviour: BehaviourState = Field(default_factory=BehaviourState)
    unavailable: dict[str, str] = Field(default_factory=dict)  # model -> why, seen during the session
    risk_series: RiskSeries = Field(default_factory=RiskSeries)  # risk over stream time, for the record
    reviews: dict[str, Review] = Field(default_factory=dict)  # event id -> decision, while still open
    clock: ClockState = Field(default_factory=ClockState)
    objects: ObjectWatch = Field(default_factory=ObjectWatch, description="the object analyses booked")
    background: BackgroundState = Field(
        default_factory=BackgroundState, description="static background faces and objects learned so far"
    )
    policy: EffectivePolicy | None = Field(None, description="the interview's rules; None: the event table")
    identity: IdentityState = Field(
        default_factory=IdentityState, description="the enrolment and checks (descriptors: never sent out)"
    )
    browser: BrowserSignalsSeen = Field(
        default_factory=BrowserSignalsSeen, description="which of the page's signals the frames carried"
    )


class FramePlan(BaseModel):
    """The session's answer before a frame is analysed."""

    timestamp: float  # session time the frame is booked at
    received_at: float | None = None  # server clock when the frame arrived
    client_timestamp: float | None = None
    neutral: GazeNeutral = Field(default_factory=GazeNeutral, description="the candidate's calibration")


class FrameFacts(BaseModel):
    """The part of a frame's analysis the risk engine needs (no landmarks or pixels)."""

    timestamp: float  # the plan's session time (or, called directly, the client's timestamp)
    # Server receipt time (the plan's, or stamped by the ingress when it skipped the plan): when set,
    # the session books the frame from it and client_timestamp by its clock rules, not from timestamp.
    received_at: float | None = None
    client_timestamp: float | None = None
    faces: int
    unverified: int = 0  # face-like candidates not counted (failed or beyond the checks)
    face_boxes: list[Box] = Field(
        default_factory=list,
        description="the verified faces' boxes (as many as `faces`; empty: not placed, e.g. old callers)",
    )
    primary_face: int | None = Field(None, description="index in face_boxes of the candidate's face")
    unverified_boxes: list[Box] = Field(
        default_factory=list, description="the unverified candidates' boxes (as many as `unverified`)"
    )
    gaze: GazeAnalysis | None = None
    objects: ObjectAnalysis | None = Field(
        None,
        description="the frame's object analysis; None: objects are analysed apart (sampled, booked by "
        "``record_objects`` at this frame's time when they arrive) or not for this frame",
    )
    persons: list[Box] | None = Field(
        None,
        description="without `objects`: the person boxes of the latest fresh object result (a person "
        "without a face keeps MULTIPLE_FACES from being refuted; never raises it); None: unknown",
    )
    objects_shed: bool = Field(False, description="this frame's due object analysis was dropped under load")
    unavailable: dict[str, str] = Field(default_factory=dict)
    audio: AudioFeatures | None = Field(None, description="the page's audio features (None: not sent)")
    client: ClientSignals | None = Field(None, description="the page's focus and screens (None: not sent)")

    def extra_face_boxes(self) -> list[Box] | None:
        """The boxes of the faces other than the candidate's (the primary, else the largest); None when
        the faces were not placed (no boxes, or not one per face): they cannot be learned as background."""
        if len(self.face_boxes) != self.faces:
            return None
        if not self.face_boxes:
            return []
        primary = self.primary_face
        if primary is None or not 0 <= primary < len(self.face_boxes):
            primary = max(
                range(len(self.face_boxes)),
                key=lambda i: self.face_boxes[i].width * self.face_boxes[i].height,
            )
        return [b for i, b in enumerate(self.face_boxes) if i != primary]

    def candidate_boxes(self) -> list[Box] | None:
        """The unverified candidates' boxes; None when not placed (not one per candidate)."""
        return self.unverified_boxes if len(self.unverified_boxes) == self.unverified else None

    @classmethod
    def of(
        cls,
        timestamp: float,
        face: FaceAnalysis,
        gaze: GazeAnalysis | None,
        objects: ObjectAnalysis | None,
        unavailable: dict[str, str] | None = None,
        received_at: float | None = None,
        client_timestamp: float | None = None,
        persons: list[Box] | None = None,
        objects_shed: bool = False,
    ) -> FrameFacts:
        return cls(
            timestamp=timestamp,
            received_at=received_at,
            client_timestamp=client_timestamp,
            faces=face.count,
            unverified=len(face.unverified),
            face_boxes=[f.box for f in face.faces],
            primary_face=face.primary,
            unverified_boxes=list(face.unverified),
            gaze=gaze,
            objects=objects,
            persons=persons,
            objects_shed=objects_shed,
            unavailable=unavailable or {},
        )


class FrameOutcome(BaseModel):
    """The session's answer after a frame: risk now and what the frame raised."""

    risk_score: float
    peak_risk_score: float
    cheating: bool
    verdict: Verdict
    events: list[EventRecord]
    timestamp: float
    behaviour: BehaviourSnapshot | None = None
    gaze: GazeAnalysis | None = Field(
        None, description="the frame's gaze as the session judged it (a look down told from a blink)"
    )
    coverage: dict[str, Coverage] = Field(
        default_factory=dict, description="per condition: seconds observed, unknown, without frames so far"
    )
    clock: ClockState | None = None
    neutral: GazeNeutral | None = Field(
        None,
        description="the candidate's calibration after this frame: the neutral for the session's next "
        "frame, so the ingress needs no second session call per frame",
    )
    objects: ObjectCoverage | None = Field(None, description="how well the session was watched for objects")


class ObjectOutcome(BaseModel):
    """The session's answer to an object result booked apart from its frame (``record_objects``)."""

    booked: bool = Field(description="False: older than a result already booked, so not booked")
    timestamp: float = Field(description="the analysed frame's stream time")
    events: list[EventRecord] = Field(default_factory=list, description="events the result raised")
    risk_score: float
    peak_risk_score: float
    cheating: bool
    verdict: Verdict
    objects: ObjectCoverage


class IdentityOutcome(BaseModel):
    """The session's answer to an identity check booked apart from its frame (``record_identity``)."""

    booked: bool
    timestamp: float
    reading: IdentityReading
    events: list[EventRecord] = Field(default_factory=list)
    confirm: bool = Field(False, description="the check found someone else: check the next frame at once")
    enrol_crop: bytes | None = Field(None, repr=False, description="with an event: the enrolment's crop")
    identity: IdentitySummary
    risk_score: float
    peak_risk_score: float
    cheating: bool
    verdict: Verdict


class SessionSummary(BaseModel):
    candidate_id: str
    metadata: dict[str, Any]
    started_at: float
    ended_at: float
    frames_analyzed: int
    event_counts: dict[str, int]
    peak_risk_score: float
    peak_at: float | None
    final_risk_score: float
    verdict_reason: str
    average_attention: float | None
    timeline: list[EventRecord]
    timeline_truncated: int = 0
    models_unavailable: dict[str, str] = Field(default_factory=dict)
    behaviour: BehaviourSnapshot | None = Field(None, description="calibration and baseline at the end")
    coverage: dict[str, Coverage] = Field(
        default_factory=dict, description="per condition: seconds observed, unknown, without frames"
    )
    verdict_basis: VerdictBasis | None = None
    clock: ClockState | None = Field(None, description="client timestamp anomalies and gaps")
    static_background: list[BackgroundTrack] = Field(
        default_factory=list, description="faces and objects learned as static background (not counted)"
    )
    objects: ObjectCoverage | None = Field(
        None, description="how well the session was watched for objects (object analyses are sampled)"
    )
    policy: EffectivePolicy | None = Field(None, description="the interview's rules it was judged under")
    identity: IdentitySummary | None = Field(None, description="the identity watch (no descriptor)")
    browser: BrowserSignalsSeen | None = Field(None, description="which of the page's signals were sent")


class EndOutcome(BaseModel):
    session_id: str
    final_risk_score: float
    verdict: Verdict
    total_violations: int
    duration_seconds: float
    summary: SessionSummary
