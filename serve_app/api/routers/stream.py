"""WS /ws/stream: start / resume / frame / end as JSON messages on one connection, and frames also
as binary messages (the image's own bytes, no base64: see :func:`parse_binary`).

Credentials are checked at connect, before any message is read: the API key or a session token
in the headers, or ``?access_token=`` (browsers cannot set WebSocket headers). A bad one closes
the handshake (HTTP 403, close code 1008). With a session token the connection may only resume
its own session and send frames to it.

Each answer carries the REST body plus ``type``. Errors come back as ``{"type": "error", "status",
"code", "detail"}`` and the connection stays open; ``end`` answers with the summary and closes it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, ValidationError

from integrity.core.errors import BadMessage, IntegrityError, Unauthorized
from integrity.session.browser import AudioFeatures, ClientSignals
from serve_app.api import responses
from serve_app.api.auth import Authenticator, Caller
from serve_app.api.deps import Service
from serve_app.api.errors import status_of
from serve_app.api.limits import check_metadata
from serve_app.api.schemas import WsEnd, WsFrame, WsFrameHeader, WsResume, WsStart, ws_message_adapter
from serve_app.service import IntegrityService
from serve_app.tokens import SessionTokens

logger = logging.getLogger(__name__)
router = APIRouter(tags=["stream"])

FRAME_MAGIC = b"IFR1"
"""A binary message that starts with these 4 bytes has a header: a 2-byte big-endian length, that
many bytes of UTF-8 JSON (:class:`WsFrameHeader`; length 0: no fields), then the image."""
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")  # JPEG, PNG
_BINARY_FORMAT = (
    "a binary message is one frame: the JPEG or PNG bytes, optionally preceded by 'IFR1', a 2-byte "
    'big-endian header length and that many bytes of JSON ({"timestamp": ..., "include_landmarks": ...}); '
    "start, resume and end are JSON text messages"
)


@dataclass(frozen=True)
class BinaryFrame:
    """A frame sent as a binary message: the image's bytes and its header's fields."""

    frame: bytes
    timestamp: float | None = None
    include_landmarks: bool = False
    audio: AudioFeatures | None = None
    client: ClientSignals | None = None


JsonMessage = WsStart | WsResume | WsFrame | WsEnd
Message = JsonMessage | BinaryFrame


@router.websocket("/ws/stream")
async def stream(websocket: WebSocket, service: Service) -> None:
    authenticator: Authenticator = websocket.app.state.auth
    try:
        caller = authenticator.identify_connection(websocket, allow_query=True)
    except Unauthorized as exc:
        service.metrics.errors.inc(tags={"code": exc.code})
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=exc.detail[:120])
        return
    await websocket.accept()
    session_id: str | None = None
    try:
        while True:
            incoming = await websocket.receive()
            if incoming["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(incoming.get("code", 1000))
            try:
                message: Message
                if incoming.get("text") is not None:
                    message = parse_message(incoming["text"])
                elif incoming.get("bytes") is not None:
                    message = parse_binary(incoming["bytes"])
                else:
                    raise BadMessage("empty message")
                session_id, done = await _turn(websocket, service, caller, message, session_id)
                if done:
                    return
            except IntegrityError as exc:
                await _send_error(websocket, service, exc)
            except Exception:  # one bad turn must not drop the candidate's stream
                logger.exception("websocket message failed")
                await _send_error(
                    websocket, service, IntegrityError("internal error while handling the message")
                )
    except WebSocketDisconnect:
        # The session stays open (a client may resume it) until it ends or expires.
        return


async def _turn(
    websocket: WebSocket, service: IntegrityService, caller: Caller, message: Message, session_id: str | None
) -> tuple[str | None, bool]:
    """Answer one message; returns the connection's session and whether the connection is done."""
    if isinstance(message, WsStart):
        caller.require_key("starting a session")
        check_metadata(message.metadata, service.settings.max_metadata_bytes)
        new_id, policy = await service.start_session(
            message.candidate_id, message.metadata, message.timestamp, caller.key_id, message.policy
        )
        tokens: SessionTokens = websocket.app.state.auth.tokens
        opened = responses.started(new_id, tokens.issue(new_id), policy)
        await websocket.send_json({"type": "session_started", **opened.model_dump(mode="json")})
        return new_id, False
    if isinstance(message, WsResume):
        caller.require_session(message.session_id)
        resumed = await service.resume_session(message.session_id)
        await websocket.send_json({"type": "session_resumed", "session_id": resumed})
        return resumed, False
    if session_id is None:
        raise BadMessage("no session on this connection: send start (or resume) first")
    if isinstance(message, WsFrame | BinaryFrame):
        frame = await service.analyze(
            session_id, message.frame, message.timestamp, "websocket", message.audio, message.client
        )
        body = responses.analyzed(session_id, frame, message.include_landmarks)
        await websocket.send_text(typed("analysis", body))
        return session_id, False
    caller.require_key("ending a session")
    ended = responses.ended(await service.end_session(session_id))
    await websocket.send_json({"type": "session_ended", **ended.model_dump(mode="json")})
    await websocket.close(code=1000)
    return session_id, True


