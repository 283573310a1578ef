"""Typed bodies of the API (docs/API.md): answers as pydantic models, requests as TypedDicts.

Every type here is held to the service's OpenAPI document by ``tests/clients/contract.py``: each
enum lists exactly the service's values, each model declares exactly the service's fields with the
same types, a field is required here only where the service always sends it, and each request
carries every field the service requires. A service change the client does not follow fails the
tests.

Unknown fields are kept (``extra="allow"``): a newer service adds fields beside the documented ones,
and this client keeps working and passes them through (``model_extra``, ``model_dump()``).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

# -- enums ----------------------------------------------------------------------------------------
Verdict = Literal["CLEAN", "SUSPICIOUS", "CHEATING", "INCONCLUSIVE"]
"""INCONCLUSIVE: too little of the session could be observed to call it clean."""
Gaze = Literal["center", "left", "right", "up", "down", "unknown"]
"""In the image as displayed: ``left`` is toward the image's left edge (the candidate's right)."""
Severity = Literal["low", "medium", "high", "critical"]
EventType = Literal[
    "PHONE_DETECTED",
    "PHONE_PARTIAL_DETECTED",
    "MULTIPLE_FACES",
    "EYES_OFF_SCREEN",
    "LOOKING_AWAY",
    "NO_FACE",
    "SUSPICIOUS_OBJECT",
    "WHISPERING",
    "READING_PATTERN",
    "STRESS_HIGH",
    "IDENTITY_CHANGED",
    "SECOND_VOICE",
    "TAB_SWITCH",
    "SECOND_SCREEN",
    "PASTE",
]
FaceDetector = Literal["blazeface_full_range", "blazeface_short_range"]
FaceCheck = Literal["landmarks", "hog", "short_range"]
"""Checks a doubtful face candidate passed to be counted."""
LidState = Literal["open", "lowered", "closed"]
EyeSide = Literal["image_left", "image_right"]
ReviewDecision = Literal["confirmed", "dismissed"]
"""confirmed: the event stands; dismissed: it is set aside (the reviewed verdict leaves it out)."""
RecordStatus = Literal["active", "ended", "expired"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- shared pieces --------------------------------------------------------------------------------
class Box(_Body):
    x: int
    y: int
    width: int
    height: int


class ModelStatus(_Body):
    """Whether a model is loaded, and if not, why."""

    available: bool
    detail: str | None = None
    file: str | None = None
    """The weights file in use."""
    sha256: str | None = None
    runtime: str | None = None
    """What runs it: dlib, litert, onnxruntime, ..."""


class FaceDetail(_Body):
    """One counted face (the service's ``FaceSummary``)."""

    box: Box
    score: float
    detector: FaceDetector
    checks: list[FaceCheck] = Field(default_factory=list)
    """The checks a doubtful candidate passed to be counted (empty: a sure detection)."""
    landmarks: list[tuple[float, float]] | None = None


class DetectedObject(_Body):
    label: str
    confidence: float
    box: Box
    partial: bool = False
    event: EventType | None = None
    """The event this object supports, if any."""


class Review(_Body):
    """A reviewer's decision on one event (the latest one counts)."""

    event_id: str
    decision: ReviewDecision
    note: str | None = None
    reviewer: str
    """Who decided: a short hash of the API key, or ``open``."""
    at: float
    """Server time of the decision (Unix seconds)."""


class EventRecord(_Body):
    """An event as it enters the session's timeline."""

    id: str = ""
    """Stable within the session (``ev0001``, ...): the key of its evidence and of reviews."""
    type: EventType
    severity: Severity
    risk_increase: float
    timestamp: float
    risk_after: float
    evidence: dict[str, Any] = Field(default_factory=dict)
    """Measured values and thresholds behind the event."""
    duration_s: float = 0.0
    ongoing_risk: float = 0.0
    ongoing_from: float | None = None
    ongoing_to: float | None = None


class EventDetail(EventRecord):
    """An event with the URL of its evidence image."""

    evidence_url: str | None = None
    """The event's evidence image (JPEG), readable with the API key or the session's token
    (:meth:`InterviewClient.get_evidence`)."""


class RecordedEvent(EventDetail):
    """An event of a session record, with its latest review."""

    review: Review | None = None


# -- gaze and behaviour (diagnostic: what the service measured) ----------------------------------
class HeadPose(_Body):
    yaw: float
    pitch: float
    roll: float


class EyeIris(_Body):
    side: EyeSide
    h_ratio: float
    v_ratio: float
    confidence: float
    center: tuple[float, float]


class IrisReading(_Body):
    h_ratio: float
    v_ratio: float
    confidence: float
    eyes: list[EyeIris]


class GazeAngles(_Body):
    """Degrees relative to the neutral pose; yaw positive toward image-right, pitch positive up."""

    head_yaw: float
    head_pitch: float
    eye_yaw: float | None = None
    eye_pitch: float | None = None
    gaze_yaw: float
    gaze_pitch: float


class LidReading(_Body):
    upper: float
    lower: float
    pitch_deg: float
    lower_raise: float
    state: LidState
    held_direction: Gaze | None = None
    held_eyes_off_screen: bool | None = None


class GazeNeutral(_Body):
    """The candidate's neutral pose (looking at the screen), from the session's calibration."""

    yaw: float = 0.0
    pitch: float = 0.0
    h_ratio: float = 0.5
    v_ratio: float = -0.1
    eye_aspect_ratio: float = 0.28
    upper_lid: float = 0.22
    lower_lid: float = 0.08
    eye_darkness: float | None = None
    mouth_contrast: float | None = None
    look_down: float | None = None
    look_up: float | None = None
    source: Literal["default", "provisional", "calibrated", "refined"] = "default"
    samples: int = 0


class EyeScores(_Body):
    """The Face Landmarker's eye blendshapes, both eyes averaged (0..1)."""

    down: float
    up: float
    left: float
    right: float
    blink: float
    blink_one: float
    squint: float
    smile: float = 0.0


class GazeAnalysis(_Body):
    """Iris, head pose, gaze angles and eye/mouth ratios of the main face."""

    available: bool = True
    direction: Gaze = "unknown"
    attention: float = 0.0
    head_pose: HeadPose | None = None
    iris: IrisReading | None = None
    angles: GazeAngles | None = None
    eye_aspect_ratio: float | None = None
    mouth_aspect_ratio: float | None = None
    mouth_width_px: float | None = None
    eye_span_px: float | None = None
    blink: bool = False
    lids: LidReading | None = None
    eye_darkness: float | None = None
    lowered_s: float | None = None
    mouth_contrast: float | None = None
    mouth_covered: bool = False
    unreadable_eyes: list[EyeSide] = Field(default_factory=list)
    eyes_off_screen: bool | None = None
    head_turned: bool | None = None
    limits: dict[str, float] = Field(default_factory=dict)
    neutral: GazeNeutral | None = None
    eye_scores: EyeScores | None = None
    calibration: Literal["pending", "done"] | None = None
    method: Literal["iris+head_pose", "lids+head_pose", "head_pose", "blendshapes+head_pose", "none"] = (
        "iris+head_pose"
    )
    failure: str | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)


