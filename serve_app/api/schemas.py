"""Request and response bodies of the REST and WebSocket API.

The seed's fields and types are kept as they were (``faces`` is a count, ``events`` lists event
names, ``risk_score`` is an integer) so existing clients keep working; everything new is added
beside them (``event_details``, ``details``, ``verdict``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from integrity.core.enums import EventType, FaceCheck, FaceDetector, GazeDirection, Verdict
from integrity.core.results import Box, DetectedObject, GazeAnalysis, ModelStatus
from integrity.session.behaviour.tracker import BehaviourSnapshot
from integrity.session.browser import AudioFeatures, ClientSignals
from integrity.session.object_watch import ObjectCoverage
from integrity.session.policy import EffectivePolicy, PolicyRequest
from integrity.session.record import Review, ReviewDecision, SessionRecord
from integrity.session.risk.models import Coverage, EventRecord
from integrity.session.state import ClockState, SessionSummary

# A real 16x16 grey JPEG: examples must be valid requests (the API docs and the fuzzer send them).
_TINY_JPEG = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1R"
    "V19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2P/wAARCAAQABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAA"
    "AgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6"
    "Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXG"
    "x8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREA"
    "AgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5"
    "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPE"
    "xcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwAooooA/9k="
)


# Strings are stripped of surrounding whitespace before they are checked: one that is only
# whitespace is empty, and the schema says so (a non-space character is required).
NOT_BLANK = r"\S"

# Unicode's White_Space: what the strings' stripping (str_strip_whitespace) removes.
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def _frame_not_blank(frame: str) -> str:
    stripped = frame.strip(_WHITE_SPACE)  # the same object when there is nothing to strip
    if not stripped:
        raise PydanticCustomError(
            "string_too_short", "String should have at least {min_length} character", {"min_length": 1}
        )
    return stripped


# A frame's base64 text (~100 KB): the schema and the errors of `Field(min_length=1,
# pattern=NOT_BLANK)` with the model's stripping, checked at its two ends instead of by the
# constrained-string validator, which copies the whole string.
FrameText = Annotated[
    str,
    StringConstraints(strip_whitespace=False),
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": NOT_BLANK}),
    AfterValidator(_frame_not_blank),
]

# Finite and non-negative, said in the schema itself (minimum 0), not only checked.
Timestamp = Annotated[float | None, Field(ge=0, allow_inf_nan=False)]


class _Request(BaseModel):
    # Strict types: `"timestamp": false` or `"include_landmarks": "yes"` are errors, as the schema
    # says, not values quietly converted. Unknown fields are ignored (clients may add their own).
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=True)


# -- sessions ---------------------------------------------------------------------------------------
class StartSessionRequest(_Request):
    candidate_id: str = Field(min_length=1, max_length=256, pattern=NOT_BLANK, examples=["candidate-12345"])
    metadata: dict[str, Any] | None = Field(
        default_factory=dict,
        description="null is the same as {}.",
        examples=[{"position": "backend engineer", "interviewer": "jane"}],
    )
    timestamp: Timestamp = Field(
        None, description="Client clock (seconds) at the start; frames are timed against the same clock."
    )
    policy: PolicyRequest | None = Field(
        None,
        description="The interview's rules: a profile, stakes, allowances (unknown keys: 422). Absent: "
        "the API key's default profile, else the service's.",
        examples=[{"stakes": "high", "notes_allowed": True}],
    )

    @property
    def metadata_or_empty(self) -> dict[str, Any]:
        return self.metadata or {}


class StartSessionResponse(BaseModel):
    session_id: str = Field(examples=["6f1c7f0e-3b5e-4a8e-9c55-7d1f1b7c2a10"])
    message: str = Field(examples=["Session started"])
    timestamp: float = Field(description="Server time (Unix seconds).", examples=[1764072000.12])
    session_token: str = Field(
        description="Hand this to the candidate's browser: it may send frames for this session only "
        "(Authorization: Bearer <token>, or ?access_token= on the WebSocket), never start, end or read.",
        examples=["st1.NmYxYzdmMGUtM2I1ZS00YThlfDE3NjQwOTM2MDA.q1Yx..."],
    )
    policy: EffectivePolicy | None = Field(
        None, description="The rules the session is judged under, resolved (in the summary and record too)."
    )


class EndSessionRequest(_Request):
    session_id: str = Field(min_length=1, max_length=128, pattern=NOT_BLANK)


class EndSessionResponse(BaseModel):
    session_id: str
    final_risk_score: int = Field(ge=0, le=100)
    verdict: Verdict
    total_violations: int = Field(ge=0, description="Events raised during the session.")
    duration_seconds: float = Field(ge=0)
    summary: SessionSummary


# -- events -----------------------------------------------------------------------------------------
class EventDetail(EventRecord):
    evidence_url: str | None = Field(
        None,
        description="The event's evidence image (JPEG of the frame with what made the case drawn on it): "
        "GET it with the API key or the session's token. null when none was stored or it is past its "
        "retention.",
        examples=["/sessions/6f1c7f0e-3b5e-4a8e-9c55-7d1f1b7c2a10/events/ev0001/evidence"],
    )


class RecordedEvent(EventDetail):
    review: Review | None = Field(None, description="The latest reviewer decision, if any.")


# -- frames -----------------------------------------------------------------------------------------
class AnalyzeFrameRequest(_Request):
    session_id: str = Field(min_length=1, max_length=128, pattern=NOT_BLANK)
    frame: FrameText = Field(
        description="Base64 JPEG or PNG; a data-URL prefix (data:image/jpeg;base64,) is accepted.",
        examples=[_TINY_JPEG],
    )
    timestamp: Timestamp = Field(
        None,
        description="Capture time in seconds (any clock, used consistently). The session runs on the "
        "server's clock; this refines it within a small tolerance (removing network jitter) and is "
        "echoed in the answer. Constant, backwards or reset timestamps are counted, not used.",
        examples=[1764072001.5],
    )
    include_landmarks: bool = Field(False, description="Add the 68 landmarks of each face to details.")
    audio: AudioFeatures | None = Field(
        None, description="The page's microphone over the interval since the previous frame: features only."
    )
    client: ClientSignals | None = Field(
        None, description="The page's visibility, focus, screens and counters since the previous frame."
    )


class FaceSummary(BaseModel):
    box: Box
    score: float
    detector: FaceDetector
    checks: list[FaceCheck] = Field(
        default_factory=list, description="Checks a doubtful candidate passed to be counted (empty: sure)."
    )
    landmarks: list[tuple[float, float]] | None = None


class ObjectResultInfo(BaseModel):
    frame_time: float | None = Field(
        description="Session time of the frame `objects` come from: this frame's own where none was fresh "
        "before it (a first frame waits a moment for its analysis); null: no fresh result yet."
    )
    age_s: float | None = Field(
        description="How long before this frame that frame arrived, seconds (null: no fresh result)."
    )
    this_frame: Literal["analysing", "shed", "not_due", "unavailable"] = Field(
        description="analysing: this frame's analysis runs apart and is booked at its time when done; "
        "shed: it was due but dropped under load; not_due: the session was analysed recently; "
        "unavailable: no object model."
    )
    triggers: list[str] = Field(
        default_factory=list, description="Why this frame was analysed sooner than the interval, if so."
    )


class FrameDetails(BaseModel):
    image_width: int
    image_height: int
    face_detector: FaceDetector = Field(description="The face detector that ran on this frame.")
    faces: list[FaceSummary]
    unverified_face_candidates: int = Field(
        description="Face-like candidates not counted in `faces`: below the sure score and not confirmed "
        "by enough checks (a pet, a printed face), or beyond the checks' per-frame budget."
    )
    gaze: GazeAnalysis | None = Field(
        None, description="Iris, head pose, gaze angles and eye/mouth ratios of the main face."
    )
    behaviour: BehaviourSnapshot | None = Field(
        None, description="The candidate's calibration and blink/jitter rates against their baseline."
    )
    models: dict[str, ModelStatus] = Field(description="Which analyses ran for this frame, and why not.")
    risk_score_exact: float
    peak_risk_score: float
    timings_ms: dict[str, float]
    coverage: dict[str, Coverage] = Field(
        default_factory=dict,
        description="Per condition, the session so far: seconds observed, unknown, without frames.",
    )
    clock: ClockState | None = Field(
        None, description="The session clock: client timestamps not used (by kind) and gaps without frames."
    )
    object_result: ObjectResultInfo | None = Field(
        None,
        description="Objects are analysed apart from the frames (sampled about once a second per "
        "session, at once on a trigger): which result `objects` shows and what was done with this frame. "
        "Null when every frame is analysed whole (sampling off).",
    )
    object_coverage: ObjectCoverage | None = Field(
        None, description="How well the session has been watched for objects so far."
    )


class AnalyzeFrameResponse(BaseModel):
    session_id: str
    cheating: bool = Field(description="Risk at the cheating threshold, backed by a high/critical event.")
    risk_score: int = Field(ge=0, le=100)
    attention: int = Field(ge=0, le=100)
    gaze: GazeDirection
    faces: int = Field(ge=0, description="Faces in the frame.")
    objects: list[DetectedObject] = Field(
        description="Objects of the session's latest fresh object result (`details.object_result` says "
        "which frame; objects are analysed apart from the frames)."
    )
    events: list[EventType] = Field(
        description="Events this frame raised (after debounce), then those object results of earlier "
        "frames raised since the session's previous answer (each at its own frame's time)."
    )
    processing_time_ms: float
    timestamp: float = Field(description="The request's timestamp if given (echoed), else `session_time`.")
    session_time: float = Field(
        description="When the session booked the frame: the server's clock (Unix seconds), refined by the "
        "client's timestamp only within a small tolerance; events and durations run on it."
    )
    verdict: Verdict = Field(description="The verdict if the session ended now.")
    event_details: list[EventDetail] = Field(description="The same events with severity and evidence.")
    details: FrameDetails


# -- session records --------------------------------------------------------------------------------
class SessionRecordResponse(SessionRecord):
    events: list[RecordedEvent] = Field(
        default_factory=list,
        description="The events in the order raised (the first 1000), each with its id, evidence URL "
        "and review.",
    )


class ReviewRequest(_Request):
    decision: ReviewDecision = Field(description="confirmed: the event stands; dismissed: it is set aside.")
    note: str | None = Field(None, max_length=2000, examples=["the second face is a photo on the wall"])


class ReviewResponse(BaseModel):
    session_id: str
    event_id: str
    review: Review
    verdict: Verdict = Field(description="The automatic verdict (unchanged by reviews).")
    reviewed_verdict: Verdict | None = Field(description="The verdict without the dismissed events.")
    reviewed_verdict_reason: str | None


# -- health -----------------------------------------------------------------------------------------
class ObjectWatchHealth(BaseModel):
    window_s: float = Field(description="The figures are over this much recent time.")
    interval_s: float = Field(description="Configured: at most one sampled analysis per session per this.")
    sessions: int = Field(description="Sessions with frames in the window (on this replica).")
    coverage: float | None = Field(
        description="Mean share of those sessions' time covered by a fresh object result."
    )
    analyses_per_s: float
    shed_per_s: float = Field(description="Due analyses dropped under load (frames went through).")
    triggered_per_s: float = Field(description="Analyses started early on a trigger (a look down, ...).")
    in_flight: int
    max_inflight: int


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="degraded: an optional model is unavailable.")
    service: str
    uptime_seconds: float
    active_sessions: int
    models_loaded: bool = Field(description="True only when every model is loaded.")
    models: dict[str, ModelStatus]
    session_store: ModelStatus = Field(
        default_factory=lambda: ModelStatus(available=True),
        description="Whether the session store (memory or Redis) answers; frames get 503 while it does not.",
    )
    objects: ObjectWatchHealth | None = Field(
        None,
        description="This replica's object analyses, sampled apart from the frames (null: sampling off).",
    )
    version: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    detail: str = Field(description="The first problem, in words.")
    code: str = Field(examples=["validation_error"])
    errors: list[FieldError]


class ErrorResponse(BaseModel):
    detail: str
    code: str
    retry_after: float | None = Field(None, description="Seconds until a retry may succeed (429, 503).")


# -- WebSocket --------------------------------------------------------------------------------------
class WsStart(_Request):
    action: Literal["start"]
    candidate_id: str = Field(min_length=1, max_length=256, pattern=NOT_BLANK)
    metadata: dict[str, Any] = Field(default_factory=dict)
    timestamp: Timestamp = None
    policy: PolicyRequest | None = None


class WsResume(_Request):
    """Attach this connection to a session started earlier (over REST or another connection)."""

    action: Literal["resume"]
    session_id: str = Field(min_length=1, max_length=128, pattern=NOT_BLANK)


class WsFrame(_Request):
    action: Literal["frame"]
    frame: FrameText
    timestamp: Timestamp = None
    include_landmarks: bool = False
    audio: AudioFeatures | None = None
    client: ClientSignals | None = None


class WsFrameHeader(BaseModel):
    """The JSON header of a binary frame message: ``IFR1``, its length (2 bytes, big-endian), this
    object (UTF-8), then the JPEG or PNG bytes. Unknown fields are errors: a typo is not ignored."""

    model_config = ConfigDict(extra="forbid", strict=True)
    timestamp: Timestamp = None
    include_landmarks: bool = False
    audio: AudioFeatures | None = None
    client: ClientSignals | None = None


class WsEnd(_Request):
    action: Literal["end"]


WsMessage = Annotated[WsStart | WsResume | WsFrame | WsEnd, Field(discriminator="action")]
ws_message_adapter: TypeAdapter[WsStart | WsResume | WsFrame | WsEnd] = TypeAdapter(WsMessage)
