"""The identity lane on real frames, in process: the face stage, dlib's descriptor and the session
engine are the real ones (trusted replay, so every due check runs and is booked before the next
frame).

Scenario: the candidate enrols looking at the camera, turns her head away (a face too turned to
describe), and looks back. The turned frames cost no check and book nothing; the check they were
due for runs on the first frontal frame, and finds the same person."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from integrity.core.enums import EventType
from integrity.session.manager import SessionManager
from integrity.session.store import MemoryStore
from integrity.vision.video import frames
from serve_app.analyzers import build_local_analyzers
from serve_app.pipeline import FramePipeline
from serve_app.settings import REPO_ROOT
from serve_app.spec import AppSpec

CLIP = "A_clip_head_turn_away_to_frontal.gif"  # frames 0-6 turned 35-51°, 7-10 and 16-22 frontal
TURNED = range(1, 6)
FRONTAL = [7, 8, 9, 10, 16, 17, 18, 19, 20, 21, 22]


@pytest.fixture(scope="module")
def clip_jpegs(fixtures_dir: Path) -> list[bytes]:
    path = fixtures_dir / CLIP
    if not path.is_file():
        pytest.skip(f"{CLIP} not in the shared fixtures")
    return [cv2.imencode(".jpg", image)[1].tobytes() for _, image in frames(path, 1)]


async def test_a_turned_face_puts_the_due_check_off_until_the_face_is_frontal_again(
    clip_jpegs: list[bytes],
) -> None:
    spec = AppSpec.from_file(REPO_ROOT / "serve_config.yaml", yolo_model="no-object-model.pt")
    analyzers = build_local_analyzers(spec)
    assert analyzers.identity is not None, "the identity model (face_recognition_models) is not installed"
    manager = SessionManager(MemoryStore(), spec.risk_config, expire_seconds=3600, trust_client_time=True)
    pipeline = FramePipeline(analyzers, manager, replay=True, identity=spec.identity_config)
    lane = pipeline.identity
    assert lane is not None
    session = await manager.create("identity-lane", timestamp=0.0)
    events: list[EventType] = []

    async def show(index: int, at: float) -> None:
        result = await pipeline.run(session.session_id, clip_jpegs[index], at)
        events.extend(e.type for e in result.outcome.events)
        events.extend(late.event.type for late in result.late_events)

    t = 0.0
    for index in FRONTAL[:8]:  # enrolment: five checks 0.4 s apart, then the next is due 2 s later
        await show(index, t)
        t += 0.5
    checks_before = lane.checks
    for index in TURNED:  # due meanwhile, but the head is turned beyond the descriptor's limit
        await show(index, t)
        t += 0.5
    assert lane.checks == checks_before, "a check ran on a turned face"
    assert lane.not_usable >= 1, "no check fell due while the head was turned"

    await show(FRONTAL[8], t)  # frontal again: the check that was put off runs now
    assert lane.checks == checks_before + 1
    await lane.drain(session.session_id, 30.0)

    summary = (await manager.end(session.session_id)).summary.identity
    assert summary is not None and summary.enrolled
    assert summary.checks == lane.checks  # one booking per check the model ran, none for the turned
    assert summary.unusable == 0
    assert summary.same >= 1 and summary.different == 0
    assert EventType.IDENTITY_CHANGED not in events