def typed(kind: str, body: BaseModel) -> str:
    """``{"type": kind, ...body}`` as JSON text, the body serialised once by pydantic (a frame's
    answer is the hot path: no dict of it, no second encoder)."""
    rest = body.model_dump_json()
    return f'{{"type":{json.dumps(kind)}' + ("," + rest[1:] if rest != "{}" else "}")


async def _send_error(websocket: WebSocket, service: IntegrityService, error: IntegrityError) -> None:
    service.metrics.errors.inc(tags={"code": error.code})
    await websocket.send_json({"type": "error", "status": status_of(error), **error.body()})


def parse_message(raw: str) -> JsonMessage:
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadMessage(f"message is not JSON: {exc.msg}") from None
    if not isinstance(payload, dict):
        raise BadMessage("message must be a JSON object with an 'action'")
    try:
        return ws_message_adapter.validate_python(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        actions = "start, resume, frame, end"
        raise BadMessage(f"invalid message ({where}: {first.get('msg')}); actions: {actions}") from None


def parse_binary(data: bytes) -> BinaryFrame:
    """A binary message: a JPEG or PNG as it is (a frame now, no client timestamp), or ``IFR1`` +
    header length (2 bytes, big-endian) + JSON header + the image. The image itself is checked
    (size, format, pixels) by ``decode_frame``, as a base64 frame's is."""
    if data.startswith(FRAME_MAGIC):
        if len(data) < 6:
            raise BadMessage(f"binary message too short for its header length: {_BINARY_FORMAT}")
        size = int.from_bytes(data[4:6], "big")
        end = 6 + size
        if len(data) < end:
            raise BadMessage(f"binary frame header of {size} bytes, but only {len(data) - 6} bytes follow")
        header = parse_frame_header(data[6:end]) if size else WsFrameHeader()
        image = data[end:]
        if not image:
            raise BadMessage("binary frame has a header but no image after it")
        return BinaryFrame(image, header.timestamp, header.include_landmarks, header.audio, header.client)
    if data.startswith(_IMAGE_SIGNATURES):
        return BinaryFrame(data)
    if data[:1] in (b"{", b"["):
        raise BadMessage(f"JSON messages must be sent as text, not binary: {_BINARY_FORMAT}")
    raise BadMessage(f"binary message is neither a JPEG or PNG image nor an 'IFR1' frame: {_BINARY_FORMAT}")


def parse_frame_header(raw: bytes) -> WsFrameHeader:
    try:
        return WsFrameHeader.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        fields = "timestamp, include_landmarks, audio, client"
        raise BadMessage(
            f"invalid binary frame header ({where + ': ' if where else ''}{first.get('msg')}); "
            f"a JSON object with {fields}"
        ) from None
