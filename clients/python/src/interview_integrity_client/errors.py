"""Errors: one class per stable error code of the service, all :class:`InterviewApiError`.

Branch on the class (``except SessionExpiredError``) or on ``err.code``; both are stable. Transport
failures are :class:`InterviewConnectionError` and :class:`InterviewTimeoutError` (also a
``TimeoutError``).
"""

from __future__ import annotations

import email.utils
import time
from typing import Any


class InterviewError(Exception):
    """Base class of every error this client raises."""


class InterviewApiError(InterviewError):
    """The service (or a proxy in front of it) refused a request.

    ``status``: HTTP status; ``code``: stable machine-readable code (``"session_not_found"``, or
    ``"http_502"`` for an answer that is not the service's JSON); ``detail``: human-readable;
    ``errors``: the field errors of a 422; ``retry_after``: seconds, from the Retry-After header.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors: list[dict[str, Any]] = errors or []
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, detail={self.detail!r})"


class InvalidBase64Error(InterviewApiError):
    """400 ``invalid_base64``: the frame is not base64."""


class NotAnImageError(InterviewApiError):
    """400 ``not_an_image``: not a JPEG or PNG, or its pixels cannot be decoded."""


class BadMessageError(InterviewApiError):
    """400 ``bad_message``: metadata too large, or a malformed WebSocket message."""


class InvalidPolicyError(InterviewApiError):
    """422 ``invalid_policy``: the policy names a profile the service does not have."""


class UnauthorizedError(InterviewApiError):
    """401 ``unauthorized``: no valid API key or session token."""


class ForbiddenError(InterviewApiError):
    """403 ``forbidden``: a session token used on another session, or for an API-key-only call."""


class SessionNotFoundError(InterviewApiError):
    """404 ``session_not_found``."""


class EventNotFoundError(InterviewApiError):
    """404 ``event_not_found``: the session has no event with that id (reviews)."""


class EvidenceNotFoundError(InterviewApiError):
    """404 ``evidence_not_found``: no evidence image for that event (none stored, or past its retention)."""


class SessionEndedError(InterviewApiError):
    """409 ``session_ended``."""


class SessionExpiredError(InterviewApiError):
    """410 ``session_expired``: idle longer than the service's ``SESSION_EXPIRE_SECONDS``."""


class FrameTooLargeError(InterviewApiError):
    """413 ``frame_too_large``."""


class InvalidRequestError(InterviewApiError):
    """422 ``validation_error``: missing or mistyped fields (``errors`` lists them)."""


class TooManySessionsError(InterviewApiError):
    """429 ``too_many_sessions``."""


class RateLimitedError(InterviewApiError):
    """429 ``rate_limited``: wait ``retry_after`` seconds."""


class AnalysisFailedError(InterviewApiError):
    """503 ``analysis_failed``: nothing was recorded; the frame can be sent again."""


class ModelUnavailableError(AnalysisFailedError):
    """503 ``model_unavailable``: a model the frame needs is not loaded; retrying will not help."""


class SessionStoreUnavailableError(InterviewApiError):
    """503 ``session_store_unavailable``."""


class OverloadedError(InterviewApiError):
    """503 ``overloaded``: the service has as many frames in flight as it admits; wait ``retry_after``."""


class InternalServerError(InterviewApiError):
    """500 ``internal_error``."""


class BadReplyError(InterviewApiError):
    """The answer broke the protocol (not JSON, or the wrong WebSocket message type)."""


class InterviewConnectionError(InterviewError):
    """The service could not be reached, or the WebSocket closed under a request."""


class InterviewTimeoutError(InterviewConnectionError, TimeoutError):
    """No answer within the client's timeout."""


ERROR_CLASSES: dict[str, type[InterviewApiError]] = {
    "invalid_base64": InvalidBase64Error,
    "not_an_image": NotAnImageError,
    "bad_message": BadMessageError,
    "invalid_policy": InvalidPolicyError,
    "unauthorized": UnauthorizedError,
    "forbidden": ForbiddenError,
    "session_not_found": SessionNotFoundError,
    "event_not_found": EventNotFoundError,
    "evidence_not_found": EvidenceNotFoundError,
    "session_ended": SessionEndedError,
    "session_expired": SessionExpiredError,
    "frame_too_large": FrameTooLargeError,
    "validation_error": InvalidRequestError,
    "too_many_sessions": TooManySessionsError,
    "rate_limited": RateLimitedError,
    "analysis_failed": AnalysisFailedError,
    "model_unavailable": ModelUnavailableError,
    "session_store_unavailable": SessionStoreUnavailableError,
    "overloaded": OverloadedError,
    "internal_error": InternalServerError,
    "bad_reply": BadReplyError,
}

# Answers without the service's JSON body (a proxy, a gateway): the class by status.
_STATUS_CLASSES: dict[int, type[InterviewApiError]] = {
    401: UnauthorizedError,
    403: ForbiddenError,
    429: RateLimitedError,
}


def api_error(
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    retry_after: float | None = None,
) -> InterviewApiError:
    """The error for a refusal: by ``code`` when the service sent one, else by status."""
    cls = ERROR_CLASSES.get(code) or _STATUS_CLASSES.get(status) or InterviewApiError
    return cls(status, code, detail, errors, retry_after)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After in seconds (given as seconds or as an HTTP date); ``None`` when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
