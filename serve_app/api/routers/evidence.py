"""Evidence images: GET /sessions/{id}/events/{event_id}/evidence (API key, or that session's token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from serve_app.api.auth import Authenticated
from serve_app.api.deps import Service
from serve_app.api.errors import ERROR_RESPONSES

router = APIRouter(tags=["evidence"], responses=ERROR_RESPONSES)

SessionId = Annotated[str, Path(min_length=1, max_length=128, description="The session's id.")]
EventId = Annotated[str, Path(min_length=1, max_length=64, description="The event's id (`ev0001`, ...).")]


@router.get(
    "/sessions/{session_id}/events/{event_id}/evidence",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The annotated JPEG of the event's frame."}
    },
)
async def get_evidence(
    session_id: SessionId, event_id: EventId, service: Service, caller: Authenticated
) -> Response:
    """The event's evidence: its frame, downscaled, with the boxes, landmarks or gaze direction that
    made the case drawn on it. A session token reads its own session's evidence only (else 403)."""
    caller.require_session(session_id)
    data = await service.evidence_image(session_id, event_id)
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )
