"""A small Python client for the Interview Integrity API (REST and WebSocket).

Self-contained: copy this one file into your project. It needs ``httpx`` (REST) and ``websockets>=13``
(streaming); ``opencv-python`` (or ``-headless``) only to send numpy images (``analyze_frame_from_array``).

REST::

    from python_client import InterviewClient

    with InterviewClient("http://localhost:8000") as client:
        session_id = client.start_session("candidate-42", metadata={"position": "backend"})
        result = client.analyze_frame(session_id, jpeg_bytes, timestamp=0.0)
        print(result["risk_score"], result["events"])
        summary = client.end_session(session_id)
        print(summary["verdict"])

WebSocket (one connection per session; answers come back in order)::

    from python_client import stream

    with stream("http://localhost:8000") as ws:
        ws.start("candidate-42")
        result = ws.send_frame(jpeg_bytes, timestamp=0.0)
        summary = ws.end()

Every non-2xx answer (and every ``{"type": "error"}`` WebSocket message) raises
:class:`InterviewApiError` with the HTTP ``status``, the stable machine-readable ``code`` and the
``detail``. Network failures raise ``httpx.TransportError`` / ``websockets`` exceptions unchanged.
"""

from __future__ import annotations

import base64
import json
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypedDict

import httpx

if TYPE_CHECKING:  # imported lazily at run time: neither is needed for plain REST use
    from numpy.typing import NDArray
    from websockets.sync.client import ClientConnection

__all__ = [
    "AnalyzeFrameResponse",
    "EndSessionResponse",
    "HealthResponse",
    "InterviewApiError",
    "InterviewClient",
    "InterviewStream",
    "StartSessionResponse",
    "encode_frame",
    "stream",
]

Frame = bytes | bytearray | memoryview | str
"""Raw JPEG/PNG bytes (base64-encoded for you), or a base64 string (a data-URL prefix is allowed)."""

Verdict = Literal["CLEAN", "SUSPICIOUS", "CHEATING"]
Gaze = Literal["center", "left", "right", "up", "down", "unknown"]  # "left": the image's left edge


# -- response bodies (the top-level fields; nested objects are plain dicts) ---------------------------
class StartSessionResponse(TypedDict):
    session_id: str
    message: str
    timestamp: float  # server time, Unix seconds


class AnalyzeFrameResponse(TypedDict):
    session_id: str
    cheating: bool
    risk_score: int  # 0..100
    attention: int  # 0..100
    gaze: Gaze
    faces: int
    objects: list[dict[str, Any]]  # {"label", "confidence", "box", "partial", "event"}
    events: list[str]  # event names raised by this frame, e.g. "MULTIPLE_FACES"
    processing_time_ms: float
    timestamp: float  # the frame's stream time
    verdict: Verdict  # the verdict if the session ended now
    event_details: list[dict[str, Any]]  # the same events with severity and evidence
    details: dict[str, Any]


class EndSessionResponse(TypedDict):
    session_id: str
    final_risk_score: int  # 0..100
    verdict: Verdict
    total_violations: int
    duration_seconds: float
    summary: dict[str, Any]


class HealthResponse(TypedDict):
    status: Literal["ok", "degraded"]
    service: str
    uptime_seconds: float
    active_sessions: int
    models_loaded: bool
    models: dict[str, dict[str, Any]]  # name -> {"available": bool, "detail": str | None, ...}
    version: str


