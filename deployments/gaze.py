"""Gaze deployment: head pose, blinks and mouth opening from the 68 landmarks of the primary face.

It receives the landmarks and a small grey eye-band crop from the face deployment (never the full
frame). This version derives the direction from the head pose alone and says so
(``method="head_pose"``); the eye crop is there for iris localisation, which it does not do yet.
"""

from __future__ import annotations

import math
import time
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import Field
from ray import serve

from deployments.results import EyePatch, GazeAnalysis, HeadPose, ModelStatus
from serve_app.config_files import YamlConfig
from serve_app.domain import GazeDirection

# A generic face in millimetres (x right, y up, z toward the camera), for the points below.
_MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),  # 30 nose tip
        (0.0, -63.6, -12.5),  # 8 chin
        (-43.3, 32.7, -26.0),  # 36 outer corner of the eye on image-left
        (43.3, 32.7, -26.0),  # 45 outer corner of the eye on image-right
        (-28.9, -28.9, -24.1),  # 48 mouth corner on image-left
        (28.9, -28.9, -24.1),  # 54 mouth corner on image-right
    ],
    dtype=np.float64,
)
_POSE_INDICES = [30, 8, 36, 45, 48, 54]
_RIGHT_EYE = list(range(36, 42))
_LEFT_EYE = list(range(42, 48))
_INNER_LIPS = list(range(60, 68))


class GazeConfig(YamlConfig):
    """configs/gaze.yaml."""

    yaw_limit_deg: float = Field(20.0, gt=0)
    pitch_limit_deg: float = Field(15.0, gt=0)
    blink_ear: float = Field(0.18, ge=0)
    attention_free_deg: float = Field(10.0, ge=0)
    attention_per_deg: float = Field(2.0, ge=0)


def eye_aspect_ratio(points: NDArray[np.float64]) -> float:
    """(|p1-p5| + |p2-p4|) / (2 |p0-p3|) over the six points of one eye (Soukupova & Cech)."""
    vertical = np.linalg.norm(points[1] - points[5]) + np.linalg.norm(points[2] - points[4])
    horizontal = 2.0 * np.linalg.norm(points[0] - points[3])
    return float(vertical / horizontal) if horizontal > 0 else 0.0


def mouth_aspect_ratio(inner_lips: NDArray[np.float64]) -> float:
    """Inner-lip opening over mouth width (0 when closed)."""
    width = np.linalg.norm(inner_lips[0] - inner_lips[4])
    opening = (
        np.linalg.norm(inner_lips[1] - inner_lips[7])
        + np.linalg.norm(inner_lips[2] - inner_lips[6])
        + np.linalg.norm(inner_lips[3] - inner_lips[5])
    ) / 3.0
    return float(opening / width) if width > 0 else 0.0


def head_pose(landmarks: NDArray[np.float64], width: int, height: int) -> HeadPose | None:
    """Yaw/pitch/roll from solvePnP with a pinhole camera guessed from the frame size."""
    image_points = landmarks[_POSE_INDICES].astype(np.float64)
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2.0], [0, focal, height / 2.0], [0, 0, 1]], dtype=np.float64)
    # Flip the model's y (up) to the image's y (down) so the fitted rotation reads naturally.
    model = _MODEL_POINTS * np.array([1.0, -1.0, -1.0])
    # The iterative solver can land on a mirrored solution (roll near 180 degrees) from either
    # start: solve from its own start and from a frontal face at the distance the eye span implies,
    # and keep the fit with the smaller reprojection error.
    eye_span = float(np.linalg.norm(image_points[3] - image_points[2])) or 1.0
    guess_r = np.zeros((3, 1), dtype=np.float64)
    guess_t = np.array([[0.0], [0.0], [focal * (2 * 43.3) / eye_span]], dtype=np.float64)
    best: tuple[float, Any] | None = None
    for use_guess in (False, True):
        ok, rvec, tvec = cv2.solvePnP(
            model,
            image_points,
            camera,
            np.zeros(4),
            guess_r.copy(),
            guess_t.copy(),
            use_guess,
            flags=cv2.SOLVEPNP_ITERATIVE,
        )
        if not ok:
            continue
        projected, _ = cv2.projectPoints(model, rvec, tvec, camera, np.zeros(4))
        error = float(np.linalg.norm(projected.reshape(-1, 2) - image_points, axis=1).mean())
        if best is None or error < best[0]:
            best = (error, rvec)
    if best is None:
        return None
    rvec = best[1]
    rotation, _ = cv2.Rodrigues(rvec)
    # Euler angles of R = Rz(roll) Ry(yaw) Rx(pitch), in the camera frame (x right, y down, z ahead).
    yaw = math.degrees(math.asin(-max(-1.0, min(1.0, rotation[2, 0]))))
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return HeadPose(yaw=round(-yaw, 2), pitch=round(-pitch, 2), roll=round(roll, 2))


