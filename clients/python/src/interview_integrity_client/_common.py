"""What the sync and async clients share: the endpoints, bodies, credentials, retries, errors, URLs."""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, cast
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from interview_integrity_client.errors import (
    BadReplyError,
    InterviewApiError,
    UnauthorizedError,
    api_error,
    parse_retry_after,
)
from interview_integrity_client.models import (
    AnalyzeFrameRequest,
    AnalyzeFrameResponse,
    AudioFeatures,
    ClientSignals,
    EndSessionRequest,
    EndSessionResponse,
    ErrorResponse,
    FrameSignals,
    HealthResponse,
    PolicyRequest,
    ReviewDecision,
    ReviewRequest,
    ReviewResponse,
    SessionRecord,
    StartSessionRequest,
    StartSessionResponse,
    ValidationErrorResponse,
)

A = TypeVar("A")  # what an endpoint's answer is read as: a model, bytes or str


@dataclass(frozen=True)
class Endpoint(Generic[A]):
    """One REST call: method and path, the request body's type, and what the answer is read as (a
    model for JSON, ``bytes`` for an image, ``str`` for HTML). The clients make every call through
    one of these, and the tests hold each to the service's OpenAPI document (tests/clients)."""

    method: Literal["GET", "POST"]
    path: str
    """The path template, ``{name}`` for each path parameter, exactly as the OpenAPI document has it."""
    answer: type[A]
    body: object = None
    """The request body's type (a TypedDict of models.py), ``None`` for a call without a body."""
    media_type: str = "application/json"

    def url(self, **params: str) -> str:
        """The path with each parameter filled in (percent-encoded: an id cannot add a segment)."""
        return self.path.format(**{name: quote(value, safe="") for name, value in params.items()})

    def read(self, response: httpx.Response) -> A:
        if self.answer is bytes:
            return cast(A, response.content)
        if self.answer is str:
            return cast(A, response.text)
        model = cast(type[BaseModel], self.answer)
        return cast(A, model.model_validate(response.json()))


START_SESSION = Endpoint("POST", "/start-session", StartSessionResponse, StartSessionRequest)
ANALYZE_FRAME = Endpoint("POST", "/analyze-frame", AnalyzeFrameResponse, AnalyzeFrameRequest)
END_SESSION = Endpoint("POST", "/end-session", EndSessionResponse, EndSessionRequest)
GET_RECORD = Endpoint("GET", "/sessions/{session_id}", SessionRecord)
GET_REPORT = Endpoint("GET", "/sessions/{session_id}/report", str, media_type="text/html")
REVIEW_EVENT = Endpoint(
    "POST", "/sessions/{session_id}/events/{event_id}/review", ReviewResponse, ReviewRequest
)
GET_EVIDENCE = Endpoint(
    "GET", "/sessions/{session_id}/events/{event_id}/evidence", bytes, media_type="image/jpeg"
)
HEALTH = Endpoint("GET", "/health", HealthResponse)

ENDPOINTS: tuple[Endpoint[Any], ...] = (
    START_SESSION,
    ANALYZE_FRAME,
    END_SESSION,
    GET_RECORD,
    GET_REPORT,
    REVIEW_EVENT,
    GET_EVIDENCE,
    HEALTH,
)
"""Every REST call the clients make."""


def error_body_model(status: int) -> type[ErrorResponse] | type[ValidationErrorResponse]:
    """The model of a refusal's body: 422 lists the fields, every other status is ``{detail, code}``."""
    return ValidationErrorResponse if status == 422 else ErrorResponse


Frame = bytes | bytearray | memoryview | str
"""Raw JPEG/PNG bytes (base64-encoded for you), or a base64 string (a data-URL prefix is allowed)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of refused requests: 429 (rate limits, too many sessions) and 503 (a model or the
    session store failed; nothing was recorded), after the server's ``Retry-After`` when it sends
    one (never sooner), else after exponential backoff with jitter. A ``Retry-After`` longer than
    ``max_delay`` is not waited for: the error is raised at once. Refusals whose code says a retry
    cannot help (``model_unavailable``: the model is not loaded) are never retried."""

    retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 10.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 503}))
    never: frozenset[str] = field(default_factory=lambda: frozenset({"model_unavailable"}))

    def delay(self, attempt: int, error: InterviewApiError) -> float | None:
        """Seconds to wait before retry ``attempt`` (0-based); ``None``: give up."""
        if error.status not in self.statuses or error.code in self.never or attempt >= self.retries:
            return None
        if error.retry_after is not None:
            wait: float = error.retry_after
            return wait if wait <= self.max_delay else None
        ceiling = min(self.max_delay, self.base_delay * 2.0**attempt)
        return ceiling / 2 + random.random() * ceiling / 2


NO_RETRY = RetryPolicy(retries=0)


def encode_frame(frame: Frame) -> str:
    """The ``frame`` field of a request: bytes are base64-encoded, strings are passed through."""
    if isinstance(frame, str):
        return frame
    return base64.b64encode(bytes(frame)).decode("ascii")


FRAME_MAGIC = b"IFR1"
"""The start of a binary frame message with a header (docs/API.md, WS /ws/stream)."""


def binary_frame(
    frame: Frame,
    timestamp: float | None = None,
    include_landmarks: bool = False,
    signals: FrameSignals | None = None,
) -> bytes:
    """A binary WebSocket ``frame`` message: the JPEG/PNG bytes as they are when there is nothing
    to add (a frame now, no client timestamp), else ``IFR1``, the header's length (2 bytes,
    big-endian), the JSON header and the image."""
    if isinstance(frame, str):
        raise TypeError("a binary frame is the image's bytes: send a base64 string without binary=True")
    header: dict[str, Any] = {}
    if timestamp is not None:
        header["timestamp"] = timestamp
    if include_landmarks:
        header["include_landmarks"] = True
    header.update(signals or {})
    if not header:
        return bytes(frame)
    raw = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return b"".join((FRAME_MAGIC, len(raw).to_bytes(2, "big"), raw, frame))


