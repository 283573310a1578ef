"""The BlazeFace decoder on its own: anchors, letterbox geometry, counts on the fixtures, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from integrity.core.enums import FaceDetector
from integrity.core.paths import MODELS
from integrity.vision.blazeface import SPECS, BlazeFace, anchors, letterbox
from integrity.vision.model_files import missing
from tests.conftest import FACE_COUNTS

A11 = "A11_face_three_quarter_with_dog.jpg"


def detector(variant: FaceDetector = FaceDetector.BLAZEFACE_FULL_RANGE, **options: object) -> BlazeFace:
    if missing(MODELS):
        pytest.skip(f"face models missing in {MODELS} ({', '.join(missing(MODELS))}): run `make install`")
    return BlazeFace(MODELS, variant, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def full() -> BlazeFace:
    return detector()


@pytest.fixture(scope="module")
def frames(fixture_bytes: dict[str, bytes]) -> dict[str, np.ndarray]:
    images = {}
    for name, data in fixture_bytes.items():
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None
        images[name] = image
    return images


def test_anchor_grids_match_the_models() -> None:
    grid = anchors(SPECS[FaceDetector.BLAZEFACE_FULL_RANGE])
    assert grid.shape == (2304, 2)  # 48 x 48, one anchor per cell
    assert grid[0] == pytest.approx([0.5 / 48, 0.5 / 48]) and grid[1] == pytest.approx([1.5 / 48, 0.5 / 48])
    short = anchors(SPECS[FaceDetector.BLAZEFACE_SHORT_RANGE])
    assert short.shape == (896, 2)  # 16 x 16 x 2 + 8 x 8 x 6
    assert short[0] == pytest.approx(short[1]) and short[512] == pytest.approx([0.5 / 8, 0.5 / 8])


def test_letterbox_resizes_first_then_pads() -> None:
    frame = np.full((480, 640, 3), (10, 20, 30), np.uint8)  # BGR
    tensor, box = letterbox(frame, 192)
    assert tensor.shape == (1, 192, 192, 3) and tensor.dtype == np.float32
    assert box.scale == pytest.approx(0.3) and (box.pad_x, box.pad_y) == (0, 24)
    assert tensor[0, 0, 0] == pytest.approx([-1, -1, -1])  # padding: black
    assert tensor[0, 100, 100] == pytest.approx(np.array([30, 20, 10]) * 2 / 255 - 1, abs=1e-5)  # RGB


def test_counts_on_the_fixtures(full: BlazeFace, frames: dict[str, np.ndarray]) -> None:
    """The detector alone is right everywhere but A11, where it also scores the dog as a face."""
    counts = {name: len(full.detect(image)) for name, image in frames.items()}
    wrong = {name: n for name, n in counts.items() if n not in FACE_COUNTS[name]}
    assert wrong == {A11: 2}


def test_boxes_and_keypoints_are_in_frame_pixels(full: BlazeFace, frames: dict[str, np.ndarray]) -> None:
    (face,) = full.detect(frames["A01_frontal_webcam_man.png"])
    assert 0 < face.left < face.right < 480 and 0 < face.top < face.bottom < 270
    assert 60 < face.width < 110 and face.height == pytest.approx(face.width, rel=0.1)
    right_eye, left_eye, nose, mouth = face.keypoints[:4]
    assert right_eye[0] < nose[0] < left_eye[0]  # the subject's right eye is on image-left
    assert right_eye[1] < nose[1] < mouth[1]
    for x, y in face.keypoints[:4]:
        assert face.left <= x <= face.right and face.top <= y <= face.bottom
    # The same face in a frame twice the size: same place, twice the pixels.
    big = cv2.resize(frames["A01_frontal_webcam_man.png"], None, fx=2, fy=2)
    (twice,) = full.detect(big)
    assert twice.centre == pytest.approx((face.centre[0] * 2, face.centre[1] * 2), abs=4)


def test_weighted_and_plain_nms_agree_on_the_count(frames: dict[str, np.ndarray]) -> None:
    plain = detector(weighted_nms=False)
    weighted = detector(weighted_nms=True)
    for image in frames.values():
        assert len(plain.detect(image)) == len(weighted.detect(image))


def test_short_range_finds_near_faces(frames: dict[str, np.ndarray]) -> None:
    short = detector(FaceDetector.BLAZEFACE_SHORT_RANGE)
    for name in ("A01_frontal_webcam_man.png", "A02_frontal_portrait_man.png", "A03_two_faces_webcam.png"):
        assert len(short.detect(frames[name])) in FACE_COUNTS[name]


def test_one_interpreter_under_concurrent_frames(full: BlazeFace, frames: dict[str, np.ndarray]) -> None:
    """The interpreter is not thread-safe: its lock must make concurrent calls give sequential answers."""
    names = list(frames) * 4
    expected = {name: full.detect(image) for name, image in frames.items()}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda name: full.detect(frames[name]), names))
    for name, found in zip(names, results, strict=True):
        assert [(f.left, f.top, f.score) for f in found] == [(f.left, f.top, f.score) for f in expected[name]]
