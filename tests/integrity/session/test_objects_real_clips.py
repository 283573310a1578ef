"""Issue 20, objects on real frames: the real YOLOv8n (TFLite, ../shared/models) on the shared fixture
clips and photos, its detections booked by the real SessionManager and configs/risk_engine.yaml on
the clip's own clock. Hands, cups and posters are not evidence; a sure, steady phone is.

Skips, saying why, where the weights or a fixture are absent. Frames are sampled (every 5th or 10th,
denser where the scene is the point) and each clip is analysed once per module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from integrity.core.enums import OBJECT_EVENTS, EventType, Verdict
from integrity.core.results import ObjectAnalysis
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
from integrity.session.state import EndOutcome, FrameFacts
from integrity.session.store import MemoryStore
from integrity.vision.object_mapping import ObjectsConfig
from integrity.vision.objects import ObjectAnalyzer
from tests.conftest import REPO

pytestmark = pytest.mark.slow

SHARED = (REPO.parent / "shared").resolve()
TFLITE = SHARED / "models" / "yolov8n_int8.tflite"
FIXTURES = SHARED / "fixtures"
HONEST = "A_video_webcam_honest_talk_lean_hand_on_face.mp4"
MEETING = "A_video_meeting_closeup_passerby_cup_looks_down.m4v"
A08 = "A08_two_phones_laptop_no_face.jpg"
PHONES = {EventType.PHONE_DETECTED, EventType.PHONE_PARTIAL_DETECTED}
OBJECTS_YAML = REPO / "configs" / "objects.yaml"
CONFIDENCE_THRESHOLD = 0.25  # serve_app/settings.py's default


def fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"fixture {name} not found under {FIXTURES} (../shared/fixtures beside the repo)")
    return path


@pytest.fixture(scope="module")
def detector() -> ObjectAnalyzer:
    if not TFLITE.is_file():
        pytest.skip(f"real YOLO weights not found at {TFLITE} (expected ../shared/models beside the repo)")
    found = ObjectAnalyzer(TFLITE.parent, str(TFLITE), CONFIDENCE_THRESHOLD, ObjectsConfig.load(OBJECTS_YAML))
    found.load()
    assert found.status.available, found.status.detail
    return found


@dataclass(frozen=True)
class Sample:
    t: float  # seconds into the clip
    objects: ObjectAnalysis


def analyse(detector: ObjectAnalyzer, path: Path, frames: Iterable[int]) -> list[Sample]:
    """The detector's answer on the clip's frames ``frames`` (indices), in order."""
    wanted = set(frames)
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    out: list[Sample] = []
    index = 0
    try:
        while wanted and index <= max(wanted):
            ok, frame = capture.read()
            if not ok:
                break
            if index in wanted:
                ok, encoded = cv2.imencode(".png", frame)
                assert ok
                out.append(Sample(index / fps, detector.analyze(encoded.tobytes())))
            index += 1
    finally:
        capture.release()
    assert out, f"{path.name}: no frame decoded"
    return out


@pytest.fixture(scope="module")
def honest(detector: ObjectAnalyzer) -> list[Sample]:
    """The honest webcam clip, every 5th frame (25 fps: 5 a second) over its whole 53.5 s."""
    return analyse(detector, fixture(HONEST), range(0, 1337, 5))


@pytest.fixture(scope="module")
def meeting(detector: ObjectAnalyzer) -> list[Sample]:
    """The meeting clip, every 10th frame over its 120 s, every 2nd where the cup is at the mouth
    (41-45 s) and where his hands on the table read as a phone (86-90 s)."""
    frames = set(range(0, 3000, 10)) | set(range(41 * 25, 45 * 25, 2)) | set(range(86 * 25, 90 * 25, 2))
    return analyse(detector, fixture(MEETING), sorted(frames))


async def replay(samples: list[Sample], faces: int = 1) -> EndOutcome:
    """Book the samples in a session on the clip's clock (one face each: the candidate)."""
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=600, trust_client_time=True)
    sid = (await manager.create("clip", timestamp=samples[0].t)).session_id
    for sample in samples:
        await manager.record_frame(sid, FrameFacts(timestamp=sample.t, faces=faces, objects=sample.objects))
    return await manager.end(sid)


def object_events(outcome: EndOutcome) -> list[str]:
    return [f"{e.type}@{e.timestamp:.1f}s" for e in outcome.summary.timeline if e.type in OBJECT_EVENTS]


def seen(samples: list[Sample], label: str, start: float = 0.0, end: float = 1e9) -> list[float]:
    """The confidences of ``label`` detections between ``start`` and ``end`` (seconds)."""
    return [
        o.confidence for s in samples if start <= s.t < end for o in s.objects.objects if o.label == label
    ]


