"""The per-frame pipeline in-process, without Ray: order of calls, failures, refusals.

The analyzers here are recording stand-ins (the unit under test is the pipeline's orchestration);
the session engine is the real SessionManager over the memory store.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from integrity.core.enums import FaceDetector
from integrity.core.errors import (
    AnalysisFailed,
    ModelUnavailable,
    NotAnImage,
    RateLimited,
    SessionEnded,
    SessionNotFound,
)
from integrity.core.geometry import Box
from integrity.core.results import (
    DetectedFace,
    FaceAnalysis,
    GazeAnalysis,
    GazeNeutral,
    ModelStatus,
    ObjectAnalysis,
)
from integrity.session.identity_watch import IdentityCheck
from integrity.session.manager import SessionManager
from integrity.session.rate_limit import Rate
from integrity.session.risk.config import RiskConfig
from integrity.session.state import FrameFacts, FrameOutcome, FramePlan, IdentityOutcome, ObjectOutcome
from integrity.session.store import MemoryStore
from integrity.vision.imaging import ImageDecodeError
from serve_app.pipeline import Analyzers, FramePipeline

LANDMARKS = [(100.0 + i, 100.0 + (i % 7)) for i in range(68)]


def one_face() -> FaceAnalysis:
    face = DetectedFace(
        box=Box(x=80, y=80, width=100, height=100),
        score=0.9,
        detector=FaceDetector.BLAZEFACE_FULL_RANGE,
        landmarks=LANDMARKS,
    )
    return FaceAnalysis(
        image_width=640, image_height=480, detector=FaceDetector.BLAZEFACE_FULL_RANGE, faces=[face], primary=0
    )


class Log:
    def __init__(self) -> None:
        self.calls: list[str] = []


class Face:
    def __init__(self, log: Log, result: FaceAnalysis | Exception, delay: float = 0.0) -> None:
        self.log, self.result, self.delay = log, result, delay

    async def analyze(self, data: bytes) -> FaceAnalysis:
        self.log.calls.append("face:start")
        await asyncio.sleep(self.delay)
        self.log.calls.append("face:end")
        if isinstance(self.result, Exception):
            raise self.result
        return self.result

    async def status(self) -> ModelStatus:
        return ModelStatus(available=True)

    async def statuses(self) -> dict[str, ModelStatus]:
        return {"face": ModelStatus(available=True)}


class Gaze:
    def __init__(self, log: Log, fail: bool = False) -> None:
        self.log, self.fail = log, fail
        self.neutrals: list[GazeNeutral] = []

    async def analyze(self, face: FaceAnalysis, neutral: GazeNeutral) -> GazeAnalysis:
        self.log.calls.append("gaze")
        self.neutrals.append(neutral)
        if self.fail:
            raise RuntimeError("gaze broke")
        return GazeAnalysis(attention=90.0)

    async def status(self) -> ModelStatus:
        return ModelStatus(available=True)


class Objects:
    def __init__(self, log: Log, fail: bool = False, delay: float = 0.0) -> None:
        self.log, self.fail, self.delay = log, fail, delay

    async def analyze(self, data: bytes) -> ObjectAnalysis:
        self.log.calls.append("objects:start")
        await asyncio.sleep(self.delay)
        self.log.calls.append("objects:end")
        if self.fail:
            raise RuntimeError("objects broke")
        return ObjectAnalysis(status=ModelStatus(available=True))

    async def status(self) -> ModelStatus:
        return ModelStatus(available=True)

    async def missing(self) -> ModelStatus | None:
        return None


async def pipeline_with(
    log: Log,
    face: FaceAnalysis | Exception | None = None,
    gaze_fails: bool = False,
    objects_fail: bool = False,
    face_delay: float = 0.0,
    objects_delay: float = 0.0,
    **options: Any,
) -> tuple[FramePipeline, SessionManager, str]:
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=60, trust_client_time=True)
    session = await manager.create("candidate")
    analyzers = Analyzers(
        Face(log, one_face() if face is None else face, face_delay),
        Gaze(log, gaze_fails),
        Objects(log, objects_fail, objects_delay),
    )
    return FramePipeline(analyzers, manager, **options), manager, session.session_id


class CountingSessions:
    """The real SessionManager, counting the calls the pipeline makes (and able to set the neutral)."""

    def __init__(self, manager: SessionManager, neutral: GazeNeutral | None = None) -> None:
        self.manager, self.neutral = manager, neutral
        self.calls: list[str] = []

    async def plan_frame(self, session_id: str, timestamp: float | None) -> FramePlan:
        self.calls.append("plan")
        return await self.manager.plan_frame(session_id, timestamp)

    async def record_frame(self, session_id: str, facts: FrameFacts) -> FrameOutcome:
        self.calls.append("record")
        outcome = await self.manager.record_frame(session_id, facts)
        if self.neutral is not None:
            outcome = outcome.model_copy(update={"neutral": self.neutral})
        return outcome

    async def record_objects(self, session_id: str, facts: FrameFacts) -> ObjectOutcome:
        self.calls.append("objects")
        return await self.manager.record_objects(session_id, facts)

    async def record_identity(self, session_id: str, check: IdentityCheck) -> IdentityOutcome:
        self.calls.append("identity")
        return await self.manager.record_identity(session_id, check)


async def test_face_and_objects_run_together_then_gaze_then_the_frame_is_booked() -> None:
    log = Log()
    pipeline, manager, sid = await pipeline_with(log, face_delay=0.05, objects_delay=0.05)
    result = await pipeline.run(sid, b"jpeg", timestamp=1.0)
    assert log.calls.index("objects:start") < log.calls.index("face:end")  # both in flight at once
    assert log.calls.index("face:end") < log.calls.index("gaze")
    assert result.gaze is not None and result.gaze.attention == 90.0
    assert result.models["objects"].available and result.models["gaze"].available
    assert set(result.timings_ms) >= {"prepare", "face", "gaze_done", "objects_done", "session"}
    assert (await manager.get(sid)).frames == 1


async def test_an_object_model_failure_is_reported_as_not_looked_at() -> None:
    log = Log()
    pipeline, manager, sid = await pipeline_with(log, objects_fail=True)
    result = await pipeline.run(sid, b"jpeg", timestamp=1.0)
    assert not result.objects.status.available
    assert "object detection failed: RuntimeError" in (result.objects.status.detail or "")
    assert result.objects.objects == []
    state = await manager.get(sid)
    assert state.frames == 1 and "objects" in state.unavailable


async def test_a_gaze_failure_leaves_the_frame_booked_with_gaze_unavailable() -> None:
    log = Log()
    pipeline, manager, sid = await pipeline_with(log, gaze_fails=True)
    result = await pipeline.run(sid, b"jpeg", timestamp=1.0)
    assert result.gaze is not None and not result.gaze.available
    assert result.gaze.failure == "failed: RuntimeError"
    assert result.models["gaze"] == ModelStatus(available=False, detail="failed: RuntimeError")
    assert (await manager.get(sid)).frames == 1


async def test_no_face_means_no_gaze_call() -> None:
    log = Log()
    empty = FaceAnalysis(
        image_width=640, image_height=480, detector=FaceDetector.BLAZEFACE_FULL_RANGE, faces=[]
    )
    pipeline, _, sid = await pipeline_with(log, face=empty)
    result = await pipeline.run(sid, b"jpeg", timestamp=1.0)
    assert "gaze" not in log.calls and result.gaze is None
    assert result.models["gaze"].detail == "no face in the frame"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ImageDecodeError("truncated"), NotAnImage),
        (RuntimeError("dlib"), AnalysisFailed),
        (ModelUnavailable("models/face_detection_full_range_sparse.tflite not found"), ModelUnavailable),
    ],
)
async def test_a_face_failure_fails_the_frame_and_books_nothing(
    error: Exception, expected: type[Exception]
) -> None:
    log = Log()
    pipeline, manager, sid = await pipeline_with(log, face=error, objects_delay=0.2)
    with pytest.raises(expected):
        await pipeline.run(sid, b"jpeg", timestamp=1.0)
    assert (await manager.get(sid)).frames == 0


async def test_an_unknown_or_ended_session_is_refused_before_any_model_runs() -> None:
    log = Log()
    pipeline, manager, sid = await pipeline_with(log)
    with pytest.raises(SessionNotFound):
        await pipeline.run("no-such-session", b"jpeg", timestamp=1.0)
    await manager.end(sid)
    with pytest.raises(SessionEnded):
        await pipeline.run(sid, b"jpeg", timestamp=2.0)
    assert log.calls == []


# -- one session call per frame -------------------------------------------------------------------------
CALIBRATED = GazeNeutral(pitch=7.5, v_ratio=-0.02, source="calibrated")


async def test_after_the_first_frame_each_frame_makes_one_session_call_with_the_returned_neutral() -> None:
    log = Log()
    pipeline, manager, sid = await pipeline_with(log)
    counting = CountingSessions(manager, neutral=CALIBRATED)
    pipeline.sessions = counting
    for i in range(3):
        await pipeline.run(sid, b"jpeg", timestamp=float(i))
    assert counting.calls == ["plan", "record", "record", "record"]  # planned once: a cache miss
    gaze = pipeline.analyzers.gaze
    assert isinstance(gaze, Gaze)
    assert gaze.neutrals[0].source == "default" and gaze.neutrals[1:] == [CALIBRATED, CALIBRATED]
    assert (await manager.get(sid)).frames == 3


async def test_without_a_cache_every_frame_is_planned() -> None:
    log = Log()
    pipeline, manager, sid = await pipeline_with(log, cache_size=0)
    pipeline.sessions = counting = CountingSessions(manager)
    for i in range(2):
        await pipeline.run(sid, b"jpeg", timestamp=float(i))
    assert counting.calls == ["plan", "record", "plan", "record"]


async def test_a_stale_entry_is_planned_again() -> None:
    """Entries older than the session expiry are not used: an expired session is always refused
    before any model runs."""
    log = Log()
    pipeline, manager, sid = await pipeline_with(log, cache_max_age_s=0.0)
    pipeline.sessions = counting = CountingSessions(manager)
    await pipeline.run(sid, b"jpeg", timestamp=0.0)
    await asyncio.sleep(0.01)
    await pipeline.run(sid, b"jpeg", timestamp=1.0)
    assert counting.calls == ["plan", "record", "plan", "record"]


async def test_a_session_ended_through_the_pipeline_is_refused_before_any_model_runs() -> None:
    log = Log()
    pipeline, manager, sid = await pipeline_with(log)
    await pipeline.run(sid, b"jpeg", timestamp=1.0)
    pipeline.forget(sid)  # what the service does on end-session
    await manager.end(sid)
    log.calls.clear()
    with pytest.raises(SessionEnded):
        await pipeline.run(sid, b"jpeg", timestamp=2.0)
    assert log.calls == []


async def test_a_session_ended_elsewhere_costs_at_most_one_frame_of_model_time() -> None:
    """Ended through another ingress replica: this one's cached entry lets one frame reach the
    models; record_frame refuses it (nothing booked) and drops the entry, so the next is planned."""
    log = Log()
    pipeline, manager, sid = await pipeline_with(log)
    await pipeline.run(sid, b"jpeg", timestamp=1.0)
    await manager.end(sid)
    log.calls.clear()
    with pytest.raises(SessionEnded):
        await pipeline.run(sid, b"jpeg", timestamp=2.0)
    assert "face:start" in log.calls
    log.calls.clear()
    with pytest.raises(SessionEnded):
        await pipeline.run(sid, b"jpeg", timestamp=3.0)
    assert log.calls == []


async def test_frames_beyond_the_sessions_rate_are_refused_before_any_model_runs() -> None:
    log = Log()
    pipeline, manager, sid = await pipeline_with(log, frame_rate=Rate(per_second=0.01, burst=2))
    await pipeline.run(sid, b"jpeg", timestamp=1.0)  # planned (the shard's limit applies there too)
    await pipeline.run(sid, b"jpeg", timestamp=2.0)  # cached
    log.calls.clear()
    with pytest.raises(RateLimited):
        await pipeline.run(sid, b"jpeg", timestamp=3.0)
    assert log.calls == [] and (await manager.get(sid)).frames == 2


async def test_unplanned_frames_are_booked_at_receipt_under_the_sessions_clock_rules() -> None:
    now = [1_000_000.0]
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=60, clock=lambda: now[0])
    sid = (await manager.create("candidate")).session_id
    log = Log()
    analyzers = Analyzers(Face(log, one_face()), Gaze(log), Objects(log))
    pipeline = FramePipeline(analyzers, counting := CountingSessions(manager), clock=lambda: now[0])
    first = await pipeline.run(sid, b"jpeg", timestamp=0.0)
    now[0] += 1.0
    second = await pipeline.run(sid, b"jpeg", timestamp=1.1)  # within tolerance: the client's time
    now[0] += 1.0
    third = await pipeline.run(sid, b"jpeg", timestamp=30.0)  # far ahead: the server's, and counted
    assert counting.calls == ["plan", "record", "record", "record"]
    assert second.outcome.timestamp - first.outcome.timestamp == pytest.approx(1.1)
    assert third.outcome.timestamp - first.outcome.timestamp == pytest.approx(2.0)
    assert third.outcome.clock is not None and third.outcome.clock.anomalies == {"ahead": 1}
    assert third.plan.client_timestamp == 30.0 and third.plan.received_at == now[0]


class FaceGaze:
    def __init__(self, log: Log) -> None:
        self.log = log

    async def analyze_with_gaze(
        self, data: bytes, neutral: GazeNeutral
    ) -> tuple[FaceAnalysis, GazeAnalysis | None]:
        self.log.calls.append("face+gaze")
        return one_face(), GazeAnalysis(attention=80.0)


async def test_gaze_beside_face_is_one_call() -> None:
    log = Log()
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=60, trust_client_time=True)
    sid = (await manager.create("candidate")).session_id
    analyzers = Analyzers(Face(log, one_face()), Gaze(log), Objects(log), face_gaze=FaceGaze(log))
    result = await FramePipeline(analyzers, manager).run(sid, b"jpeg", timestamp=1.0)
    assert "face+gaze" in log.calls and "gaze" not in log.calls and "face:start" not in log.calls
    assert result.gaze is not None and result.gaze.attention == 80.0
    assert result.models["gaze"].available
