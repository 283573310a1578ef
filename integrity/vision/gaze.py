"""Gaze deployment: iris position, head pose, blinks and mouth opening of the primary face.

It receives the 68 landmarks and a small grey eye-band crop from the face deployment (never the
full frame) plus the session's neutral pose, and judges each frame relative to that neutral:
gaze = head rotation + eye-in-head rotation (from the iris between the eye corners). Stateless:
calibration and everything over time (debounce, blinks per minute, reading sweeps) live in the
session actor.
"""

from __future__ import annotations

import math
import time

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from integrity.core.config import YamlConfig
from integrity.core.enums import GazeDirection
from integrity.core.results import (
    EyeIris,
    EyePatch,
    EyeSide,
    GazeAnalysis,
    GazeAngles,
    GazeNeutral,
    HeadPose,
    IrisReading,
    ModelStatus,
)
from integrity.vision.iris import IrisParams, locate_iris

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
    """configs/gaze.yaml: per-frame gaze thresholds (degrees relative to the candidate's neutral)."""

    # iris localisation
    min_eye_span_px: float = Field(12.0, ge=4, description="narrower eyes (frame px) get no iris reading")
    min_iris_confidence: float = Field(0.3, ge=0, le=1)
    iris_area_ratio: float = Field(0.35, gt=0, lt=1)
    lid_trim: float = Field(0.15, ge=0, lt=1)
    eyeball_radius: float = Field(0.4, gt=0, description="in eye widths: iris offset to eye rotation")
    # direction
    gaze_yaw_limit_deg: float = Field(18.0, gt=0)
    gaze_pitch_limit_deg: float = Field(18.0, gt=0)
    # per-frame conditions the session debounces into events
    eyes_off_yaw_deg: float = Field(20.0, gt=0)
    eyes_off_pitch_deg: float = Field(22.0, gt=0)
    eyes_off_min_eye_deg: float = Field(12.0, ge=0)
    head_yaw_limit_deg: float = Field(30.0, gt=0)
    head_pitch_limit_deg: float = Field(25.0, gt=0)
    # blinks and attention
    blink_ratio: float = Field(0.7, gt=0, lt=1, description="EAR below this share of the neutral EAR: closed")
    attention_free_deg: float = Field(10.0, ge=0)
    attention_per_deg: float = Field(2.5, ge=0)


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
    # SQPnP finds the global optimum (the plain iterative solver can land on a mirrored pose with
    # roll near 180 degrees); one Levenberg-Marquardt pass from it refines the fit. 0.1 ms in all.
    ok, rvec, tvec = cv2.solvePnP(model, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        return None
    rvec, tvec = cv2.solvePnPRefineLM(model, image_points, camera, np.zeros(4), rvec, tvec)
    rotation, _ = cv2.Rodrigues(rvec)
    # Euler angles of R = Rz(roll) Ry(yaw) Rx(pitch), in the camera frame (x right, y down, z ahead).
    yaw = math.degrees(math.asin(-max(-1.0, min(1.0, rotation[2, 0]))))
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return HeadPose(yaw=round(-yaw, 2), pitch=round(-pitch, 2), roll=round(roll, 2))


class GazeAnalyzer:
    """Landmarks + eye crop to iris position, head pose and gaze direction; no transport code."""

    def __init__(self, config: GazeConfig) -> None:
        self.config = config
        self.iris_params = IrisParams(iris_area_ratio=config.iris_area_ratio, lid_trim=config.lid_trim)
        # The thresholds every answer reports with its per-frame conditions (constant per replica).
        self.limits = {
            "gaze_yaw_deg": config.gaze_yaw_limit_deg,
            "gaze_pitch_deg": config.gaze_pitch_limit_deg,
            "eyes_off_yaw_deg": config.eyes_off_yaw_deg,
            "eyes_off_pitch_deg": config.eyes_off_pitch_deg,
            "eyes_off_min_eye_deg": config.eyes_off_min_eye_deg,
            "head_yaw_deg": config.head_yaw_limit_deg,
            "head_pitch_deg": config.head_pitch_limit_deg,
        }

    def load(self) -> None:
        return None  # geometry only: nothing to load

    @property
    def status(self) -> ModelStatus:
        return ModelStatus(
            available=True, detail="iris (gradient centre + dark area) and head pose (solvePnP)"
        )

    def analyze(
        self,
        landmarks: list[tuple[float, float]],
        image_width: int,
        image_height: int,
        eye_patch: EyePatch | None = None,
        neutral: GazeNeutral | None = None,
    ) -> GazeAnalysis:
        started = time.perf_counter()
        cfg = self.config
        neutral = neutral or GazeNeutral()
        points = np.asarray(landmarks, dtype=np.float64)
        if points.shape != (68, 2):
            return GazeAnalysis(available=False, method="none", failure="no landmarks")
        pose = head_pose(points, image_width, image_height)
        ear = (eye_aspect_ratio(points[_RIGHT_EYE]) + eye_aspect_ratio(points[_LEFT_EYE])) / 2.0
        mar = mouth_aspect_ratio(points[_INNER_LIPS])
        blink = ear < cfg.blink_ratio * neutral.eye_aspect_ratio
        iris = None if blink else self.iris(points, eye_patch)
        result = GazeAnalysis(
            available=pose is not None,
            head_pose=pose,
            iris=iris,
            eye_aspect_ratio=round(ear, 4),
            mouth_aspect_ratio=round(mar, 4),
            mouth_width_px=round(float(np.linalg.norm(points[48] - points[54])), 2),
            blink=blink,
            limits=self.limits,
            neutral=neutral,
            method="none" if pose is None else ("iris+head_pose" if iris else "head_pose"),
            failure="head pose could not be solved" if pose is None else None,
        )
        if pose is not None:
            result = self._judge(result, pose, iris, neutral)
        result.timings_ms["gaze"] = round((time.perf_counter() - started) * 1000, 3)
        return result

    def iris(self, points: NDArray[np.float64], eye_patch: EyePatch | None) -> IrisReading | None:
        """Both irises from the eye-band crop; None when no eye gives a confident reading."""
        if eye_patch is None:
            return None
        cfg = self.config
        gray = np.frombuffer(eye_patch.pixels, np.uint8).reshape(eye_patch.height, eye_patch.width)
        origin = np.asarray(eye_patch.origin, dtype=np.float64)
        eyes: list[EyeIris] = []
        sides: tuple[tuple[EyeSide, list[int]], ...] = (
            ("image_left", _RIGHT_EYE),
            ("image_right", _LEFT_EYE),
        )
        for side, indices in sides:
            eye = points[indices]
            if np.linalg.norm(eye[3] - eye[0]) < cfg.min_eye_span_px:
                continue
            found = locate_iris(gray, (eye - origin) * eye_patch.scale, self.iris_params)
            if found is None or found.confidence < cfg.min_iris_confidence:
                continue
            center = origin + np.asarray(found.center) / eye_patch.scale
            eyes.append(
                EyeIris(
                    side=side,
                    h_ratio=round(found.h, 4),
                    v_ratio=round(found.v, 4),
                    confidence=found.confidence,
                    center=(round(float(center[0]), 2), round(float(center[1]), 2)),
                )
            )
        if not eyes:
            return None
        weights = np.array([e.confidence for e in eyes])
        return IrisReading(
            h_ratio=round(float(np.average([e.h_ratio for e in eyes], weights=weights)), 4),
            v_ratio=round(float(np.average([e.v_ratio for e in eyes], weights=weights)), 4),
            confidence=round(float(weights.max()), 3),
            eyes=eyes,
        )

    def _judge(
        self, result: GazeAnalysis, pose: HeadPose, iris: IrisReading | None, neutral: GazeNeutral
    ) -> GazeAnalysis:
        """Direction, attention and the per-frame conditions, relative to the neutral pose."""
        cfg = self.config
        head_yaw, head_pitch = pose.yaw - neutral.yaw, pose.pitch - neutral.pitch
        eye_yaw = eye_pitch = None
        gaze_yaw, gaze_pitch = head_yaw, head_pitch
        if iris is not None:
            # The iris moves on a sphere: offset = radius * sin(angle). Image y grows downward.
            eye_yaw = _asin_deg((iris.h_ratio - neutral.h_ratio) / cfg.eyeball_radius)
            eye_pitch = -_asin_deg((iris.v_ratio - neutral.v_ratio) / cfg.eyeball_radius)
            gaze_yaw, gaze_pitch = head_yaw + eye_yaw, head_pitch + eye_pitch

        # Without an iris the head alone decides, and it is judged by the (wider) head limits: head
        # pose from a small face's landmarks wobbles by 10+ degrees between frames.
        yaw_limit = cfg.gaze_yaw_limit_deg if iris is not None else cfg.head_yaw_limit_deg
        pitch_limit = cfg.gaze_pitch_limit_deg if iris is not None else cfg.head_pitch_limit_deg
        direction = GazeDirection.CENTER
        if result.blink:
            direction = GazeDirection.UNKNOWN
        elif abs(gaze_yaw) >= yaw_limit and abs(gaze_yaw) >= abs(gaze_pitch):
            direction = GazeDirection.RIGHT if gaze_yaw > 0 else GazeDirection.LEFT
        elif abs(gaze_pitch) >= pitch_limit:
            direction = GazeDirection.UP if gaze_pitch > 0 else GazeDirection.DOWN

        eyes_off: bool | None = None
        if eye_yaw is not None and eye_pitch is not None:
            sideways = abs(gaze_yaw) >= cfg.eyes_off_yaw_deg and abs(eye_yaw) >= cfg.eyes_off_min_eye_deg
            vertical = (
                abs(gaze_pitch) >= cfg.eyes_off_pitch_deg and abs(eye_pitch) >= cfg.eyes_off_min_eye_deg
            )
            eyes_off = sideways or vertical
        # A head turned while the eyes stay on the screen (they rotate back) is not looking away;
        # without an iris reading the head alone decides.
        head_turned = (
            abs(head_yaw) >= cfg.head_yaw_limit_deg and abs(gaze_yaw) >= cfg.gaze_yaw_limit_deg
        ) or (abs(head_pitch) >= cfg.head_pitch_limit_deg and abs(gaze_pitch) >= cfg.gaze_pitch_limit_deg)
        deviation = math.hypot(gaze_yaw, gaze_pitch)
        attention = 100.0 - cfg.attention_per_deg * max(0.0, deviation - cfg.attention_free_deg)
        return result.model_copy(
            update={
                "direction": direction,
                "attention": round(max(0.0, min(100.0, attention)), 1),
                "angles": GazeAngles(
                    head_yaw=round(head_yaw, 2),
                    head_pitch=round(head_pitch, 2),
                    eye_yaw=None if eye_yaw is None else round(eye_yaw, 2),
                    eye_pitch=None if eye_pitch is None else round(eye_pitch, 2),
                    gaze_yaw=round(gaze_yaw, 2),
                    gaze_pitch=round(gaze_pitch, 2),
                ),
                "eyes_off_screen": eyes_off,
                "head_turned": head_turned,
            }
        )


def _asin_deg(value: float) -> float:
    return math.degrees(math.asin(max(-1.0, min(1.0, value))))
