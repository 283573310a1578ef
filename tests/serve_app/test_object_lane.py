"""Objects off the frame's critical path (issue 22): the pipeline with object sampling on.

The analyzers are recording stand-ins with delays (the unit under test is the orchestration: who
waits for whom, what is booked when and at which time); the sessions are the real SessionManager
over the memory store. The real models through the real app: tests/api/test_objects*.py, and through
Serve with a phone shown mid-stream: tests/integration/test_objects_sampling.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from integrity.core.enums import EventType, GazeDirection
from integrity.core.errors import IntegrityError
from integrity.core.geometry import Box
from integrity.core.results import (
    DetectedObject,
    FaceAnalysis,
    GazeAnalysis,
    GazeNeutral,
    ModelStatus,
    ObjectAnalysis,
)
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
from integrity.session.store import MemoryStore
from integrity.vision.object_sampling import ObjectSamplingConfig
from serve_app.pipeline import Analyzers, FramePipeline
from tests.serve_app.test_pipeline import Face, Gaze, Log, one_face

PHONE = DetectedObject(
    label="cell phone",
    confidence=0.9,
    box=Box(x=300, y=300, width=60, height=110),
    event=EventType.PHONE_DETECTED,
)


class Objects:
    """An object model that takes ``delay`` seconds and sees a phone in frames whose bytes say so."""

    def __init__(self, log: Log, delay: float = 0.0, fail: Exception | None = None) -> None:
        self.log, self.delay, self.fail = log, delay, fail
        self.absent: ModelStatus | None = None

    async def analyze(self, data: bytes) -> ObjectAnalysis:
        self.log.calls.append(f"objects:start:{data.decode()}")
        await asyncio.sleep(self.delay)
        self.log.calls.append(f"objects:end:{data.decode()}")
        if self.fail is not None:
            raise self.fail
        found = [PHONE] if data.startswith(b"phone") else []
        return ObjectAnalysis(status=ModelStatus(available=True), objects=found)

    async def status(self) -> ModelStatus:
        return ModelStatus(available=True)

    async def missing(self) -> ModelStatus | None:
        return self.absent


class DownGaze(Gaze):
    """Gaze that reads down on frames whose bytes start with ``down``."""

    def __init__(self, log: Log) -> None:
        super().__init__(log)
        self.down = False

    async def analyze(self, face: FaceAnalysis, neutral: GazeNeutral) -> GazeAnalysis:
        await super().analyze(face, neutral)
        return GazeAnalysis(
            attention=90.0, direction=GazeDirection.DOWN if self.down else GazeDirection.CENTER
        )


async def sampled(
    log: Log,
    objects_delay: float = 0.0,
    replay: bool = True,
    fail: Exception | None = None,
    sessions: int = 1,
    **sampling: Any,
) -> tuple[FramePipeline, SessionManager, list[str], Objects, DownGaze]:
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=60, trust_client_time=True)
    ids = [(await manager.create(f"candidate-{i}")).session_id for i in range(sessions)]
    objects = Objects(log, objects_delay, fail)
    gaze = DownGaze(log)
    pipeline = FramePipeline(
        Analyzers(Face(log, one_face()), gaze, objects),
        manager,
        object_sampling=ObjectSamplingConfig(**sampling),
        replay=replay,
    )
    return pipeline, manager, ids, objects, gaze


async def drain(pipeline: FramePipeline, session_id: str) -> None:
    assert pipeline.objects is not None
    await pipeline.objects.drain(session_id, 5.0)


async def test_the_frame_is_answered_before_its_object_analysis_is_done() -> None:
    """A first frame waits ``own_wait_s`` (0.5 s) at most for its own analysis: a slower one is
    answered without it, and booked when it arrives."""
    log = Log()
    pipeline, manager, (sid,), _, _ = await sampled(log, objects_delay=0.3, own_wait_s=0.1)
    result = await pipeline.run(sid, b"phone-0", timestamp=10.0)
    assert "objects:end:phone-0" not in log.calls  # answered while the analysis still runs
    assert result.objects_sampled is not None and result.objects_sampled.started
    assert result.objects.objects == [] and result.objects_age_s is None  # no result yet
    assert (await manager.get(sid)).frames == 1
    await drain(pipeline, sid)
    state = await manager.get(sid)
    assert state.objects.analyses == 1 and state.objects.last_at == 10.0  # booked at its frame's time
    assert state.risk.last_in("objects") == 10.0


async def test_a_first_frame_is_answered_with_its_own_quick_analysis() -> None:
    """No fresh result before it: the first frame waits for its own analysis (0.05 s here) and shows
    it (a photo sent once is counted with its person boxes); the next frame, with that result
    fresh, does not wait for its own."""
    log = Log()
    pipeline, _, (sid,), _, _ = await sampled(log, objects_delay=0.05)
    first = await pipeline.run(sid, b"phone-0", timestamp=10.0)
    assert first.objects.objects == [PHONE] and first.objects_age_s == 0.0
    assert first.objects_frame_time == 10.0
    assert first.models["objects"].detail is not None and "own analysis" in first.models["objects"].detail
    await drain(pipeline, sid)
    log.calls.clear()
    second = await pipeline.run(sid, b"phone-1", timestamp=11.0)  # due again, its analysis started
    assert "objects:start:phone-1" in log.calls and "objects:end:phone-1" not in log.calls
    assert second.objects_frame_time == 10.0 and second.objects_age_s == 1.0  # the first one's result
    disabled, _, (other,), _, _ = await sampled(Log(), objects_delay=0.05, own_wait_s=0.0)
    assert (await disabled.run(other, b"phone-0", timestamp=10.0)).objects.objects == []


async def test_one_analysis_per_interval_on_the_frames_own_time() -> None:
    log = Log()
    pipeline, manager, (sid,), _, _ = await sampled(log)
    for i, ts in enumerate([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]):
        await pipeline.run(sid, f"frame-{i}".encode(), timestamp=100.0 + ts)
    await drain(pipeline, sid)
    started = [c for c in log.calls if c.startswith("objects:start")]
    assert started == [
        "objects:start:frame-0",
        "objects:start:frame-2",
        "objects:start:frame-4",
        "objects:start:frame-6",
    ]
    coverage = (await manager.end(sid)).summary.objects
    assert coverage is not None and coverage.analyses == 4 and coverage.share == 1.0
    assert coverage.mean_interval_s == 1.0


async def test_a_look_down_triggers_an_analysis_at_once() -> None:
    log = Log()
    pipeline, _, (sid,), _, gaze = await sampled(log)
    await pipeline.run(sid, b"frame-0", timestamp=0.0)
    gaze.down = True
    result = await pipeline.run(sid, b"frame-1", timestamp=0.4)  # not due for another 0.4 s
    assert result.objects_sampled is not None and result.objects_sampled.started
    assert [str(t) for t in result.objects_sampled.triggers] == ["look_down"]
    await drain(pipeline, sid)
    assert "objects:start:frame-1" in log.calls


async def test_a_phone_raises_its_event_from_results_booked_after_their_frames() -> None:
    """Object results arrive after their frames were answered: the event is raised at its frame's
    time, and the session's next answer carries it."""
    log = Log()
    pipeline, manager, (sid,), _, _ = await sampled(log, objects_delay=0.05)
    answers = []
    for i in range(6):  # 2 fps for 3 s, a phone in view all along
        answers.append(await pipeline.run(sid, f"phone-{i}".encode(), timestamp=50.0 + i * 0.5))
    await drain(pipeline, sid)
    late = [late.event for a in answers for late in a.late_events]
    assert [e.type for e in late] == [EventType.PHONE_DETECTED]
    assert late[0].timestamp == 51.0  # the second analysed frame's time, not when it was booked
    assert all(not a.outcome.events for a in answers)  # no frame's own booking raised it
    ended = await manager.end(sid)
    assert ended.summary.event_counts == {"PHONE_DETECTED": 1}