class CalibrationQuality(_Body):
    samples: int = 0
    rejected: dict[str, int] = Field(default_factory=dict)
    restarts: int = 0
    spread_yaw_deg: float | None = None
    spread_pitch_deg: float | None = None
    spread_h: float | None = None
    refinements: int = 0
    shift_deg: float = 0.0


class BehaviourSnapshot(_Body):
    """The candidate's calibration and blink/jitter rates against their baseline."""

    neutral: GazeNeutral
    calibration: str
    blink_rate_per_min: float | None = None
    baseline_blink_rate_per_min: float | None = None
    head_jitter_deg_s: float | None = None
    baseline_head_jitter_deg_s: float | None = None
    calibration_quality: CalibrationQuality | None = None
    too_small: dict[str, dict[str, float]] = Field(default_factory=dict)


class Coverage(_Body):
    """How much of the session one condition could be judged: seconds observed, unknown, no frames."""

    observed_s: float = 0.0
    unknown_s: float = 0.0
    no_frames_s: float = 0.0
    unknown_because: dict[str, float] = Field(default_factory=dict)


class ObjectCoverage(_Body):
    """How well the session was watched for objects (object analyses are sampled apart from frames)."""

    share: float | None = None
    """Share of session time covered by a fresh object result (``None``: no session time yet)."""
    covered_s: float = 0.0
    session_s: float = 0.0
    analyses: int = 0
    unavailable: int = 0
    shed: int = 0
    """Frames whose due object analysis was dropped under load."""
    mean_interval_s: float | None = None
    fresh_s: float = 0.0
    last_result_at: float | None = None


