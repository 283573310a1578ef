"""Issue 20, the second look for faces inside person boxes, on real photos: the candidate (A01) with a
second person beside him, small (a ~25 px face) or turned away, as YOLOv8n (../shared/models) and
BlazeFace (models/) see them; then the frame pipeline and the real session engine on the result.

Skips, saying why, where the YOLO weights, the BlazeFace files or a fixture are absent.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from integrity.core.enums import EventType, FaceCheck, FaceDetector
from integrity.core.geometry import Box
from integrity.core.results import DetectedFace, FaceAnalysis, ModelStatus, ObjectAnalysis
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
from integrity.session.state import EndOutcome, FrameFacts
from integrity.session.store import MemoryStore
from integrity.vision.blazeface import BlazeFace, FaceCandidate
from integrity.vision.face import FaceAnalyzer
from integrity.vision.object_mapping import ObjectsConfig, PersonRelookConfig
from integrity.vision.objects import ObjectAnalyzer
from integrity.vision.person_faces import (
    PersonFaceAnalyzer,
    head_region,
    persons_without_face,
)
from tests.conftest import REPO

SHARED = (REPO.parent / "shared").resolve()
TFLITE = SHARED / "models" / "yolov8n_int8.tflite"
FIXTURES = SHARED / "fixtures"
MODELS = REPO / "models"
CONFIG = ObjectsConfig.load(REPO / "configs" / "objects.yaml")


def need(path: Path, what: str) -> Path:
    if not path.is_file():
        pytest.skip(f"{what} not found at {path}")
    return path


@pytest.fixture(scope="module")
def detector() -> ObjectAnalyzer:
    need(TFLITE, "real YOLO weights (../shared/models beside the repo)")
    found = ObjectAnalyzer(TFLITE.parent, str(TFLITE), 0.25, CONFIG)
    found.load()
    assert found.status.available, found.status.detail
    return found


@pytest.fixture(scope="module")
def relook(face: FaceAnalyzer) -> PersonFaceAnalyzer:
    """As the service runs it: what it finds is judged by the face stage's own verifier."""
    for name in ("face_detection_full_range_sparse.tflite", "face_detection_short_range.tflite"):
        need(MODELS / name, "BlazeFace model file (python -m serve_app.models_cli fetch)")
    return PersonFaceAnalyzer.load(MODELS, CONFIG.person_relook, face)


@pytest.fixture(scope="module")
def whole_frame() -> BlazeFace:
    need(MODELS / "face_detection_full_range_sparse.tflite", "BlazeFace full range")
    return BlazeFace(MODELS, FaceDetector.BLAZEFACE_FULL_RANGE)


def read(name: str) -> np.ndarray:
    image = cv2.imread(str(need(FIXTURES / name, f"fixture {name}")))
    assert image is not None, name
    return image


def beside(second: str, scale: float, tilt_deg: float = 0.0) -> np.ndarray:
    """A01's candidate (480 px tall) with ``second`` scaled by ``scale`` standing at his right (its
    photo turned by ``tilt_deg``, counter-clockwise: a head tilted aside)."""
    me, other = read("A01_frontal_webcam_man.png"), read(second)
    if tilt_deg:
        turn = cv2.getRotationMatrix2D((other.shape[1] / 2, other.shape[0] / 2), tilt_deg, 1.0)
        other = cv2.warpAffine(other, turn, (other.shape[1], other.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    me = cv2.resize(me, (round(me.shape[1] * 480 / me.shape[0]), 480))
    other = cv2.resize(other, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, me.shape[1] + 320, 3), 90, np.uint8)
    canvas[:, : me.shape[1]] = me
    h, w = min(other.shape[0], 480), min(other.shape[1], 320)
    canvas[480 - h :, me.shape[1] : me.shape[1] + w] = other[:h, :w]
    return canvas


def png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def faces_of(image: np.ndarray, blaze: BlazeFace) -> FaceAnalysis:
    """The whole-frame face stage, as far as counting goes: BlazeFace at its score."""
    found = [
        DetectedFace(
            box=Box(x=int(c.left), y=int(c.top), width=round(c.width), height=round(c.height)),
            score=c.score,
            detector=FaceDetector.BLAZEFACE_FULL_RANGE,
        )
        for c in blaze.detect(image)
    ]
    return FaceAnalysis(
        image_width=image.shape[1],
        image_height=image.shape[0],
        detector=FaceDetector.BLAZEFACE_FULL_RANGE,
        faces=found,
        primary=0 if found else None,
    )


async def book(face: FaceAnalysis, objects: ObjectAnalysis, seconds: float = 3.0) -> EndOutcome:
    """The frame's faces and objects, 10 frames a second, in a real session."""
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=600, trust_client_time=True)
    sid = (await manager.create("two", timestamp=0.0)).session_id
    for i in range(round(seconds * 10)):
        await manager.record_frame(sid, FrameFacts.of(i / 10, face, None, objects))
    return await manager.end(sid)