# -- errors -------------------------------------------------------------------------------------------
class InterviewApiError(Exception):
    """The service refused a request: ``status`` (HTTP), ``code`` (stable, e.g. "session_not_found")
    and ``detail`` (human-readable). ``errors`` lists the field errors of a 422."""

    def __init__(
        self, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors: list[dict[str, Any]] = errors or []

    def __repr__(self) -> str:
        return f"InterviewApiError(status={self.status!r}, code={self.code!r}, detail={self.detail!r})"


def _error_from_response(response: httpx.Response) -> InterviewApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        errors = body.get("errors")
        return InterviewApiError(
            response.status_code,
            body["code"],
            str(body.get("detail", "")),
            errors if isinstance(errors, list) else None,
        )
    # Not the service's JSON (a proxy, a gateway timeout, ...): keep what there is.
    detail = response.text.strip()[:500] or response.reason_phrase
    return InterviewApiError(response.status_code, f"http_{response.status_code}", detail)


# -- frames -------------------------------------------------------------------------------------------
def encode_frame(frame: Frame) -> str:
    """The ``frame`` field of a request: bytes are base64-encoded, strings are passed through."""
    if isinstance(frame, str):
        return frame
    return base64.b64encode(bytes(frame)).decode("ascii")


def encode_array(image: NDArray[Any], quality: int = 85) -> bytes:
    """JPEG-encode a BGR (or grayscale) uint8 image, as OpenCV returns them from ``VideoCapture.read``."""
    try:
        import cv2
    except ImportError as exc:
        raise ImportError(
            "analyze_frame_from_array needs OpenCV to encode the image: pip install opencv-python-headless "
            "(or encode the frame yourself and call analyze_frame with the JPEG bytes)"
        ) from exc
    if not 0 <= quality <= 100:
        raise ValueError(f"quality must be 0..100, not {quality}")
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("OpenCV could not encode this array as JPEG (expected HxW or HxWx3 uint8)")
    return buf.tobytes()


def _ws_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    elif not base.startswith(("ws://", "wss://")):
        base = "ws://" + base
    return base + "/ws/stream"


# -- REST ---------------------------------------------------------------------------------------------
class _Closable:
    """``with`` support for objects that hold a connection: leaving the block closes it."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class InterviewClient(_Closable):
    """Synchronous REST client. ``base_url`` is the service root, e.g. ``http://localhost:8000``.

    Reuses one HTTP connection pool; close it with :meth:`close` or use the client as a context
    manager. ``headers`` are sent with every request (e.g. an API gateway's auth header).
    """

    def __init__(
        self, base_url: str, timeout: float = 30.0, *, headers: dict[str, str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._headers = dict(headers or {})
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=self._headers)

    # -- sessions
    def start_session(
        self,
        candidate_id: str,
        metadata: dict[str, Any] | None = None,
        timestamp: float | None = None,
    ) -> str:
        """Open a session and return its id. ``timestamp``: your clock (seconds) at the start, if you
        will time frames with it."""
        body: dict[str, Any] = {"candidate_id": candidate_id}
        if metadata is not None:
            body["metadata"] = metadata
        if timestamp is not None:
            body["timestamp"] = timestamp
        started: StartSessionResponse = self._post("/start-session", body)
        return started["session_id"]

    def analyze_frame(
        self,
        session_id: str,
        frame: Frame,
        timestamp: float | None = None,
        *,
        include_landmarks: bool = False,
    ) -> AnalyzeFrameResponse:
        """Analyse one frame. ``timestamp``: capture time in seconds on any clock used consistently
        within the session (debounce and durations run on it); the server's clock when omitted."""
        body: dict[str, Any] = {"session_id": session_id, "frame": encode_frame(frame)}
        if timestamp is not None:
            body["timestamp"] = timestamp
        if include_landmarks:
            body["include_landmarks"] = True
        result: AnalyzeFrameResponse = self._post("/analyze-frame", body)
        return result

    def analyze_frame_from_array(
        self,
        session_id: str,
        image: NDArray[Any],
        timestamp: float | None = None,
        quality: int = 85,
        *,
        include_landmarks: bool = False,
    ) -> AnalyzeFrameResponse:
        """Analyse an OpenCV BGR image (e.g. from ``cv2.VideoCapture.read``), sent as a JPEG."""
        return self.analyze_frame(
            session_id, encode_array(image, quality), timestamp, include_landmarks=include_landmarks
        )

    def end_session(self, session_id: str) -> EndSessionResponse:
        """Close the session; returns the verdict, final risk, violation count and summary."""
        ended: EndSessionResponse = self._post("/end-session", {"session_id": session_id})
        return ended

    def health(self) -> HealthResponse:
        """Liveness and which models are loaded (``models[name]["detail"]`` says why one is not)."""
        response = self._http.get("/health")
        if not response.is_success:
            raise _error_from_response(response)
        health: HealthResponse = response.json()
        return health

    # -- streaming
    def stream(self) -> InterviewStream:
        """A WebSocket stream to the same service (see :class:`InterviewStream`)."""
        return InterviewStream(self.base_url, timeout=self.timeout, headers=self._headers)

    # -- plumbing
    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._http.post(path, json=body)
        if not response.is_success:
            raise _error_from_response(response)
        return response.json()

    def close(self) -> None:
        self._http.close()


# -- WebSocket ----------------------------------------------------------------------------------------
class InterviewStream(_Closable):
    """One WebSocket connection to ``/ws/stream``, carrying one session at a time.

    Call :meth:`start` (new session) or :meth:`resume` (a session opened earlier, over REST or a
    dropped connection), then :meth:`send_frame` per frame and :meth:`end` (the server then closes the
    connection). Each call waits for its answer, so answers never get mixed up. A session whose
    connection drops stays open until it is ended or expires, so it can be resumed.

    Answers are the REST bodies (the WebSocket ``type`` field is removed). Not thread-safe: use one
    stream per thread.
    """

    def __init__(
        self, base_url: str, timeout: float = 30.0, *, headers: dict[str, str] | None = None
    ) -> None:
        from websockets.sync.client import connect

        self.url = _ws_url(base_url)
        self.timeout = timeout
        self.session_id: str | None = None
        self._conn: ClientConnection = connect(
            self.url,
            open_timeout=timeout,
            close_timeout=min(timeout, 10.0),
            additional_headers=headers or None,
            max_size=None,  # answers with landmarks can be large
        )

    def start(
        self,
        candidate_id: str,
        metadata: dict[str, Any] | None = None,
        timestamp: float | None = None,
    ) -> StartSessionResponse:
        message: dict[str, Any] = {"action": "start", "candidate_id": candidate_id}
        if metadata is not None:
            message["metadata"] = metadata
        if timestamp is not None:
            message["timestamp"] = timestamp
        started: StartSessionResponse = self._request(message, "session_started")
        self.session_id = started["session_id"]
        return started

    def resume(self, session_id: str) -> str:
        """Attach this connection to an open session; returns its id."""
        resumed = self._request({"action": "resume", "session_id": session_id}, "session_resumed")
        self.session_id = str(resumed["session_id"])
        return self.session_id

    def send_frame(
        self, frame: Frame, timestamp: float | None = None, *, include_landmarks: bool = False
    ) -> AnalyzeFrameResponse:
        message: dict[str, Any] = {"action": "frame", "frame": encode_frame(frame)}
        if timestamp is not None:
            message["timestamp"] = timestamp
        if include_landmarks:
            message["include_landmarks"] = True
        result: AnalyzeFrameResponse = self._request(message, "analysis")
        return result

    def send_array(
        self, image: NDArray[Any], timestamp: float | None = None, quality: int = 85
    ) -> AnalyzeFrameResponse:
        """:meth:`send_frame` for an OpenCV BGR image, sent as a JPEG."""
        return self.send_frame(encode_array(image, quality), timestamp)

    def end(self) -> EndSessionResponse:
        """End the session; the server answers with the summary and closes the connection."""
        ended: EndSessionResponse = self._request({"action": "end"}, "session_ended")
        self.session_id = None
        self.close()
        return ended

    def _request(self, message: dict[str, Any], expected: str) -> Any:
        self._conn.send(json.dumps(message))
        try:
            raw = self._conn.recv(timeout=self.timeout)
        except TimeoutError:
            # The late answer would be read as the next request's: this connection is out of step.
            self.close()
            raise
        reply = json.loads(raw)
        if not isinstance(reply, dict):
            raise InterviewApiError(502, "bad_reply", f"expected a JSON object, got {type(reply).__name__}")
        kind = reply.pop("type", None)
        if kind == "error":
            raise InterviewApiError(
                int(reply.get("status", 500)), str(reply.get("code", "error")), str(reply.get("detail", ""))
            )
        if kind != expected:
            raise InterviewApiError(502, "bad_reply", f"expected a {expected!r} message, got {kind!r}")
        return reply

    def close(self) -> None:
        """Close the connection (the session, if any, stays open and can be resumed)."""
        self._conn.close()


def stream(base_url: str, timeout: float = 30.0, *, headers: dict[str, str] | None = None) -> InterviewStream:
    """Open a WebSocket stream; use it as ``with stream(url) as ws: ...``."""
    return InterviewStream(base_url, timeout, headers=headers)
