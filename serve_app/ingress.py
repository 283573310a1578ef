"""The HTTP/WebSocket front door: a FastAPI app served by a Ray Serve ingress deployment.

No `from __future__ import annotations` here: Serve rebuilds the route signatures of its class-based
views, and FastAPI must see real types there, not strings.
"""

import json
import logging
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from ray import serve
from ray.serve.handle import DeploymentHandle
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from serve_app import __version__
from serve_app.errors import BadMessage, FrameTooLarge, ServiceError
from serve_app.risk.config import RiskConfig
from serve_app.schemas import (
    AnalyzeFrameRequest,
    AnalyzeFrameResponse,
    EndSessionRequest,
    EndSessionResponse,
    ErrorResponse,
    HealthResponse,
    StartSessionRequest,
    StartSessionResponse,
    WsEnd,
    WsFrame,
    WsResume,
    WsStart,
    ws_message_adapter,
)
from serve_app.service import IntegrityService
from serve_app.sessions.shard import SessionShards
from serve_app.settings import Settings

logger = logging.getLogger(__name__)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "Malformed base64 or not a JPEG/PNG image",
        404: "Unknown session",
        409: "Session already ended",
        410: "Session expired (idle too long)",
        413: "Frame over the byte or pixel limit",
        429: "Too many open sessions",
        503: "A model or the session store failed; nothing was recorded",
    }.items()
}

api = FastAPI(
    title="Interview Integrity API",
    version=__version__,
    description=(
        "Watches webcam frames of an online interview and reports, with evidence, whether the "
        "candidate is being helped (phone, second person, eyes off screen, ...). Errors are JSON "
        "`{detail, code}`. See docs/API.md."
    ),
)


class _Replica:
    """This replica process's service. Serve pickles the FastAPI app into the replica, so the app
    object a request sees is a copy: module-level handlers reach the service through here."""

    service: IntegrityService | None = None
    max_body: int | None = None


# -- errors -------------------------------------------------------------------------------------------
@api.exception_handler(ServiceError)
async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    _count_error(exc.code)
    return JSONResponse(status_code=exc.status, content=exc.body())


@api.exception_handler(Exception)
async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s", request.url.path)
    error = ServiceError("internal error")
    _count_error(error.code)
    return JSONResponse(status_code=error.status, content=error.body())


@api.exception_handler(RequestValidationError)
async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    _count_error("validation_error")
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return JSONResponse(
        status_code=422,
        content={"detail": _first_message(errors), "code": "validation_error", "errors": errors},
    )


