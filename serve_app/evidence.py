"""Evidence for the events a frame raised: rendered, stored and addressed here, for the service and
the offline CLI alike.

Only frames that raise events pay for it (a decode, some drawing and a JPEG encode, a few
milliseconds, off the event loop in a thread). A failure to render or store never fails the frame:
the event is answered without an ``evidence_url``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from integrity.core.errors import EvidenceNotFound
from integrity.core.results import FaceAnalysis, GazeAnalysis, ObjectAnalysis
from integrity.evidence.render import render_evidence, render_identity, thumbnail
from integrity.evidence.report import caption
from integrity.evidence.store import EvidenceStore
from integrity.session.risk.models import EventRecord
from serve_app.pipeline import FrameResult

logger = logging.getLogger(__name__)

REPORT_THUMBNAILS = 200  # a report embeds at most this many thumbnails


def evidence_path(session_id: str, event_id: str) -> str:
    """The API route of an event's evidence image (``GET``, API key or that session's token)."""
    return f"/sessions/{session_id}/events/{event_id}/evidence"


class EvidenceRecorder:
    def __init__(self, store: EvidenceStore, url_for: Callable[[str, str], str] = evidence_path) -> None:
        self.store = store
        self.url_for = url_for
        self.sweep_every_s = min(3600.0, max(1.0, store.retention_s / 4))
        self._last_sweep = 0.0
        self._sweeping: asyncio.Task[int] | None = None

    async def capture(self, session_id: str, data: bytes, result: FrameResult) -> dict[str, str]:
        """Render and store the evidence of the events this frame raised; event id -> URL."""
        return await self.capture_events(
            session_id, data, result.outcome.events, result.face, result.gaze, result.objects
        )

    async def capture_events(
        self,
        session_id: str,
        data: bytes,
        events: Iterable[EventRecord],
        face: FaceAnalysis,
        gaze: GazeAnalysis | None,
        objects: ObjectAnalysis,
    ) -> dict[str, str]:
        """Render and store the evidence of ``events``, raised on the frame ``data`` (an object
        result booked after its frame brings its own); event id -> URL."""
        raised = [e for e in events if e.id]
        if not raised:
            return {}
        try:
            await asyncio.to_thread(self._render_and_store, session_id, data, raised, face, gaze, objects)
        except Exception:
            logger.exception("evidence of %s could not be stored", [e.id for e in raised])
            return {}
        self.maybe_sweep()
        return {e.id: self.url_for(session_id, e.id) for e in raised}

    def _render_and_store(
        self,
        session_id: str,
        data: bytes,
        events: Iterable[EventRecord],
        face: FaceAnalysis,
        gaze: GazeAnalysis | None,
        objects: ObjectAnalysis,
    ) -> None:
        for event in events:
            jpeg = render_evidence(data, event.type, caption(event), face, gaze, objects)
            self.store.put(session_id, event.id, jpeg)

    async def capture_identity(
        self, session_id: str, events: Iterable[EventRecord], enrolled: bytes | None, now: bytes | None
    ) -> dict[str, str]:
        """IDENTITY_CHANGED's evidence: the enrolment's face crop beside the new one; event id -> URL."""
        raised = [e for e in events if e.id]
        if not raised or now is None:
            return {}

        def store() -> None:
            for event in raised:
                self.store.put(session_id, event.id, render_identity(enrolled, now, caption(event)))

        try:
            await asyncio.to_thread(store)
        except Exception:
            logger.exception("evidence of %s could not be stored", [e.id for e in raised])
            return {}
        self.maybe_sweep()
        return {e.id: self.url_for(session_id, e.id) for e in raised}

    async def image(self, session_id: str, event_id: str) -> bytes:
        self.maybe_sweep()
        data = await asyncio.to_thread(self.store.get, session_id, event_id)
        if data is None:
            raise EvidenceNotFound(
                f"no evidence image for event {event_id} of session {session_id} "
                "(none was stored, or it is past its retention)"
            )
        return data

    async def available(self, session_id: str) -> set[str]:
        """Ids of the session's events with an image (one listing of its folder)."""
        self.maybe_sweep()
        return await asyncio.to_thread(self.store.events, session_id)

    async def thumbnails(self, session_id: str, event_ids: Iterable[str]) -> dict[str, bytes]:
        """Small JPEGs of the events' images, for the report (at most ``REPORT_THUMBNAILS``)."""
        wanted = list(event_ids)[:REPORT_THUMBNAILS]

        def one(event_id: str) -> tuple[str, bytes | None]:
            data = self.store.get(session_id, event_id)
            try:
                return event_id, None if data is None else thumbnail(data)
            except ValueError:
                return event_id, None

        found = await asyncio.gather(*(asyncio.to_thread(one, i) for i in wanted))
        return {i: data for i, data in found if data is not None}

    def maybe_sweep(self) -> None:
        """Start a sweep of expired images in the background when one is due (at most one at a time)."""
        now = time.monotonic()
        if now - self._last_sweep < self.sweep_every_s:
            return
        if self._sweeping is not None and not self._sweeping.done():
            return
        self._last_sweep = now
        self._sweeping = asyncio.get_running_loop().create_task(asyncio.to_thread(self._sweep))

    def _sweep(self) -> int:
        try:
            removed = self.store.sweep()
        except Exception:
            logger.exception("evidence sweep failed")
            return 0
        if removed:
            logger.info("evidence: removed %d image(s) past the retention", removed)
        return removed