@pytest.mark.parametrize(
    ("second", "scale"),
    [
        pytest.param("A11_face_three_quarter_with_dog.jpg", 0.36, id="3/4 face ~25 px"),
        pytest.param("A05_head_turned_away_webcam.png", 0.5, id="head turned away, small"),
    ],
)
async def test_small_or_turned_second_face_found_in_the_person_box(
    second: str, scale: float, detector: ObjectAnalyzer, relook: PersonFaceAnalyzer, whole_frame: BlazeFace
) -> None:
    image = beside(second, scale)
    objects = detector.analyze(png(image))
    face = faces_of(image, whole_frame)
    assert face.count == 1  # the whole-frame detector sees the candidate only
    (lonely,) = persons_without_face(face, objects, CONFIG.person_relook)
    assert lonely.x >= 640  # the second person's box, at the candidate's right
    found = relook.relook(image, face, objects)
    assert found.crops == 1 and len(found.faces) == 1
    second_face = found.faces[0].box
    assert lonely.x <= second_face.x and second_face.x + second_face.width <= lonely.x + lonely.width
    assert 15 <= second_face.width <= 45
    merged = found.merged(face)
    assert merged.count == 2 and merged.primary == 0  # the candidate stays the primary face
    outcome = await book(merged, objects)
    assert outcome.summary.event_counts.get(str(EventType.MULTIPLE_FACES)) == 1


@pytest.mark.parametrize("tilt", [40, -40], ids=["tilted 40 deg", "tilted -40 deg"])
async def test_second_person_with_the_head_tilted_is_counted(
    tilt: float, detector: ObjectAnalyzer, relook: PersonFaceAnalyzer, whole_frame: BlazeFace
) -> None:
    """Two people side by side, the second one's head tilted ~40 degrees: the whole-frame detector
    (trained on upright faces) misses it; the look in the person box finds and verifies it."""
    image = beside("A01_frontal_webcam_man.png", 0.6, tilt)
    objects = detector.analyze(png(image))
    face = faces_of(image, whole_frame)
    assert face.count == 1
    found = relook.relook(image, face, objects)
    assert len(found.faces) == 1 and found.faces[0].box.x >= 640
    merged = found.merged(face)
    assert merged.count == 2
    outcome = await book(merged, objects)
    assert outcome.summary.event_counts.get(str(EventType.MULTIPLE_FACES)) == 1


async def test_one_person_boxed_twice_is_one_face(
    detector: ObjectAnalyzer, relook: PersonFaceAnalyzer, whole_frame: BlazeFace
) -> None:
    """YOLO boxes A11's woman twice (overlapping boxes, one with her dog): both boxes lack a face and
    both crops hold her head. She is one face, not two (a count of 3 people in the frame)."""
    image = beside("A11_face_three_quarter_with_dog.jpg", 0.6, -40)
    objects = detector.analyze(png(image))
    face = faces_of(image, whole_frame)
    assert face.count == 1
    lonely = persons_without_face(face, objects, CONFIG.person_relook)
    assert len(lonely) == 2 and lonely[0].overlap(lonely[1]) > 0.5  # one person, two boxes
    found = relook.relook(image, face, objects)
    assert found.crops == 2 and len(found.faces) == 1
    assert found.merged(face).count == 2