Stakes = Literal["low", "standard", "high"]
Treatment = Literal["count", "report", "off"]


class PolicyTreatment(_Body):
    treatment: Treatment
    because: str
    """The allowance that asks for it."""


class EffectivePolicy(_Body):
    """The rules a session is judged under, resolved (start answer, summary, record)."""

    profile: str
    stakes: Stakes
    allowances: dict[str, bool]
    set_by: list[str]
    """Where it came from, in order: service default, API key default, request."""
    risk_scale: float
    suspicious_threshold: float
    cheating_threshold: float
    treatments: dict[EventType, dict[str, PolicyTreatment]] = Field(default_factory=dict)
    """Per event, by kind (``""``: every kind): reported without risk, or not raised."""
    allowed_labels: list[str] = Field(default_factory=list)
    """Object labels not counted."""


class BrowserSignalsSeen(_Body):
    """Which of the page's signals the session's frames carried (a signal never sent: not watched)."""

    frames: int = 0
    audio: int = 0
    client: int = 0
    measured: dict[str, int] = Field(default_factory=dict)


class IdentitySummary(_Body):
    """The identity watch (is the candidate enrolled at the start still there?): figures only."""

    enrolled: bool
    enrolled_at: float | None = None
    enrol_samples: int
    checks: int
    same: int = 0
    unsure: int = 0
    different: int = 0
    unusable: int = 0
    last_distance: float | None = None
    unsure_below: float
    unsure_above: float


class ObjectResultInfo(_Body):
    """Which object result an answer's ``objects`` show, and what was done with this frame."""

    frame_time: float | None = None
    """Session time of the frame the objects come from: this frame's own where none was fresh
    before it (a first frame waits a moment for its analysis); ``None``: no fresh result yet."""
    age_s: float | None = None
    this_frame: Literal["analysing", "shed", "not_due", "unavailable"]
    triggers: list[str] = Field(default_factory=list)


class ObjectWatchHealth(_Body):
    """A replica's object analyses over a recent window (``/health``)."""

    window_s: float
    interval_s: float
    sessions: int
    coverage: float | None = None
    analyses_per_s: float
    shed_per_s: float
    triggered_per_s: float
    in_flight: int
    max_inflight: int


class ClockState(_Body):
    """The session clock: client timestamps not used (by kind) and gaps without frames."""

    offset: float | None = None
    last_client: float | None = None
    last_server: float | None = None
    anomalies: dict[str, int] = Field(default_factory=dict)
    gaps: int = 0
    gap_s: float = 0.0


class BackgroundTrack(_Body):
    """A face or object learned as static background (not counted), or part of the room."""

    id: int
    kind: Literal["face", "object"]
    label: str
    anchor: Box
    box: Box
    since: float
    last_seen: float
    looked: int = 0
    seen: int = 0
    static_since: float | None = None
    room: bool = False
    moves: int = 0
    off_since: float | None = None
    off_frames: int = 0


