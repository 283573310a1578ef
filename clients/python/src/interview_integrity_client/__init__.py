"""Python client of the Interview Integrity API: sync and async, REST and WebSocket, typed results.

::

    from interview_integrity_client import InterviewClient

    with InterviewClient("http://localhost:8000", api_key="...") as client:
        started = client.start_session("candidate-42", metadata={"position": "backend"})
        result = client.analyze_frame(started.session_id, jpeg_bytes, timestamp=0.0)
        print(result.faces, result.risk_score, result.events)
        print(client.end_session(started.session_id).verdict)
"""

from interview_integrity_client._common import NO_RETRY, Frame, RetryPolicy, encode_frame, ws_url
from interview_integrity_client.aio import AsyncInterviewClient, AsyncInterviewStream
from interview_integrity_client.client import InterviewClient, InterviewStream, stream
from interview_integrity_client.errors import (
    ERROR_CLASSES,
    AnalysisFailedError,
    BadMessageError,
    BadReplyError,
    ForbiddenError,
    FrameTooLargeError,
    InternalServerError,
    InterviewApiError,
    InterviewConnectionError,
    InterviewError,
    InterviewTimeoutError,
    InvalidBase64Error,
    InvalidRequestError,
    NotAnImageError,
    RateLimitedError,
    SessionEndedError,
    SessionExpiredError,
    SessionNotFoundError,
    SessionStoreUnavailableError,
    TooManySessionsError,
    UnauthorizedError,
)
from interview_integrity_client.models import (
    AnalyzeFrameResponse,
    Box,
    DetectedObject,
    EndSessionResponse,
    EventDetail,
    FaceDetail,
    FrameDetails,
    Gaze,
    HealthResponse,
    ModelStatus,
    SessionSummary,
    StartSessionResponse,
    Verdict,
)

__version__ = "0.1.0"

__all__ = [
    "ERROR_CLASSES",
    "NO_RETRY",
    "AnalysisFailedError",
    "AnalyzeFrameResponse",
    "AsyncInterviewClient",
    "AsyncInterviewStream",
    "BadMessageError",
    "BadReplyError",
    "Box",
    "DetectedObject",
    "EndSessionResponse",
    "EventDetail",
    "FaceDetail",
    "ForbiddenError",
    "Frame",
    "FrameDetails",
    "FrameTooLargeError",
    "Gaze",
    "HealthResponse",
    "InternalServerError",
    "InterviewApiError",
    "InterviewClient",
    "InterviewConnectionError",
    "InterviewError",
    "InterviewStream",
    "InterviewTimeoutError",
    "InvalidBase64Error",
    "InvalidRequestError",
    "ModelStatus",
    "NotAnImageError",
    "RateLimitedError",
    "RetryPolicy",
    "SessionEndedError",
    "SessionExpiredError",
    "SessionNotFoundError",
    "SessionStoreUnavailableError",
    "SessionSummary",
    "StartSessionResponse",
    "TooManySessionsError",
    "UnauthorizedError",
    "Verdict",
    "encode_frame",
    "stream",
    "ws_url",
]
