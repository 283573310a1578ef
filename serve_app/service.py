"""What the ingress does per request, shared by REST and WebSocket so both answer alike.

Sessions go to the shard client, frames through the FramePipeline; this layer adds the frame's
base64 decoding (once, at the door), the session limit, metrics and health.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from integrity import __version__
from integrity.core.errors import TooManySessions
from integrity.core.results import ModelStatus
from integrity.core.timing import ms_since
from integrity.session.state import EndOutcome
from serve_app.frames import decode_frame
from serve_app.metrics import ServiceMetrics
from serve_app.pipeline import Analyzers, FramePipeline, FrameResult
from serve_app.settings import Settings
from serve_app.shard_client import SessionShards

logger = logging.getLogger(__name__)

SERVICE_NAME = "interview-integrity"
HEALTH_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Health:
    models: dict[str, ModelStatus]
    active_sessions: int  # -1: the session store did not answer
    uptime_seconds: float
    version: str = __version__
    service: str = SERVICE_NAME


@dataclass(frozen=True, slots=True)
class AnalyzedFrame:
    result: FrameResult
    elapsed_ms: float


class IntegrityService:
    def __init__(self, settings: Settings, analyzers: Analyzers, shards: SessionShards) -> None:
        self.settings = settings
        self.analyzers = analyzers
        self.shards = shards
        self.pipeline = FramePipeline(analyzers, shards)
        self.started = time.time()
        self.metrics = ServiceMetrics()

    # -- sessions ---------------------------------------------------------------------------------
    async def start_session(
        self, candidate_id: str, metadata: dict[str, Any], timestamp: float | None
    ) -> str:
        limit = self.settings.max_concurrent_sessions
        if await self.shards.count() >= limit:
            raise TooManySessions(f"the service holds its limit of {limit} open sessions; try again later")
        state = await self.shards.create(str(uuid.uuid4()), candidate_id, metadata, timestamp)
        self.metrics.sessions_started.inc()
        return state.session_id

    async def resume_session(self, session_id: str) -> str:
        """Check that the session is open (raises otherwise) and return its id."""
        return (await self.shards.get(session_id)).session_id

    async def end_session(self, session_id: str) -> EndOutcome:
        outcome = await self.shards.end(session_id)
        self.metrics.sessions_ended.inc(tags={"verdict": str(outcome.verdict)})
        return outcome

    # -- frames -----------------------------------------------------------------------------------
    async def analyze(
        self, session_id: str, frame: str, timestamp: float | None, transport: str = "rest"
    ) -> AnalyzedFrame:
        started = time.perf_counter()
        data, _ = decode_frame(frame, self.settings.max_frame_bytes, self.settings.max_frame_pixels)
        result = await self.pipeline.run(session_id, data, timestamp)
        elapsed = ms_since(started)
        scan = str(result.face.scan)
        self.metrics.frames.inc(tags={"scan": scan, "transport": transport})
        self.metrics.frame_latency.observe(elapsed, tags={"scan": scan})
        for event in result.outcome.events:
            self.metrics.events.inc(tags={"event_type": str(event.type), "severity": str(event.severity)})
        return AnalyzedFrame(result, elapsed)

    # -- health -----------------------------------------------------------------------------------
    async def health(self) -> Health:
        names = ("face", "gaze", "objects")
        models = (self.analyzers.face, self.analyzers.gaze, self.analyzers.objects)
        results = await asyncio.gather(
            *(asyncio.wait_for(m.status(), HEALTH_TIMEOUT_S) for m in models), return_exceptions=True
        )
        statuses: dict[str, ModelStatus] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, ModelStatus):
                statuses[name] = result
            else:
                statuses[name] = ModelStatus(
                    available=False, detail=f"not responding: {type(result).__name__}"
                )
        try:
            active = await asyncio.wait_for(self.shards.count(), HEALTH_TIMEOUT_S)
        except Exception:
            logger.exception("session count failed")
            active = -1
        return Health(statuses, active, round(time.time() - self.started, 3))