class VerdictBasis(_Body):
    """How the verdict was reached: the numbers and the events that counted."""

    verdict: Verdict
    reason: str
    basis: str
    score: float
    suspicious_threshold: float
    cheating_threshold: float
    corroboration: str | None = None
    counted_events: list[str] = Field(default_factory=list)
    observed_share: float | None = None
    """Share of the session the face could be judged (below ``min_observed_share``: INCONCLUSIVE)."""
    min_observed_share: float


# -- answers --------------------------------------------------------------------------------------
class FrameDetails(_Body):
    """The evidence behind one frame's answer. The frame size, the faces and the detector are
    always there; the rest is diagnostic (defaults where an older service leaves it out)."""

    image_width: int
    image_height: int
    faces: list[FaceDetail]
    face_detector: FaceDetector | None = None
    unverified_face_candidates: int = 0
    gaze: GazeAnalysis | None = None
    behaviour: BehaviourSnapshot | None = None
    models: dict[str, ModelStatus] = Field(default_factory=dict)
    risk_score_exact: float = 0.0
    peak_risk_score: float = 0.0
    timings_ms: dict[str, float] = Field(default_factory=dict)
    coverage: dict[str, Coverage] = Field(default_factory=dict)
    clock: ClockState | None = None
    object_result: ObjectResultInfo | None = None
    """Objects are analysed apart from frames: which result ``objects`` shows (``None``: analysed whole)."""
    object_coverage: ObjectCoverage | None = None


class StartSessionResponse(_Body):
    session_id: str
    message: str
    timestamp: float
    """Server time, Unix seconds."""
    session_token: str | None = None
    """Hand this to the candidate's browser: it may send frames for this session only."""
    policy: EffectivePolicy | None = None
    """The interview's rules, resolved."""


class AnalyzeFrameResponse(_Body):
    session_id: str
    cheating: bool
    risk_score: int
    attention: int
    gaze: Gaze
    faces: int
    objects: list[DetectedObject]
    events: list[EventType]
    """The events this frame raised (after debounce), usually empty."""
    processing_time_ms: float
    timestamp: float
    """The frame's timestamp as sent (echoed), else ``session_time``."""
    session_time: float | None = None
    """When the session booked the frame (server clock, Unix seconds); events run on it."""
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
    timeline: list[EventRecord]
    timeline_truncated: int = 0
    models_unavailable: dict[str, str] = Field(default_factory=dict)
    behaviour: BehaviourSnapshot | None = None
    coverage: dict[str, Coverage] = Field(default_factory=dict)
    verdict_basis: VerdictBasis | None = None
    clock: ClockState | None = None
    static_background: list[BackgroundTrack] = Field(default_factory=list)
    objects: ObjectCoverage | None = None
    policy: EffectivePolicy | None = None
    """The interview's rules the session was judged under."""
    identity: IdentitySummary | None = None
    browser: BrowserSignalsSeen | None = None


class EndSessionResponse(_Body):
    session_id: str
    final_risk_score: int
    verdict: Verdict
    total_violations: int
    duration_seconds: float
    summary: SessionSummary


class RiskPoint(_Body):
    t: float
    """Stream time (seconds)."""
    risk: float


class ModelAvailability(_Body):
    available: bool
    """The model ran on every frame of the session."""
    detail: str | None = None


class VerdictRules(_Body):
    """The thresholds the verdicts were judged against."""

    basis: Literal["peak", "final"]
    suspicious_threshold: float
    cheating_threshold: float
    cheating_min_severity: Severity


