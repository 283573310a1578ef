"""/start-session and /end-session: the platform backend's calls (API key)."""

from __future__ import annotations

from fastapi import APIRouter

from serve_app.api import responses
from serve_app.api.auth import Authenticated
from serve_app.api.deps import Service, Tokens
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
async def start_session(
    body: StartSessionRequest, service: Service, caller: Authenticated, tokens: Tokens
) -> StartSessionResponse:
    """Open a session for a candidate; frames are then sent with its `session_id` (and, from the
    candidate's browser, its `session_token`)."""
    caller.require_key("starting a session")
    check_metadata(body.metadata_or_empty, service.settings.max_metadata_bytes)
    session_id, policy = await service.start_session(
        body.candidate_id, body.metadata_or_empty, body.timestamp, caller.key_id, body.policy
    )
    return responses.started(session_id, tokens.issue(session_id), policy)


@router.post("/end-session", response_model=EndSessionResponse)
async def end_session(body: EndSessionRequest, service: Service, caller: Authenticated) -> EndSessionResponse:
    """Close the session and return the verdict, counts per event and the timeline."""
    caller.require_key("ending a session")
    return responses.ended(await service.end_session(body.session_id))