def _first_message(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"] if p != "body")
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def _count_error(code: str) -> None:
    if _Replica.service is not None:
        _Replica.service.metrics.errors.inc(tags={"code": code})


class BodyLimit(BaseHTTPMiddleware):
    """Refuse bodies that cannot hold a frame under the limit, before reading them."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        limit = _Replica.max_body
        length = request.headers.get("content-length")
        if limit is not None and length is not None and length.isdigit() and int(length) > limit:
            error = FrameTooLarge(f"request body is {length} bytes; the limit is {limit}")
            _count_error(error.code)
            return JSONResponse(status_code=error.status, content=error.body())
        return await call_next(request)


api.add_middleware(BodyLimit)


# -- helpers ------------------------------------------------------------------------------------------
def _check_metadata(metadata: dict[str, Any], limit: int) -> None:
    size = len(json.dumps(metadata, default=str))
    if size > limit:
        raise BadMessage(f"metadata is {size} bytes as JSON; the limit is {limit}")


# -- WebSocket ----------------------------------------------------------------------------------------
async def run_stream(websocket: WebSocket, service: IntegrityService) -> None:
    """Messages in: start / resume / frame / end (JSON). Each answer carries the REST body plus `type`.

    Errors come back as `{"type": "error", "status", "code", "detail"}` and the connection stays
    open; `end` answers with the session's summary and closes it.
    """
    await websocket.accept()
    session_id: str | None = None
    try:
        while True:
            incoming = await websocket.receive()
            if incoming["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(incoming.get("code", 1000))
            try:
                if incoming.get("text") is None:
                    raise BadMessage("send JSON text messages, not binary ones")
                message = _parse_ws(incoming["text"])
                if isinstance(message, WsStart):
                    _check_metadata(message.metadata, service.settings.max_metadata_bytes)
                    started = await service.start_session(
                        message.candidate_id, message.metadata, message.timestamp
                    )
                    session_id = started.session_id
                    await websocket.send_json({"type": "session_started", **started.model_dump(mode="json")})
                elif isinstance(message, WsResume):
                    session_id = await service.resume_session(message.session_id)
                    await websocket.send_json({"type": "session_resumed", "session_id": session_id})
                elif isinstance(message, WsFrame):
                    if session_id is None:
                        raise BadMessage("no session on this connection: send start (or resume) first")
                    result = await service.analyze(
                        session_id, message.frame, message.timestamp, message.include_landmarks, "websocket"
                    )
                    await websocket.send_json({"type": "analysis", **result.model_dump(mode="json")})
                elif isinstance(message, WsEnd):
                    if session_id is None:
                        raise BadMessage("no session on this connection: send start (or resume) first")
                    ended = await service.end_session(session_id)
                    await websocket.send_json({"type": "session_ended", **ended.model_dump(mode="json")})
                    await websocket.close(code=1000)
                    return
            except ServiceError as exc:
                _count_error(exc.code)
                await websocket.send_json({"type": "error", "status": exc.status, **exc.body()})
            except Exception:  # one bad turn must not drop the candidate's stream
                logger.exception("websocket message failed")
                error = ServiceError("internal error while handling the message")
                _count_error(error.code)
                await websocket.send_json({"type": "error", "status": error.status, **error.body()})
    except WebSocketDisconnect:
        # The session stays open (a client may resume it) until it ends or expires.
        return


def _parse_ws(raw: str) -> WsStart | WsResume | WsFrame | WsEnd:
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


# -- the Serve deployment -----------------------------------------------------------------------------
@serve.deployment(name="ingress", ray_actor_options={"num_cpus": 0.25})
@serve.ingress(api)
class IntegrityIngress:
    """Routes are methods (Serve's class-based views); the work is in IntegrityService."""

    def __init__(
        self,
        face: DeploymentHandle[Any],
        gaze: DeploymentHandle[Any],
        objects: DeploymentHandle[Any],
        settings: Settings,
        risk_config: RiskConfig,
    ) -> None:
        logging.basicConfig(level=settings.log_level.upper())
        self.service = IntegrityService(settings, face, gaze, objects, SessionShards(settings, risk_config))
        _Replica.service = self.service
        # base64 inflates by 4/3; leave room for the JSON around the frame.
        _Replica.max_body = settings.max_frame_bytes * 4 // 3 + 64 * 1024

    @api.post("/start-session", response_model=StartSessionResponse, responses=_ERRORS)
    async def start_session(self, body: StartSessionRequest) -> StartSessionResponse:
        """Open a session for a candidate; frames are then sent with its `session_id`."""
        _check_metadata(body.metadata, self.service.settings.max_metadata_bytes)
        return await self.service.start_session(body.candidate_id, body.metadata, body.timestamp)

    @api.post("/analyze-frame", response_model=AnalyzeFrameResponse, responses=_ERRORS)
    async def analyze_frame(self, body: AnalyzeFrameRequest) -> AnalyzeFrameResponse:
        """Analyse one frame: faces, gaze, objects; update the session's risk and events."""
        return await self.service.analyze(body.session_id, body.frame, body.timestamp, body.include_landmarks)

    @api.post("/end-session", response_model=EndSessionResponse, responses=_ERRORS)
    async def end_session(self, body: EndSessionRequest) -> EndSessionResponse:
        """Close the session and return the verdict, counts per event and the timeline."""
        return await self.service.end_session(body.session_id)

    @api.get("/health", response_model=HealthResponse)
    async def health(self) -> HealthResponse:
        """Liveness plus which models are loaded (`models` says why one is not)."""
        return await self.service.health()

    @api.websocket("/ws/stream")
    async def stream(self, websocket: WebSocket) -> None:
        """Stream frames over one connection; see run_stream."""
        await run_stream(websocket, self.service)
