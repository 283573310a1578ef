"""Errors a caller can act on, each with a stable machine-readable ``code``.

Raised by the library (sessions, image decoding) and by the service layer; they pickle across Ray
(the only argument is the message). How each maps to an HTTP status is the transport's business:
one table in ``serve_app/api/errors.py``.
"""

from __future__ import annotations


class IntegrityError(Exception):
    code: str = "internal_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, str]:
        return {"detail": self.detail, "code": self.code}


class InvalidBase64(IntegrityError):
    code = "invalid_base64"


class NotAnImage(IntegrityError):
    code = "not_an_image"


class FrameTooLarge(IntegrityError):
    code = "frame_too_large"


class BadMessage(IntegrityError):
    code = "bad_message"


class SessionNotFound(IntegrityError):
    code = "session_not_found"


class SessionEnded(IntegrityError):
    code = "session_ended"


class SessionExpired(IntegrityError):
    code = "session_expired"


class TooManySessions(IntegrityError):
    code = "too_many_sessions"


class AnalysisFailed(IntegrityError):
    code = "analysis_failed"


class SessionStoreUnavailable(IntegrityError):
    code = "session_store_unavailable"
