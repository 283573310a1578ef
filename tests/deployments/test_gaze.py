"""GazeAnalyzer: head pose signs and blink/mouth ratios on real faces and synthetic landmarks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deployments.face import FaceAnalyzer, FaceConfig
from deployments.gaze import GazeAnalyzer, GazeConfig, eye_aspect_ratio
from serve_app.domain import GazeDirection
from serve_app.settings import REPO_ROOT, Settings


@pytest.fixture(scope="module")
def face() -> FaceAnalyzer:
    analyzer = FaceAnalyzer(Settings().face_models_dir, FaceConfig.load(REPO_ROOT / "configs" / "face.yaml"))
    analyzer.load()
    return analyzer


@pytest.fixture(scope="module")
def gaze() -> GazeAnalyzer:
    return GazeAnalyzer(GazeConfig.load(REPO_ROOT / "configs" / "gaze.yaml"))


def analyse(face: FaceAnalyzer, gaze: GazeAnalyzer, data: bytes):  # type: ignore[no-untyped-def]
    result = face.analyze(data, deep=True)
    main = result.faces[0]
    return gaze.analyze(main.landmarks, result.image_width, result.image_height, result.eye_patch)


def test_frontal_faces_look_at_the_screen(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    for name in ("A01_frontal_webcam_man.png", "A02_frontal_portrait_man.png"):
        out = analyse(face, gaze, fixture_bytes[name])
        assert out.direction is GazeDirection.CENTER, name
        assert out.attention >= 90, name
        assert out.head_pose is not None and abs(out.head_pose.yaw) < 15
        assert not out.blink


def test_turned_head_and_its_mirror_image(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    data = fixture_bytes["A05_head_turned_away_webcam.png"]  # turned ~60 degrees toward image-left
    turned = analyse(face, gaze, data)
    assert turned.direction is GazeDirection.LEFT
    assert turned.head_pose is not None and turned.head_pose.yaw < -30
    assert turned.attention < 50

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    ok, buf = cv2.imencode(".png", cv2.flip(image, 1))
    assert ok
    mirrored = analyse(face, gaze, buf.tobytes())
    assert mirrored.direction is GazeDirection.RIGHT
    assert mirrored.head_pose is not None and mirrored.head_pose.yaw > 30


def test_eye_aspect_ratio_falls_when_the_eye_closes() -> None:
    open_eye = np.array([[0, 0], [10, -6], [20, -6], [30, 0], [20, 6], [10, 6]], dtype=float)
    closed_eye = open_eye * np.array([1.0, 0.1])
    assert eye_aspect_ratio(open_eye) == pytest.approx(0.4)
    assert eye_aspect_ratio(closed_eye) == pytest.approx(0.04)


def test_blink_is_reported(face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    result = face.analyze(fixture_bytes["A01_frontal_webcam_man.png"])
    landmarks = np.array(result.faces[0].landmarks)
    for eye in (slice(36, 42), slice(42, 48)):  # squash both eyes vertically around their centre
        centre = landmarks[eye].mean(axis=0)
        landmarks[eye, 1] = centre[1] + (landmarks[eye, 1] - centre[1]) * 0.1
    out = gaze.analyze([tuple(p) for p in landmarks], result.image_width, result.image_height)
    assert out.blink
    assert out.eye_aspect_ratio is not None and out.eye_aspect_ratio < 0.1


def test_wrong_landmarks_are_unavailable_not_guessed(gaze: GazeAnalyzer) -> None:
    out = gaze.analyze([(0.0, 0.0)] * 5, 640, 480)
    assert not out.available and out.direction is GazeDirection.UNKNOWN
