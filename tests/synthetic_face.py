"""Synthetic faces: 68 landmarks from a real frontal face (A02, centred) plus a rendered eye image.

Each knob moves the landmarks the way the real feature moves them: ``h``/``v`` place the irises in
the eye openings, ``eye_open`` closes the lids toward the corner line (a blink: both lids meet),
``lid_drop`` lowers only the upper lid toward it (a look down: the lower lid stays),
``mouth_open`` parts the inner lips (mouth aspect ratio ~ ``mouth_open``), ``yaw_px`` shifts the
nose and chin sideways (a head turn to solvePnP). The eye image is drawn with sclera, iris and
pupil so the iris locator runs on pixels, not on numbers handed to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from integrity.core.results import EyePatch

# dlib's 68 points on A02_frontal_portrait_man.png, centred on their mean (a 130 px face).
TEMPLATE = np.array(
    [
        (-68.9, -13.2), (-66.9, 1.8), (-64.9, 16.8), (-61.9, 31.8), (-54.9, 45.8), (-43.9, 55.8),
        (-28.9, 62.8), (-13.9, 66.8), (3.1, 67.8), (20.1, 66.8), (36.1, 61.8), (50.1, 53.8),
        (59.1, 41.8), (64.1, 27.8), (65.1, 10.8), (65.1, -6.2), (65.1, -22.2), (-55.9, -34.2),
        (-49.9, -46.2), (-38.9, -53.2), (-25.9, -56.2), (-12.9, -54.2), (7.1, -56.2), (19.1, -59.2),
        (32.1, -58.2), (43.1, -51.2), (49.1, -41.2), (-1.9, -39.2), (-0.9, -30.2), (-0.9, -21.2),
        (0.1, -11.2), (-12.9, 0.8), (-6.9, 2.8), (0.1, 3.8), (7.1, 1.8), (13.1, -0.2), (-41.9, -29.2),
        (-35.9, -36.2), (-26.9, -37.2), (-18.9, -32.2), (-26.9, -30.2), (-34.9, -29.2), (14.1, -34.2),
        (22.1, -40.2), (31.1, -40.2), (38.1, -35.2), (31.1, -33.2), (23.1, -33.2), (-21.9, 24.8),
        (-13.9, 17.8), (-5.9, 13.8), (1.1, 15.8), (7.1, 13.8), (17.1, 16.8), (27.1, 23.8), (18.1, 26.8),
        (9.1, 28.8), (2.1, 28.8), (-4.9, 28.8), (-12.9, 27.8), (-17.9, 24.8), (-5.9, 20.8), (1.1, 21.8),
        (8.1, 20.8), (23.1, 23.8), (8.1, 21.8), (2.1, 21.8), (-4.9, 21.8),
    ],
    dtype=np.float64,
)  # fmt: skip
WIDTH, HEIGHT = 640, 480
EYES = (slice(36, 42), slice(42, 48))


@dataclass(frozen=True)
class Pose:
    h: float = 0.5  # iris between the eye corners, 0 image-left .. 1 image-right
    v: float = 0.0  # iris below (+) the corner line, in eye widths
    eye_open: float = 1.0  # 1: as in the template, 0: closed
    lid_drop: float = 0.0  # 0: upper lid as in the template, 1: down on the corner line
    mouth_open: float = 0.0  # inner-lip opening over mouth width
    yaw_px: float = 0.0  # nose and chin shift (template pixels): a head turn
    scale: float = 2.0  # face size: 2.0 is a ~260 px face, eyes ~45 px wide


@dataclass(frozen=True)
class SyntheticFace:
    landmarks: list[tuple[float, float]]
    eye_patch: EyePatch
    width: int = WIDTH
    height: int = HEIGHT


def landmarks(pose: Pose) -> NDArray[np.float64]:
    points = TEMPLATE.copy()
    for eye in EYES:
        pts = points[eye]
        line = (pts[0, 1] + pts[3, 1]) / 2.0
        for i in (1, 2, 4, 5):
            pts[i, 1] = line + (pts[i, 1] - line) * max(pose.eye_open, 0.02)
        for i in (1, 2):
            pts[i, 1] = line + (pts[i, 1] - line) * max(1.0 - pose.lid_drop, 0.02)
        points[eye] = pts
    width = float(np.linalg.norm(points[60] - points[64]))
    middle = (points[61:64, 1].mean() + points[65:68, 1].mean()) / 2.0
    half = pose.mouth_open * width / 2.0
    points[61:64, 1] = middle - half
    points[65:68, 1] = middle + half
    points[48:60, 1] += np.where(points[48:60, 1] < middle, -half, half)
    points[[*range(27, 36), 8], 0] += pose.yaw_px
    placed: NDArray[np.float64] = points * pose.scale + np.array([WIDTH / 2.0, HEIGHT / 2.0])
    return placed


def render_eyes(
    points: NDArray[np.float64], pose: Pose, rng: np.random.Generator | None = None
) -> NDArray[np.uint8]:
    """Grey frame with both eyes drawn: skin, sclera inside the lid polygon, iris and pupil."""
    image = np.full((HEIGHT, WIDTH), 150, np.uint8)
    for eye in EYES:
        pts = points[eye]
        opening = np.zeros_like(image)
        cv2.fillPoly(opening, [np.round(pts * 8).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=3)
        span = float(np.linalg.norm(pts[3] - pts[0]))
        center = pts[0] + pose.h * (pts[3] - pts[0]) + np.array([0.0, pose.v * span])
        iris = np.full_like(image, 225)
        cv2.circle(
            iris, np.round(center * 8).astype(int).tolist(), round(0.22 * span * 8), 70, -1, cv2.LINE_AA, 3
        )
        cv2.circle(
            iris, np.round(center * 8).astype(int).tolist(), round(0.09 * span * 8), 25, -1, cv2.LINE_AA, 3
        )
        alpha = opening.astype(np.float32) / 255.0
        image = (image * (1 - alpha) + iris * alpha).astype(np.uint8)
    image = np.asarray(cv2.GaussianBlur(image, (3, 3), 0), dtype=np.uint8)
    if rng is not None:
        image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    return image


def synthetic_face(pose: Pose, rng: np.random.Generator | None = None) -> SyntheticFace:
    points = landmarks(pose)
    image = render_eyes(points, pose, rng)
    patch = EyePatch(width=WIDTH, height=HEIGHT, pixels=image.tobytes(), origin=(0.0, 0.0), scale=1.0)
    return SyntheticFace(landmarks=[(float(x), float(y)) for x, y in points], eye_patch=patch)
