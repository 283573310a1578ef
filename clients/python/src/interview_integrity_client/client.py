"""The synchronous client: :class:`InterviewClient` (REST) and :class:`InterviewStream` (WebSocket)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from interview_integrity_client._common import (
    ANALYZE_FRAME,
    END_SESSION,
    GET_EVIDENCE,
    GET_RECORD,
    GET_REPORT,
    HEALTH,
    REVIEW_EVENT,
    START_SESSION,
    A,
    Endpoint,
    Frame,
    RetryPolicy,
    analyze_body,
    auth_headers,
    end_body,
    error_from_response,
    frame_message,
    handshake_refused,
    parse_ws_reply,
    review_body,
    signals_of,
    start_body,
    ws_url,
)
from interview_integrity_client.errors import (
    InterviewApiError,
    InterviewConnectionError,
    InterviewTimeoutError,
)
from interview_integrity_client.media import encode_array
from interview_integrity_client.models import (
    AnalyzeFrameResponse,
    AudioFeatures,
    ClientSignals,
    EndSessionResponse,
    HealthResponse,
    PolicyRequest,
    ReviewDecision,
    ReviewResponse,
    SessionRecord,
    StartSessionResponse,
)

if TYPE_CHECKING:  # numpy (and OpenCV) only for the array helpers: the `video` extra
    from numpy.typing import NDArray


class InterviewClient:
    """Synchronous REST client. ``base_url`` is the service root, e.g. ``http://localhost:8000``.

    Credentials are optional (a service without API keys needs none): ``api_key`` (platform
    backends; sent as ``X-API-Key``) or ``session_token`` (the candidate's side: frames for one
    session; sent as ``Authorization: Bearer``). 429 and 503 answers are retried per ``retry``
    (``RetryPolicy(retries=0)`` turns that off). Reuses one connection pool: use it as a context
    manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = 30.0,
        *,
        api_key: str | None = None,
        session_token: str | None = None,
        headers: dict[str, str] | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.api_key = api_key
        self.session_token = session_token
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._headers = {**auth_headers(api_key, session_token), **(headers or {})}
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers=self._headers, transport=transport
        )

    # -- sessions
    def start_session(
        self,
        candidate_id: str,
        metadata: dict[str, Any] | None = None,
        timestamp: float | None = None,
        policy: PolicyRequest | None = None,
    ) -> StartSessionResponse:
        """Open a session: ``session_id`` (and ``session_token`` to hand to the candidate's browser).
        ``timestamp``: your clock (seconds) at the start, if you will time the frames with it."""
        return self._call(START_SESSION, start_body(candidate_id, metadata, timestamp, policy))

    def analyze_frame(
        self,
        session_id: str,
        frame: Frame,
        timestamp: float | None = None,
        *,
        include_landmarks: bool = False,
        audio: AudioFeatures | None = None,
        client: ClientSignals | None = None,
    ) -> AnalyzeFrameResponse:
        """Analyse one frame. ``timestamp``: capture time in seconds on any clock used consistently
        within the session (debounce and durations run on it); the server's clock when omitted.
        ``audio`` and ``client``: what the candidate's page measured since the previous frame
        (``media.audio_features`` and ``media.wav_features`` compute ``audio`` from samples)."""
        signals = signals_of(audio, client)
        return self._call(
            ANALYZE_FRAME, analyze_body(session_id, frame, timestamp, include_landmarks, signals)
        )

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
        """Close the session: verdict, final risk, violation count and summary (needs the API key
        where the service has keys)."""
        return self._call(END_SESSION, end_body(session_id))

    # -- records (the API key)
    def get_record(self, session_id: str) -> SessionRecord:
        """The session's record: state, automatic and reviewed verdicts, events with their evidence
        URLs and reviews, risk over time. Open sessions answer live; ended and expired ones until
        ``kept_until``."""
        return self._call(GET_RECORD, None, session_id=session_id)

    def get_evidence(self, session_id: str, event_id: str) -> bytes:
        """An event's evidence image (JPEG bytes): its frame with what made the case drawn on it.
        The API key, or that session's token. ``event_id``: ``EventDetail.id`` (``ev0001``, ...)."""
        return self._call(GET_EVIDENCE, None, session_id=session_id, event_id=event_id)

    def review_event(
        self, session_id: str, event_id: str, decision: ReviewDecision, note: str | None = None
    ) -> ReviewResponse:
        """Confirm or dismiss an event (a later decision replaces an earlier one); the answer has the
        automatic verdict and the reviewed one (the rules replayed without the dismissed events)."""
        return self._call(REVIEW_EVENT, review_body(decision, note), session_id=session_id, event_id=event_id)

    def get_report(self, session_id: str) -> str:
        """The session's report: one self-contained HTML page (verdicts, risk over time, each event's
        evidence thumbnail, measured values and reviews)."""
        return self._call(GET_REPORT, None, session_id=session_id)

    def health(self) -> HealthResponse:
        """Liveness and which models are loaded (``models[name].detail`` says why one is not)."""
        return self._call(HEALTH, None)

    # -- streaming
    def stream(self) -> InterviewStream:
        """A WebSocket stream to the same service, with the same credentials."""
        return InterviewStream(
            self.base_url, timeout=self.timeout, access_token=self.api_key or self.session_token
        )

    # -- plumbing
    def _call(self, endpoint: Endpoint[A], body: Mapping[str, Any] | None, **params: str) -> A:
        method, path = endpoint.method, endpoint.url(**params)
        for attempt in range(self.retry.retries + 1):
            try:
                response = self._http.request(method, path, json=body)
            except httpx.TimeoutException as exc:
                raise InterviewTimeoutError(f"{method} {path}: no answer within {self.timeout} s") from exc
            except httpx.TransportError as exc:
                raise InterviewConnectionError(f"{method} {path}: {exc}") from exc
            if response.is_success:
                return endpoint.read(response)
            error = error_from_response(response)
            wait = self.retry.delay(attempt, error)
            if wait is None:
                raise error
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class InterviewStream:
    """One WebSocket connection to ``/ws/stream``, carrying one session at a time.

    :meth:`start` (a new session) or :meth:`resume` (one opened earlier, over REST or a dropped
    connection), then :meth:`send_frame` per frame and :meth:`end` (the server then closes the
    connection). Each call waits for its answer, so there is never more than one frame in flight
    and answers never get mixed up. A session whose connection drops stays open until it is ended
    or expires: resume it on a new stream. ``access_token``: the API key or a session token.
    Not thread-safe: one stream per thread.
    """

    def __init__(self, base_url: str, timeout: float = 30.0, *, access_token: str | None = None) -> None:
        self.url = ws_url(base_url)
        self.timeout = timeout
        self.session_id: str | None = None
        try:
            self._conn: ClientConnection = connect(
                ws_url(base_url, access_token),
                open_timeout=timeout,
                close_timeout=min(timeout, 10.0),
                max_size=None,  # answers with landmarks can be large
            )
        except InvalidStatus as exc:  # refused before the upgrade (e.g. 401/403 from a proxy)
            raise handshake_refused(exc.response.status_code, bytes(exc.response.body or b"")) from None
        except TimeoutError as exc:
            raise InterviewTimeoutError(f"WebSocket {self.url} did not open within {timeout} s") from exc
        except (OSError, WebSocketException) as exc:
            raise InterviewConnectionError(f"WebSocket connection to {self.url} failed: {exc}") from exc

    def start(
        self,
        candidate_id: str,
        metadata: dict[str, Any] | None = None,
        timestamp: float | None = None,
        policy: PolicyRequest | None = None,
    ) -> StartSessionResponse:
        body = {"action": "start", **start_body(candidate_id, metadata, timestamp, policy)}
        started = StartSessionResponse.model_validate(self._request(body, "session_started"))
        self.session_id = started.session_id
        return started

    def resume(self, session_id: str) -> str:
        """Attach this connection to an open session; returns its id."""
        resumed = self._request({"action": "resume", "session_id": session_id}, "session_resumed")
        self.session_id = str(resumed["session_id"])
        return self.session_id

    def send_frame(
        self,
        frame: Frame,
        timestamp: float | None = None,
        *,
        include_landmarks: bool = False,
        binary: bool = False,
        audio: AudioFeatures | None = None,
        client: ClientSignals | None = None,
    ) -> AnalyzeFrameResponse:
        """Analyse one frame: JPEG/PNG bytes (or a base64 string). Sent as JSON with the frame in
        base64, or with ``binary=True`` as a binary message of the image's own bytes (a third
        smaller, no base64 on either side; bytes only; needs a service that takes binary frames)."""
        message = frame_message(frame, timestamp, include_landmarks, binary, signals_of(audio, client))
        return AnalyzeFrameResponse.model_validate(self._request(message, "analysis"))

    def send_array(
        self, image: NDArray[Any], timestamp: float | None = None, quality: int = 85, *, binary: bool = False
    ) -> AnalyzeFrameResponse:
        """:meth:`send_frame` for an OpenCV BGR image, sent as a JPEG."""
        return self.send_frame(encode_array(image, quality), timestamp, binary=binary)

    def end(self) -> EndSessionResponse:
        """End the session; the server answers with the summary and closes the connection."""
        ended = EndSessionResponse.model_validate(self._request({"action": "end"}, "session_ended"))
        self.session_id = None
        self.close()
        return ended

    def _request(self, message: dict[str, Any] | bytes, expected: str) -> dict[str, Any]:
        try:
            self._conn.send(message if isinstance(message, bytes) else json.dumps(message))
            raw = self._conn.recv(timeout=self.timeout)
        except TimeoutError as exc:
            # The late answer would be read as the next request's: this connection is out of step.
            self.close()
            raise InterviewTimeoutError(f"no answer within {self.timeout} s") from exc
        except ConnectionClosed as exc:
            raise InterviewConnectionError(f"the WebSocket closed ({exc})") from exc
        return parse_ws_reply(raw, expected)

    def close(self) -> None:
        """Close the connection (the session, if any, stays open and can be resumed)."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def stream(base_url: str, timeout: float = 30.0, *, access_token: str | None = None) -> InterviewStream:
    """Open a WebSocket stream; use it as ``with stream(url) as ws: ...``."""
    return InterviewStream(base_url, timeout, access_token=access_token)


__all__ = ["InterviewApiError", "InterviewClient", "InterviewStream", "stream"]