async def test_under_load_analyses_are_shed_and_the_frames_go_through() -> None:
    log = Log()
    pipeline, manager, ids, _, _ = await sampled(
        log, objects_delay=0.3, replay=False, sessions=3, max_inflight=1
    )
    results = await asyncio.gather(
        *(pipeline.run(sid, f"frame-{n}".encode(), None) for n, sid in enumerate(ids))
    )
    shed = [r.objects_sampled is not None and r.objects_sampled.shed for r in results]
    assert sorted(shed) == [False, True, True]
    assert all(r.outcome.timestamp > 0 for r in results)  # every frame booked
    for sid, was_shed in zip(ids, shed, strict=True):
        await drain(pipeline, sid)
        state = await manager.get(sid)
        assert state.frames == 1 and state.objects.shed == int(was_shed)
        assert state.objects.analyses == int(not was_shed)
    assert pipeline.objects is not None
    stats = pipeline.objects.stats()
    assert stats.in_flight == 0 and stats.shed_per_s > 0 and stats.max_inflight == 1


async def test_a_refused_analysis_is_booked_as_not_looked_at() -> None:
    log = Log()
    pipeline, manager, (sid,), _, _ = await sampled(log, fail=IntegrityError("objects queue is full"))
    for ts in (0.0, 1.0):
        result = await pipeline.run(sid, b"phone", timestamp=ts)
        assert result.models["objects"].available  # the frame itself is fine
    await drain(pipeline, sid)
    state = await manager.get(sid)
    assert state.frames == 2 and state.objects.analyses == 2 and state.objects.unavailable == 2
    assert "objects queue is full" in state.unavailable["objects"]
    coverage = (await manager.end(sid)).summary.objects
    assert coverage is not None and coverage.share == 0.0 and coverage.session_s == 1.0


async def test_without_an_object_model_nothing_is_sampled_and_frames_say_so() -> None:
    log = Log()
    pipeline, manager, (sid,), objects, _ = await sampled(log)
    objects.absent = ModelStatus(available=False, detail="no weights")
    result = await pipeline.run(sid, b"frame-0", timestamp=0.0)
    assert not any(c.startswith("objects:") for c in log.calls)
    assert result.models["objects"] == ModelStatus(available=False, detail="no weights")
    assert (await manager.get(sid)).unavailable == {"objects": "no weights"}


async def test_while_the_frames_queue_analyses_yield_to_them() -> None:
    """Frames first: while the replica's frame path queues, a due analysis is shed, and the
    session's next frame is due again."""
    log = Log()
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=60)
    sid = (await manager.create("candidate")).session_id
    busy = [True]
    pipeline = FramePipeline(
        Analyzers(Face(log, one_face()), Gaze(log), Objects(log)),
        manager,
        object_sampling=ObjectSamplingConfig(),
        frames_busy=lambda: busy[0],
    )
    first = await pipeline.run(sid, b"frame-0", None)
    assert first.objects_sampled is not None and first.objects_sampled.shed
    busy[0] = False
    second = await pipeline.run(sid, b"frame-1", None)  # at once: still due
    assert second.objects_sampled is not None and second.objects_sampled.started
    await drain(pipeline, sid)
    state = await manager.get(sid)
    assert state.objects.shed == 1 and state.objects.analyses == 1
