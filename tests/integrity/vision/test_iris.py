"""Iris localisation on rendered eyes: position, lighting, noise, closed and tiny eyes."""

from __future__ import annotations

import numpy as np
import pytest

from integrity.vision.iris import IrisParams, locate_iris
from tests.synthetic_face import EYES, Pose, landmarks, render_eyes

PARAMS = IrisParams()


def _eyes(pose: Pose, image: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    points = landmarks(pose)
    gray = render_eyes(points, pose, np.random.default_rng(0)) if image is None else image
    return [(gray, points[eye]) for eye in EYES]


@pytest.mark.parametrize("h", [0.3, 0.4, 0.5, 0.6, 0.7])
def test_iris_found_where_it_was_drawn(h: float) -> None:
    for gray, eye in _eyes(Pose(h=h)):
        found = locate_iris(gray, eye, PARAMS)
        assert found is not None
        assert found.h == pytest.approx(h, abs=0.04)
        assert found.confidence > 0.6


def test_side_light_and_dim_noisy_frames_do_not_move_the_iris() -> None:
    pose = Pose(h=0.35)
    points = landmarks(pose)
    clean = render_eyes(points, pose)
    ramp = np.linspace(1.0, 0.3, clean.shape[1])[None, :]
    side = (clean * ramp).astype(np.uint8)
    rng = np.random.default_rng(5)
    dim = np.clip(clean * 0.35 + rng.normal(0, 6, clean.shape), 0, 255).astype(np.uint8)
    for image in (side, dim):
        for eye in EYES:
            found = locate_iris(image, points[eye], PARAMS)
            assert found is not None and found.h == pytest.approx(0.35, abs=0.05)


def test_center_maps_back_to_frame_pixels() -> None:
    pose = Pose(h=0.65)
    points = landmarks(pose)
    gray = render_eyes(points, pose)
    for eye in EYES:
        pts = points[eye]
        found = locate_iris(gray, pts, PARAMS)
        assert found is not None
        expected = pts[0] + 0.65 * (pts[3] - pts[0])
        span = float(np.linalg.norm(pts[3] - pts[0]))
        assert np.hypot(*(np.asarray(found.center) - expected)) < 0.08 * span


def test_closed_or_tiny_eyes_give_nothing() -> None:
    for gray, eye in _eyes(Pose(eye_open=0.05)):
        assert locate_iris(gray, eye, PARAMS) is None
    for gray, eye in _eyes(Pose(scale=0.3)):
        assert locate_iris(gray, eye, PARAMS) is None


def test_featureless_eye_has_no_confidence() -> None:
    points = landmarks(Pose())
    flat = np.full((480, 640), 128, np.uint8)
    for eye in EYES:
        found = locate_iris(flat, points[eye], PARAMS)
        assert found is None or found.confidence == 0.0
