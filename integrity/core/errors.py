"""Errors a caller can act on, each with a stable machine-readable ``code``.

Raised by the library (sessions, image decoding) and by the service layer; they pickle across Ray
(the only argument is the message). How each maps to an HTTP status is the transport's business:
one table in ``serve_app/api/errors.py``.
"""

from __future__ import annotations

from typing import Any


class IntegrityError(Exception):
    code: str = "internal_error"
    # Seconds after which a retry may succeed (sent as Retry-After); None: retrying will not help.
    retry_after: float | None = None

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        # The arguments are what pickling (across Ray) replays into __init__.
        super().__init__(*((detail,) if retry_after is None else (detail, retry_after)))
        self.detail = detail
        if retry_after is not None:
            self.retry_after = retry_after

    def __str__(self) -> str:
        return self.detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail, "code": self.code}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


class InvalidBase64(IntegrityError):
    code = "invalid_base64"


class NotAnImage(IntegrityError):
    code = "not_an_image"


class FrameTooLarge(IntegrityError):
    code = "frame_too_large"


class BadMessage(IntegrityError):
    code = "bad_message"


class InvalidPolicy(IntegrityError):
    """A policy that names what the service does not have (an unknown profile). A 422 like a
    validation error, so its body lists the field, as theirs do."""

    code = "invalid_policy"

    def body(self) -> dict[str, Any]:
        where: list[str | int] = ["body", "policy", "profile"]
        return {**super().body(), "errors": [{"loc": where, "msg": self.detail, "type": self.code}]}


class SessionNotFound(IntegrityError):
    code = "session_not_found"


class SessionEnded(IntegrityError):
    code = "session_ended"


class SessionExpired(IntegrityError):
    code = "session_expired"


class Unauthorized(IntegrityError):
    code = "unauthorized"


class Forbidden(IntegrityError):
    code = "forbidden"


class TooManySessions(IntegrityError):
    code = "too_many_sessions"
    retry_after = 5.0


class RateLimited(IntegrityError):
    code = "rate_limited"
    retry_after = 1.0


class AnalysisFailed(IntegrityError):
    code = "analysis_failed"
    retry_after: float | None = 1.0


class ModelUnavailable(AnalysisFailed):
    """A model the frame needs is not loaded (missing or wrong file): retrying will not help."""

    code = "model_unavailable"
    retry_after = None


class Overloaded(IntegrityError):
    """More frames in flight than this replica admits: refused at once, never queued."""

    code = "overloaded"
    retry_after = 1.0


class SessionStoreUnavailable(IntegrityError):
    code = "session_store_unavailable"
    retry_after = 1.0


class EventNotFound(IntegrityError):
    """No event with this id in the session's record."""

    code = "event_not_found"


class EvidenceNotFound(IntegrityError):
    """No evidence image for this event: none was stored, or it is past its retention."""

    code = "evidence_not_found"
