"""/start-session and /end-session."""

from __future__ import annotations

from fastapi import APIRouter

from serve_app.api import responses
from serve_app.api.deps import Service
from serve_app.api.errors import ERROR_RESPONSES
from serve_app.api.limits import check_metadata
from serve_app.api.schemas import (
    EndSessionRequest,
    EndSessionResponse,
    StartSessionRequest,
    StartSessionResponse,
)

router = APIRouter(tags=["sessions"], responses=ERROR_RESPONSES)


@router.post("/start-session", response_model=StartSessionResponse)
async def start_session(body: StartSessionRequest, service: Service) -> StartSessionResponse:
    """Open a session for a candidate; frames are then sent with its `session_id`."""
    check_metadata(body.metadata, service.settings.max_metadata_bytes)
    return responses.started(await service.start_session(body.candidate_id, body.metadata, body.timestamp))


@router.post("/end-session", response_model=EndSessionResponse)
async def end_session(body: EndSessionRequest, service: Service) -> EndSessionResponse:
    """Close the session and return the verdict, counts per event and the timeline."""
    return responses.ended(await service.end_session(body.session_id))