async def test_a_dogs_head_in_the_person_box_is_not_a_face(
    detector: ObjectAnalyzer, relook: PersonFaceAnalyzer, whole_frame: BlazeFace, face: FaceAnalyzer
) -> None:
    """A11's woman hugging her Great Dane beside the candidate: the crop of her person box holds
    her face and the dog's head, and the relook finds both. Her face passes the face stage's test
    (two of FaceMesh presence, short-range BlazeFace, HOG); the dog's head, which the short-range
    BlazeFace alone took for a face (a count of 3), does not: 2 faces, the dog unverified."""
    image = beside("A11_face_three_quarter_with_dog.jpg", 0.6, -15)
    objects = detector.analyze(png(image))
    whole = faces_of(image, whole_frame)
    assert whole.count == 1
    found = relook.relook(image, whole, objects)
    assert len(found.faces) == 1 and found.unverified, (found.faces, found.unverified)
    assert found.merged(whole).count == 2
    short = BlazeFace(MODELS, FaceDetector.BLAZEFACE_SHORT_RANGE)

    class ShortRangeAlone:
        """The check the second look used before: the short-range BlazeFace at 0.5, on a close crop."""

        def verify_candidate(self, image: np.ndarray, candidate: FaceCandidate) -> list[FaceCheck] | None:
            side = 3 * max(candidate.width, candidate.height)
            (cx, cy), half = candidate.centre, side / 2
            left, top = max(0, int(cx - half)), max(0, int(cy - half))
            crop = image[top : int(cy + half), left : int(cx + half)]
            hits = [
                c
                for c in short.detect(crop, 0.5)
                if c.left <= cx - left <= c.right and c.top <= cy - top <= c.bottom
            ]
            return [FaceCheck.SHORT_RANGE] if hits else None

    loose = PersonFaceAnalyzer(relook.detector, ShortRangeAlone(), CONFIG.person_relook)
    assert len(loose.relook(image, whole, objects).faces) == 2  # what the short-range check alone counted


async def test_second_person_without_face_makes_multiple_faces_unknown(
    detector: ObjectAnalyzer, relook: PersonFaceAnalyzer, whole_frame: BlazeFace
) -> None:
    """A06's man seen from behind beside the candidate: no face to find, so nothing is raised, but
    MULTIPLE_FACES is unknown all along and the session says why."""
    image = beside("A06_person_from_behind_no_face.jpg", 0.8)
    objects = detector.analyze(png(image))
    face = faces_of(image, whole_frame)
    assert face.count == 1 and len(persons_without_face(face, objects, CONFIG.person_relook)) == 1
    found = relook.relook(image, face, objects)
    assert found.faces == []  # the back of a head does not verify as a face
    outcome = await book(found.merged(face), objects)
    assert str(EventType.MULTIPLE_FACES) not in outcome.summary.event_counts
    coverage = outcome.summary.coverage[str(EventType.MULTIPLE_FACES)]
    assert coverage.observed_s == 0 and coverage.unknown_s >= 2.8
    assert sum(coverage.unknown_because.values()) == pytest.approx(coverage.unknown_s)


def test_crops_are_bounded_and_skip_people_with_a_face() -> None:
    config = PersonRelookConfig(max_crops=1)
    me = Box(x=100, y=50, width=200, height=400)
    people = [
        Box(x=400, y=60, width=120, height=300),
        Box(x=550, y=80, width=60, height=200),
        Box(x=620, y=90, width=10, height=40),
    ]
    objects = ObjectAnalysis(
        status=ModelStatus(available=True),
        objects=[
            *(
                {"label": "person", "confidence": c, "box": b}
                for c, b in zip((0.9, 0.8, 0.95), [me, *people[:2]], strict=True)
            ),
            {"label": "person", "confidence": 0.9, "box": people[2]},  # too narrow to hold a face
            {"label": "person", "confidence": 0.3, "box": Box(x=0, y=0, width=90, height=200)},  # doubtful
        ],
    )
    face = FaceAnalysis(
        image_width=640,
        image_height=480,
        detector=FaceDetector.BLAZEFACE_FULL_RANGE,
        faces=[
            DetectedFace(
                box=Box(x=160, y=80, width=80, height=90),
                score=0.9,
                detector=FaceDetector.BLAZEFACE_FULL_RANGE,
            )
        ],
        primary=0,
    )
    assert persons_without_face(face, objects, config) == [people[1], people[0]]  # most confident first

    class Counting:
        calls = 0

        def detect(self, image: np.ndarray, min_score: float | None = None) -> list[object]:
            Counting.calls += 1
            return []

    image = np.zeros((480, 640, 3), np.uint8)
    assert PersonFaceAnalyzer(Counting(), AcceptsAll(), config).relook(image, face, objects).crops == 1  # type: ignore[arg-type]
    assert Counting.calls == 1
    region = head_region(people[0], 640, 480, PersonRelookConfig())
    assert region is not None and region.y <= people[0].y and region.height <= 0.5 * 300 + 2 * 12 + 1


