"""The service's client-facing errors: each has an HTTP status and a stable machine-readable code.

They are raised by the ingress and by the session actors (they pickle: the only argument is the
message) and rendered as ``{"detail": ..., "code": ...}`` over REST or as a WebSocket error message.
"""

from __future__ import annotations


class ServiceError(Exception):
    status: int = 500
    code: str = "internal_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, str]:
        return {"detail": self.detail, "code": self.code}


class InvalidBase64(ServiceError):
    status, code = 400, "invalid_base64"


class NotAnImage(ServiceError):
    status, code = 400, "not_an_image"


class FrameTooLarge(ServiceError):
    status, code = 413, "frame_too_large"


class BadMessage(ServiceError):
    status, code = 400, "bad_message"


class SessionNotFound(ServiceError):
    status, code = 404, "session_not_found"


class SessionEnded(ServiceError):
    status, code = 409, "session_ended"


class SessionExpired(ServiceError):
    status, code = 410, "session_expired"


class TooManySessions(ServiceError):
    status, code = 429, "too_many_sessions"


class AnalysisFailed(ServiceError):
    status, code = 503, "analysis_failed"


class SessionStoreUnavailable(ServiceError):
    status, code = 503, "session_store_unavailable"
