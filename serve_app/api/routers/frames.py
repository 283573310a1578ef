"""/analyze-frame: the candidate's browser (session token) or the backend (API key)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from serve_app.api import responses
from serve_app.api.auth import Authenticated
from serve_app.api.deps import Service
from serve_app.api.errors import ERROR_RESPONSES
from serve_app.api.schemas import AnalyzeFrameRequest, AnalyzeFrameResponse

router = APIRouter(tags=["frames"], responses=ERROR_RESPONSES)


@router.post("/analyze-frame", response_model=AnalyzeFrameResponse)
async def analyze_frame(body: AnalyzeFrameRequest, service: Service, caller: Authenticated) -> Response:
    """Analyse one frame: faces, gaze, objects; update the session's risk and events."""
    caller.require_session(body.session_id)
    frame = await service.analyze(
        body.session_id, body.frame, body.timestamp, audio=body.audio, client=body.client
    )
    answer = responses.analyzed(body.session_id, frame, body.include_landmarks)
    # Built and typed here already: serialised once (FastAPI would dump it, validate the dump into
    # the model again and serialise that, per frame). The schema is still `response_model`'s.
    return Response(answer.model_dump_json(), media_type="application/json")