class AcceptsAll:
    """A verifier that takes every candidate for a face (these tests are about what is looked at)."""

    def verify_candidate(self, image: np.ndarray, candidate: FaceCandidate) -> list[FaceCheck] | None:
        return [FaceCheck.SHORT_RANGE]


NEXT_TO_ME = Box(x=160, y=80, width=80, height=90)  # the candidate's face, 640x480


def neighbour_beside_me() -> tuple[FaceAnalysis, ObjectAnalysis, Box]:
    """The candidate's face and a second person's box right beside it (no face centre inside, so
    looked at again) whose crop's margin takes in the candidate's face: (faces, objects, crop)."""
    neighbour = Box(x=235, y=70, width=150, height=380)
    objects = ObjectAnalysis(
        status=ModelStatus(available=True),
        objects=[{"label": "person", "confidence": 0.9, "box": neighbour}],
    )
    face = FaceAnalysis(
        image_width=640,
        image_height=480,
        detector=FaceDetector.BLAZEFACE_FULL_RANGE,
        faces=[DetectedFace(box=NEXT_TO_ME, score=0.9, detector=FaceDetector.BLAZEFACE_FULL_RANGE)],
        primary=0,
    )
    region = head_region(neighbour, 640, 480, CONFIG.person_relook)
    assert region is not None and region.x < NEXT_TO_ME.x + NEXT_TO_ME.width  # reaches the candidate
    return face, objects, region


def test_a_crop_reaching_the_candidates_face_does_not_count_it_again() -> None:
    """A second person's box right beside the candidate: its crop's margin takes in the candidate's
    face, which the detector finds there again. That face is counted once (the candidate's)."""
    me = NEXT_TO_ME
    face, objects, region = neighbour_beside_me()

    class FindsTheCandidate:
        def detect(self, image: np.ndarray, min_score: float | None = None) -> list[FaceCandidate]:
            assert region is not None
            left, top = me.x - region.x, me.y - region.y  # the candidate's face, in crop pixels
            box = (left + 5, top, left + me.width + 5, top + me.height)
            return [FaceCandidate(*box, score=0.9, keypoints=np.zeros((6, 2), np.float32))]

    found = PersonFaceAnalyzer(FindsTheCandidate(), AcceptsAll(), CONFIG.person_relook).relook(
        np.zeros((480, 640, 3), np.uint8), face, objects
    )
    assert found.crops == 1 and found.faces == [] and found.unverified == []
    assert found.merged(face).count == 1


def test_the_neighbours_own_face_behind_the_candidates_is_still_looked_at() -> None:
    """The same crop holds the candidate's face (the detector's best there) and the neighbour's own,
    found at a lower score: the candidate's is skipped as already counted, the neighbour's counts."""
    me = NEXT_TO_ME
    face, objects, region = neighbour_beside_me()
    theirs = Box(x=290, y=90, width=50, height=55)  # in the frame

    class FindsBoth:
        def detect(self, image: np.ndarray, min_score: float | None = None) -> list[FaceCandidate]:
            assert region is not None
            mine = (me.x - region.x, me.y - region.y, me.x - region.x + me.width, me.y - region.y + me.height)
            own = (theirs.x - region.x, theirs.y - region.y)
            return [
                FaceCandidate(
                    *own, own[0] + theirs.width, own[1] + theirs.height, 0.6, np.zeros((6, 2), np.float32)
                ),
                FaceCandidate(*mine, score=0.9, keypoints=np.zeros((6, 2), np.float32)),
            ]

    found = PersonFaceAnalyzer(FindsBoth(), AcceptsAll(), CONFIG.person_relook).relook(
        np.zeros((480, 640, 3), np.uint8), face, objects
    )
    assert [f.box for f in found.faces] == [theirs]
    assert found.merged(face).count == 2