class SessionRecord(_Body):
    """A session's record (``GET /sessions/{id}``): open sessions answer live, ended and expired
    ones until ``kept_until``."""

    session_id: str
    status: RecordStatus
    candidate_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    started_at: float
    ended_at: float | None = None
    stream_start: float | None = None
    stream_end: float | None = None
    duration_seconds: float
    frames_analyzed: int
    verdict: Verdict
    """The automatic verdict (never changed by reviews)."""
    verdict_reason: str
    final_risk_score: float
    peak_risk_score: float
    peak_at: float | None = None
    average_attention: float | None = None
    event_counts: dict[str, int] = Field(default_factory=dict)
    events: list[RecordedEvent] = Field(default_factory=list)
    """The events in the order raised (the first 1000), with evidence URL and review."""
    events_truncated: int = 0
    risk_timeline: list[RiskPoint] = Field(default_factory=list)
    models: dict[str, ModelAvailability] = Field(default_factory=dict)
    reviews: dict[str, Review] = Field(default_factory=dict)
    """Event id -> latest decision."""
    reviewed_verdict: Verdict | None = None
    """The verdict without the dismissed events; ``None`` until an event is reviewed."""
    reviewed_verdict_reason: str | None = None
    reviewed_peak_risk_score: float | None = None
    rules: VerdictRules
    behaviour: BehaviourSnapshot | None = None
    objects: ObjectCoverage | None = None
    policy: EffectivePolicy | None = None
    """The interview's rules the session was judged under."""
    identity: IdentitySummary | None = None
    browser: BrowserSignalsSeen | None = None
    kept_until: float | None = None
    """Server time after which the record is deleted (``None`` while open)."""


class ReviewResponse(_Body):
    session_id: str
    event_id: str
    review: Review
    verdict: Verdict
    """The automatic verdict (unchanged by reviews)."""
    reviewed_verdict: Verdict | None
    """The verdict without the dismissed events."""
    reviewed_verdict_reason: str | None


class HealthResponse(_Body):
    status: Literal["ok", "degraded"]
    service: str
    uptime_seconds: float
    active_sessions: int
    models_loaded: bool
    models: dict[str, ModelStatus]
    session_store: ModelStatus | None = None
    """Whether the session store (memory or Redis) answers."""
    objects: ObjectWatchHealth | None = None
    """This replica's object analyses, sampled apart from frames (``None``: sampling off)."""
    version: str


class FieldError(_Body):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(_Body):
    """Every refusal's body (see :class:`~interview_integrity_client.InterviewApiError`)."""

    detail: str
    code: str
    retry_after: float | None = None


class ValidationErrorResponse(_Body):
    """A 422's body: ``errors`` lists the fields."""

    detail: str
    code: str
    errors: list[FieldError]


# -- requests -------------------------------------------------------------------------------------
class PolicyRequest(TypedDict, total=False):
    """An interview's rules: a profile of the service's, stakes, allowances (unknown keys: 422)."""

    profile: str
    stakes: Stakes
    notes_allowed: bool
    open_book: bool
    second_screen_allowed: bool
    phone_allowed: bool
    others_present_allowed: bool


class StartSessionRequest(TypedDict):
    candidate_id: str
    metadata: NotRequired[dict[str, Any]]
    timestamp: NotRequired[float]
    policy: NotRequired[PolicyRequest]


class AudioFeatures(TypedDict):
    """The microphone over the interval since the previous frame: features only, never audio."""

    rms_dbfs: float
    speech_prob: float


class ClientSignals(TypedDict, total=False):
    """The page over the interval since the previous frame; None: it could not measure it."""

    visible: bool | None
    focused: bool | None
    fullscreen: bool | None
    screens: int | None
    hidden_ms: int | None
    blur_count: int | None
    paste_count: int | None


class FrameSignals(TypedDict, total=False):
    """What a frame may carry beside the image (issue 25)."""

    audio: AudioFeatures
    client: ClientSignals


class AnalyzeFrameRequest(TypedDict):
    session_id: str
    frame: str
    timestamp: NotRequired[float]
    include_landmarks: NotRequired[bool]
    audio: NotRequired[AudioFeatures]
    client: NotRequired[ClientSignals]


class EndSessionRequest(TypedDict):
    session_id: str


class ReviewRequest(TypedDict):
    decision: ReviewDecision
    note: NotRequired[str]