class GazeAnalyzer:
    """Landmark geometry to gaze direction and attention; no transport code."""

    def __init__(self, config: GazeConfig) -> None:
        self.config = config

    def load(self) -> None:
        return None  # geometry only: nothing to load

    @property
    def status(self) -> ModelStatus:
        return ModelStatus(available=True, detail="head pose (solvePnP) + eye/mouth aspect ratios")

    def analyze(
        self,
        landmarks: list[tuple[float, float]],
        image_width: int,
        image_height: int,
        eye_patch: EyePatch | None = None,
    ) -> GazeAnalysis:
        started = time.perf_counter()
        cfg = self.config
        points = np.asarray(landmarks, dtype=np.float64)
        if points.shape != (68, 2):
            return GazeAnalysis(available=False, direction=GazeDirection.UNKNOWN, attention=0.0)
        pose = head_pose(points, image_width, image_height)
        ear = (eye_aspect_ratio(points[_RIGHT_EYE]) + eye_aspect_ratio(points[_LEFT_EYE])) / 2.0
        mar = mouth_aspect_ratio(points[_INNER_LIPS])
        blink = ear < cfg.blink_ear

        direction = GazeDirection.UNKNOWN
        attention = 0.0
        if pose is not None:
            if abs(pose.yaw) > cfg.yaw_limit_deg and abs(pose.yaw) >= abs(pose.pitch):
                direction = GazeDirection.RIGHT if pose.yaw > 0 else GazeDirection.LEFT
            elif abs(pose.pitch) > cfg.pitch_limit_deg:
                direction = GazeDirection.UP if pose.pitch > 0 else GazeDirection.DOWN
            else:
                direction = GazeDirection.CENTER
            excess = max(0.0, abs(pose.yaw) - cfg.attention_free_deg) + max(
                0.0, abs(pose.pitch) - cfg.attention_free_deg
            )
            attention = max(0.0, min(100.0, 100.0 - cfg.attention_per_deg * excess))
        return GazeAnalysis(
            available=True,
            direction=direction,
            attention=round(attention, 1),
            head_pose=pose,
            eye_aspect_ratio=round(ear, 4),
            mouth_aspect_ratio=round(mar, 4),
            blink=blink,
            method="head_pose",
            timings_ms={"gaze": round((time.perf_counter() - started) * 1000, 3)},
        )


@serve.deployment(name="gaze", ray_actor_options={"num_cpus": 0.25})
class GazeDeployment:
    def __init__(self, config: GazeConfig) -> None:
        self.analyzer = GazeAnalyzer(config)
        self.analyzer.load()

    def status(self) -> ModelStatus:
        return self.analyzer.status

    def analyze(
        self,
        landmarks: list[tuple[float, float]],
        image_width: int,
        image_height: int,
        eye_patch: EyePatch | None = None,
    ) -> GazeAnalysis:
        return self.analyzer.analyze(landmarks, image_width, image_height, eye_patch)
