"""Session records: GET /sessions/{id}, its HTML report, and reviews of its events (API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from integrity.evidence.report import CSP
from serve_app.api import responses
from serve_app.api.auth import Authenticated
from serve_app.api.deps import Service
from serve_app.api.errors import ERROR_RESPONSES
from serve_app.api.schemas import ReviewRequest, ReviewResponse, SessionRecordResponse

router = APIRouter(tags=["records"], responses=ERROR_RESPONSES)

SessionId = Annotated[str, Path(min_length=1, max_length=128, description="The session's id.")]
EventId = Annotated[str, Path(min_length=1, max_length=64, description="The event's id (`ev0001`, ...).")]


@router.get("/sessions/{session_id}", response_model=SessionRecordResponse)
async def get_record(session_id: SessionId, service: Service, caller: Authenticated) -> SessionRecordResponse:
    """The session's record: state, verdict (automatic and reviewed), events with their evidence
    URLs and reviews, risk over time, which models ran. Open sessions answer live; ended and expired
    ones for `EVIDENCE_RETENTION_DAYS` after their end."""
    caller.require_key("reading a session record")
    return responses.record(await service.record(session_id))


@router.get(
    "/sessions/{session_id}/report",
    response_class=Response,  # errors stay JSON in the schema, as they are
    responses={200: {"content": {"text/html": {}}, "description": "One self-contained HTML file."}},
)
async def get_report(session_id: SessionId, service: Service, caller: Authenticated) -> HTMLResponse:
    """The session's report as one self-contained HTML page (no external assets): the verdicts, risk
    over time with the events marked, each event's evidence thumbnail, measured values and
    thresholds in plain words, and the reviews."""
    caller.require_key("reading a session report")
    page = await service.report(session_id)
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": CSP,
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/sessions/{session_id}/events/{event_id}/review", response_model=ReviewResponse)
async def review_event(
    session_id: SessionId, event_id: EventId, body: ReviewRequest, service: Service, caller: Authenticated
) -> ReviewResponse:
    """Confirm or dismiss one event (a later decision replaces an earlier one). The record and the
    report show each decision, and a reviewed verdict (the rules replayed without the dismissed
    events) beside the automatic one."""
    caller.require_key("reviewing an event")
    record = await service.review(
        session_id, event_id, body.decision, body.note, caller.key_id or caller.kind
    )
    return responses.reviewed(record, event_id)