# -- the honest webcam clip: a world-map poster behind him, a hand at his face ---------------------------
async def test_poster_in_view_at_start_is_room_not_evidence(honest: list[Sample]) -> None:
    tv = seen(honest, "tv")
    assert len(tv) >= 0.9 * len(honest)  # the poster reads as a "tv" on nearly every frame...
    assert max(tv) >= 0.5  # ...and sure of it on some
    outcome = await replay(honest)
    assert object_events(outcome) == []  # over the clip's whole length
    assert outcome.verdict is Verdict.CLEAN
    room = [t for t in outcome.summary.static_background if t.label == "tv"]
    assert len(room) == 1 and room[0].room and room[0].moves == 0  # reported, as the room
    learned = room[0].static_since
    assert learned is not None and learned <= honest[0].t + RiskConfig.load().background.room_s


async def test_hand_at_face_is_not_a_phone(honest: list[Sample]) -> None:
    """43.6-51.6 s: a hand rubbing the cheek, then fingers under the chin."""
    hand = [s for s in honest if 43.6 <= s.t < 51.6]
    assert not any(o.event in PHONES for s in hand for o in s.objects.objects)
    outcome = await replay(honest)
    assert not PHONES & {e.type for e in outcome.summary.timeline}


# -- the meeting clip: a paper cup at the mouth, hands on the table ----------------------------------------
async def test_paper_cup_raises_nothing(meeting: list[Sample]) -> None:
    cup = [s for s in meeting if 41.0 <= s.t < 45.0]
    labels = {o.label for s in cup for o in s.objects.objects}
    assert labels & {"cell phone", "remote"}  # the cup is misread, as the issue says...
    assert not any(o.event is not None for s in cup for o in s.objects.objects if o.label != "person")
    outcome = await replay(meeting)
    during = [e for e in outcome.summary.timeline if 40.0 <= e.timestamp - meeting[0].t <= 47.0]
    assert not [e for e in during if e.type in OBJECT_EVENTS]


async def test_phone_flicker_below_sure_confidence_raises_nothing(meeting: list[Sample]) -> None:
    """Hands on the table (86-90 s) and the cup read as "cell phone" at 0.25-0.45: reported, with no
    event, and no phone event over the whole clip."""
    phones = seen(meeting, "cell phone")
    assert len(phones) >= 5 and max(phones) < ObjectsConfig.load(OBJECTS_YAML).sure(
        "cell phone", CONFIDENCE_THRESHOLD
    )
    assert all(o.event is None for s in meeting for o in s.objects.objects if o.label == "cell phone")
    outcome = await replay(meeting)
    assert not PHONES & {e.type for e in outcome.summary.timeline}, object_events(outcome)


async def test_meeting_clip_raises_no_object_event(meeting: list[Sample]) -> None:
    """Binders on the shelf behind him read as "book" all along: the room, not evidence."""
    assert len(seen(meeting, "book")) >= len(meeting)
    outcome = await replay(meeting)
    assert object_events(outcome) == []
    assert any(t.room and t.label == "book" for t in outcome.summary.static_background)


# -- a real phone: steady, or jumping about ------------------------------------------------------------------
def shifted(image: np.ndarray, dx: int, dy: int, scale: float) -> bytes:
    """``image`` scaled about its top-left corner and moved: the phone lands elsewhere, another size."""
    height, width = image.shape[:2]
    matrix = np.array([[scale, 0.0, dx], [0.0, scale, dy]], dtype=np.float32)
    moved = cv2.warpAffine(image, matrix, (width, height), borderValue=(114, 114, 114))
    ok, encoded = cv2.imencode(".jpg", moved, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return encoded.tobytes()


async def test_phone_held_steady_raises_phone(detector: ObjectAnalyzer) -> None:
    """A08's phone (0.95), in view for 3 s at 5 frames a second: a phone, raised after 0.5 s."""
    result = detector.analyze(fixture(A08).read_bytes())
    assert any(o.event is EventType.PHONE_DETECTED for o in result.objects)
    outcome = await replay([Sample(i / 5.0, result) for i in range(15)])
    phones = [e for e in outcome.summary.timeline if e.type is EventType.PHONE_DETECTED]
    assert len(phones) == 1 and phones[0].timestamp <= 0.61
    assert phones[0].evidence["confidence"] >= 0.6


async def test_sure_phone_jumping_about_raises_nothing(detector: ObjectAnalyzer) -> None:
    """The same real phone, but each frame at another place and size (as YOLO's "phone" on a hand
    at the face jumps between knuckles and palm): never one object long enough to be an event."""
    image = cv2.imread(str(fixture(A08)))
    assert image is not None
    poses = [(0, 0, 1.0), (-700, -350, 1.0), (-1500, -700, 1.5), (-600, -300, 0.7)]
    results = [detector.analyze(shifted(image, dx, dy, scale)) for dx, dy, scale in poses]
    boxes = [[o.box for o in r.objects if o.event in PHONES] for r in results]
    assert all(boxes), boxes  # a sure phone in every pose
    outcome = await replay([Sample(i / 5.0, results[i % len(results)]) for i in range(30)])
    assert not PHONES & {e.type for e in outcome.summary.timeline}, object_events(outcome)
