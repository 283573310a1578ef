"""The per-frame pipeline in-process, without Ray: order of calls, failures, refusals.

The analyzers here are recording stand-ins (the unit under test is the pipeline's orchestration);
the session engine is the real SessionManager over the memory store.
"""

from __future__ import annotations

import asyncio

import pytest

from integrity.core.enums import FaceDetector
from integrity.core.errors import AnalysisFailed, ModelUnavailable, NotAnImage, SessionEnded, SessionNotFound
from integrity.core.geometry import Box
from integrity.core.results import (
    DetectedFace,
    FaceAnalysis,
    GazeAnalysis,
    GazeNeutral,
    ModelStatus,
    ObjectAnalysis,
)
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
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

    async def analyze(self, face: FaceAnalysis, neutral: GazeNeutral) -> GazeAnalysis:
        self.log.calls.append("gaze")
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


async def pipeline_with(
    log: Log,
    face: FaceAnalysis | Exception | None = None,
    gaze_fails: bool = False,
    objects_fail: bool = False,
    face_delay: float = 0.0,
    objects_delay: float = 0.0,
) -> tuple[FramePipeline, SessionManager, str]:
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=60, trust_client_time=True)
    session = await manager.create("candidate")
    analyzers = Analyzers(
        Face(log, one_face() if face is None else face, face_delay),
        Gaze(log, gaze_fails),
        Objects(log, objects_fail, objects_delay),
    )
    return FramePipeline(analyzers, manager), manager, session.session_id


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