def ws_url(base_url: str, access_token: str | None = None) -> str:
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    elif not base.startswith(("ws://", "wss://")):
        base = "ws://" + base
    url = base + "/ws/stream"
    if access_token:
        url += "?access_token=" + quote(access_token, safe="")
    return url


def auth_headers(api_key: str | None, session_token: str | None) -> dict[str, str]:
    """The API key as ``X-API-Key`` (backends); else a session token as a bearer token (browsers)."""
    if api_key:
        return {"X-API-Key": api_key}
    if session_token:
        return {"Authorization": f"Bearer {session_token}"}
    return {}


def start_body(
    candidate_id: str,
    metadata: dict[str, Any] | None,
    timestamp: float | None,
    policy: PolicyRequest | None = None,
) -> StartSessionRequest:
    body: StartSessionRequest = {"candidate_id": candidate_id}
    if metadata is not None:
        body["metadata"] = metadata
    if timestamp is not None:
        body["timestamp"] = timestamp
    if policy is not None:
        body["policy"] = policy
    return body


def signals_of(audio: AudioFeatures | None, client: ClientSignals | None) -> FrameSignals | None:
    signals: FrameSignals = {}
    if audio is not None:
        signals["audio"] = audio
    if client is not None:
        signals["client"] = client
    return signals or None


def analyze_body(
    session_id: str,
    frame: Frame,
    timestamp: float | None,
    include_landmarks: bool,
    signals: FrameSignals | None = None,
) -> AnalyzeFrameRequest:
    body: AnalyzeFrameRequest = {"session_id": session_id, "frame": encode_frame(frame)}
    if timestamp is not None:
        body["timestamp"] = timestamp
    if include_landmarks:
        body["include_landmarks"] = True
    if signals:
        if "audio" in signals:
            body["audio"] = signals["audio"]
        if "client" in signals:
            body["client"] = signals["client"]
    return body


def frame_body(
    frame: Frame, timestamp: float | None, include_landmarks: bool, signals: FrameSignals | None = None
) -> dict[str, Any]:
    """A WebSocket ``frame`` message's fields: those of ``/analyze-frame`` but the session id (the
    connection's session)."""
    body: dict[str, Any] = dict(analyze_body("", frame, timestamp, include_landmarks, signals))
    del body["session_id"]
    return body


def frame_message(
    frame: Frame,
    timestamp: float | None,
    include_landmarks: bool,
    binary: bool,
    signals: FrameSignals | None = None,
) -> dict[str, Any] | bytes:
    """A WebSocket frame message: JSON with the frame in base64, or with ``binary`` the image's
    own bytes (:func:`binary_frame`)."""
    if binary:
        return binary_frame(frame, timestamp, include_landmarks, signals)
    return {"action": "frame", **frame_body(frame, timestamp, include_landmarks, signals)}


def end_body(session_id: str) -> EndSessionRequest:
    return {"session_id": session_id}


def review_body(decision: ReviewDecision, note: str | None) -> ReviewRequest:
    body: ReviewRequest = {"decision": decision}
    if note is not None:
        body["note"] = note
    return body


def error_from_response(response: httpx.Response) -> InterviewApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        try:
            answer = error_body_model(response.status_code).model_validate(body)
        except ValidationError:  # the service's shape, loosely: keep what is readable
            answer = None
        errors = body.get("errors")
        if isinstance(answer, ValidationErrorResponse):
            errors = [e.model_dump() for e in answer.errors]
        if retry_after is None and isinstance(body.get("retry_after"), int | float):
            retry_after = float(body["retry_after"])
        return api_error(
            response.status_code,
            body["code"],
            str(body.get("detail", "")),
            errors if isinstance(errors, list) else None,
            retry_after,
        )
    # Not the service's JSON (a proxy, a gateway timeout, ...): keep what there is.
    detail = response.text.strip()[:500] or response.reason_phrase
    return api_error(response.status_code, f"http_{response.status_code}", detail, None, retry_after)


def handshake_refused(status: int, body: bytes) -> InterviewApiError:
    """The WebSocket upgrade was answered with an HTTP status. The service refuses the handshake
    only for a missing or invalid credential (HTTP 403 there, as Starlette answers a close before
    accept): that is :class:`UnauthorizedError`, whatever the status says."""
    error = error_from_response(httpx.Response(status, content=body))
    if status in (401, 403) and error.code.startswith("http_"):
        detail = "the WebSocket handshake was refused: missing or invalid API key / session token"
        return UnauthorizedError(status, "unauthorized", detail)
    return error


def parse_ws_reply(raw: str | bytes, expected: str) -> dict[str, Any]:
    """One WebSocket answer: its body without ``type``; ``{"type": "error"}`` raises the typed error."""
    try:
        reply = json.loads(raw)
    except ValueError as exc:
        raise BadReplyError(502, "bad_reply", f"the answer is not JSON: {exc}") from None
    if not isinstance(reply, dict):
        raise BadReplyError(502, "bad_reply", f"expected a JSON object, got {type(reply).__name__}")
    kind = reply.pop("type", None)
    if kind == "error":
        retry_after = reply.get("retry_after")
        raise api_error(
            int(reply.get("status", 500)),
            str(reply.get("code", "error")),
            str(reply.get("detail", "")),
            None,
            float(retry_after) if isinstance(retry_after, int | float) else None,
        )
    if kind != expected:
        raise BadReplyError(502, "bad_reply", f"expected a {expected!r} message, got {kind!r}")
    return reply
