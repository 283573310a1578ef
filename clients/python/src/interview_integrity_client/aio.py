"""The asyncio client: :class:`AsyncInterviewClient` (REST) and :class:`AsyncInterviewStream` (WebSocket).

The same calls as the synchronous client, awaited::

    async with AsyncInterviewClient("http://localhost:8000", api_key=KEY) as client:
        started = await client.start_session("candidate-42")
        result = await client.analyze_frame(started.session_id, jpeg, timestamp=0.0)
        async with client.stream() as ws:
            await ws.resume(started.session_id)
            await ws.send_frame(jpeg, timestamp=0.5)
            summary = await ws.end()
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Generator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

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
from interview_integrity_client.errors import InterviewConnectionError, InterviewTimeoutError
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

if TYPE_CHECKING:
    from numpy.typing import NDArray


class AsyncInterviewClient:
    """Asynchronous REST client; the arguments of :class:`~interview_integrity_client.InterviewClient`."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 30.0,
        *,
        api_key: str | None = None,
        session_token: str | None = None,
        headers: dict[str, str] | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.api_key = api_key
        self.session_token = session_token
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._headers = {**auth_headers(api_key, session_token), **(headers or {})}
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, headers=self._headers, transport=transport
        )

    async def start_session(
        self,
        candidate_id: str,
        metadata: dict[str, Any] | None = None,
        timestamp: float | None = None,
        policy: PolicyRequest | None = None,
    ) -> StartSessionResponse:
        return await self._call(START_SESSION, start_body(candidate_id, metadata, timestamp, policy))

    async def analyze_frame(
        self,
        session_id: str,
        frame: Frame,
        timestamp: float | None = None,
        *,
        include_landmarks: bool = False,
        audio: AudioFeatures | None = None,
        client: ClientSignals | None = None,
    ) -> AnalyzeFrameResponse:
        """Analyse one frame; ``audio`` and ``client``: what the candidate's page measured since
        the previous frame (``media.audio_features`` computes ``audio`` from samples)."""
        signals = signals_of(audio, client)
        return await self._call(
            ANALYZE_FRAME, analyze_body(session_id, frame, timestamp, include_landmarks, signals)
        )

    async def analyze_frame_from_array(
        self,
        session_id: str,
        image: NDArray[Any],
        timestamp: float | None = None,
        quality: int = 85,
        *,
        include_landmarks: bool = False,
    ) -> AnalyzeFrameResponse:
        return await self.analyze_frame(
            session_id, encode_array(image, quality), timestamp, include_landmarks=include_landmarks
        )

    async def end_session(self, session_id: str) -> EndSessionResponse:
        return await self._call(END_SESSION, end_body(session_id))

    async def get_record(self, session_id: str) -> SessionRecord:
        """See :meth:`InterviewClient.get_record <interview_integrity_client.InterviewClient.get_record>`."""
        return await self._call(GET_RECORD, None, session_id=session_id)

    async def get_evidence(self, session_id: str, event_id: str) -> bytes:
        """An event's evidence image (JPEG bytes)."""
        return await self._call(GET_EVIDENCE, None, session_id=session_id, event_id=event_id)

    async def review_event(
        self, session_id: str, event_id: str, decision: ReviewDecision, note: str | None = None
    ) -> ReviewResponse:
        """Confirm or dismiss an event; the answer has the automatic and the reviewed verdict."""
        return await self._call(
            REVIEW_EVENT, review_body(decision, note), session_id=session_id, event_id=event_id
        )

    async def get_report(self, session_id: str) -> str:
        """The session's report: one self-contained HTML page."""
        return await self._call(GET_REPORT, None, session_id=session_id)

    async def health(self) -> HealthResponse:
        return await self._call(HEALTH, None)

    def stream(self) -> AsyncInterviewStream:
        """A WebSocket stream with the same credentials: ``async with client.stream() as ws``
        (or ``ws = await client.stream()``)."""
        return AsyncInterviewStream(
            self.base_url, timeout=self.timeout, access_token=self.api_key or self.session_token
        )

    async def _call(self, endpoint: Endpoint[A], body: Mapping[str, Any] | None, **params: str) -> A:
        method, path = endpoint.method, endpoint.url(**params)
        for attempt in range(self.retry.retries + 1):
            try:
                response = await self._http.request(method, path, json=body)
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
            await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class AsyncInterviewStream:
    """One WebSocket connection to ``/ws/stream`` (see :class:`~interview_integrity_client.InterviewStream`).

    Connects on ``async with`` (or ``await stream``). A lock keeps one message on the wire at a
    time, so concurrent tasks sharing a stream wait their turn and answers never get mixed up.
    """

    def __init__(self, base_url: str, timeout: float = 30.0, *, access_token: str | None = None) -> None:
        self.url = ws_url(base_url)
        self.timeout = timeout
        self.session_id: str | None = None
        self._connect_url = ws_url(base_url, access_token)
        self._conn: ClientConnection | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> Self:
        if self._conn is not None:
            return self
        try:
            self._conn = await connect(
                self._connect_url,
                open_timeout=self.timeout,
                close_timeout=min(self.timeout, 10.0),
                max_size=None,
            )
        except InvalidStatus as exc:
            raise handshake_refused(exc.response.status_code, bytes(exc.response.body or b"")) from None
        except TimeoutError as exc:
            raise InterviewTimeoutError(f"WebSocket {self.url} did not open within {self.timeout} s") from exc
        except (OSError, WebSocketException) as exc:
            raise InterviewConnectionError(f"WebSocket connection to {self.url} failed: {exc}") from exc
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        return self.connect().__await__()

    async def start(
        self,
        candidate_id: str,
        metadata: dict[str, Any] | None = None,
        timestamp: float | None = None,
        policy: PolicyRequest | None = None,
    ) -> StartSessionResponse:
        body = {"action": "start", **start_body(candidate_id, metadata, timestamp, policy)}
        started = StartSessionResponse.model_validate(await self._request(body, "session_started"))
        self.session_id = started.session_id
        return started

    async def resume(self, session_id: str) -> str:
        resumed = await self._request({"action": "resume", "session_id": session_id}, "session_resumed")
        self.session_id = str(resumed["session_id"])
        return self.session_id

    async def send_frame(
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
        return AnalyzeFrameResponse.model_validate(await self._request(message, "analysis"))

    async def send_array(
        self, image: NDArray[Any], timestamp: float | None = None, quality: int = 85, *, binary: bool = False
    ) -> AnalyzeFrameResponse:
        return await self.send_frame(encode_array(image, quality), timestamp, binary=binary)

    async def end(self) -> EndSessionResponse:
        ended = EndSessionResponse.model_validate(await self._request({"action": "end"}, "session_ended"))
        self.session_id = None
        await self.close()
        return ended

    async def _request(self, message: dict[str, Any] | bytes, expected: str) -> dict[str, Any]:
        await self.connect()
        assert self._conn is not None
        async with self._lock:
            try:
                await self._conn.send(message if isinstance(message, bytes) else json.dumps(message))
                raw = await asyncio.wait_for(self._conn.recv(), self.timeout)
            except TimeoutError as exc:
                await self.close()  # a late answer would be read as the next request's
                raise InterviewTimeoutError(f"no answer within {self.timeout} s") from exc
            except ConnectionClosed as exc:
                raise InterviewConnectionError(f"the WebSocket closed ({exc})") from exc
        return parse_ws_reply(raw, expected)

    async def close(self) -> None:
        """Close the connection (the session, if any, stays open and can be resumed)."""
        if self._conn is not None:
            await self._conn.close()

    async def __aenter__(self) -> Self:
        return await self.connect()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
