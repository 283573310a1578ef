"""Gaze analysis: iris position, head pose, blinks and mouth opening of the primary face. The gaze
and face deployments (``deployments/gaze.py``, ``deployments/face.py``) wrap :class:`GazeAnalyzer`.

It reads the 68 landmarks and a small grey eye-band crop from the face analysis (never the
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
from pydantic import BaseModel, Field

from integrity.core.config import YamlConfig
from integrity.core.enums import GazeDirection, LidState
from integrity.core.geometry import rotation_deg
from integrity.core.results import (
    EyeIris,
    EyePatch,
    EyeScores,
    EyeSide,
    FaceAnalysis,
    GazeAnalysis,
    GazeAngles,
    GazeMethod,
    GazeNeutral,
    HeadPose,
    IrisReading,
    LidReading,
    MeshReading,
    ModelStatus,
)
from integrity.vision.iris import IrisParams, eye_darkness, locate_iris

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
_SIDES: tuple[EyeSide, EyeSide] = ("image_left", "image_right")
_RIGHT_EYE = list(range(36, 42))
_LEFT_EYE = list(range(42, 48))
_INNER_LIPS = list(range(60, 68))


class GazeConfig(YamlConfig):
    """configs/gaze.yaml: per-frame gaze thresholds (degrees relative to the candidate's neutral)."""

    # iris localisation
    min_eye_span_px: float = Field(12.0, ge=4, description="narrower eyes (frame px) get no iris reading")
    min_mesh_eye_span_px: float = Field(
        8.0, ge=4, description="the same with the Face Landmarker (its points come from the whole face)"
    )
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
    eyes_off_total_deg: float = Field(
        30.0, gt=0, description="head plus eyes this far off (however split) is off the screen too"
    )
    head_yaw_limit_deg: float = Field(30.0, gt=0)
    head_pitch_limit_deg: float = Field(25.0, gt=0)
    # blinks, lowered lids and attention
    blink_ratio: float = Field(0.7, gt=0, lt=1, description="EAR below this share of the neutral EAR: closed")
    lid_down_deg: float = Field(
        12.0, gt=0, description="upper lid lowered this far from neutral (as an eye rotation): lowered"
    )
    max_lower_lid_raise: float = Field(
        0.03, ge=0, description="eye widths: a lower lid risen further meets the upper one (closing)"
    )
    # covered eyes (a hand, a cup, hair): no darker than the skin around them
    min_eye_darkness: float = Field(0.05, ge=0, lt=1, description="below this an eye is covered")
    covered_darkness_ratio: float = Field(
        0.4, ge=0, lt=1, description="...or below this share of the candidate's calibrated darkness"
    )
    mouth_covered_contrast: float = Field(
        0.0, description="lips no darker than the cheeks by this (grey levels): the mouth is covered"
    )
    mouth_covered_rise: float = Field(
        30.0, gt=0, description="...and lighter than the candidate's calibrated contrast by this much"
    )
    # Face Landmarker blendshapes (ignored with dlib's points)
    blendshape_pitch_deg: float = Field(
        50.0, gt=0, description="eye pitch per unit of (eyeLookUp - eyeLookDown) away from neutral"
    )
    down_score_decisive: float = Field(
        0.2, gt=0, le=1, description="eyeLookDown this far above neutral: lowered lids, not closing"
    )
    blink_score: float = Field(
        0.5, gt=0, le=1, description="eyeBlink below this: narrowed eyes are not closed"
    )
    smile_score: float = Field(
        0.5, gt=0, le=1, description="mouthSmile at or above this: narrowed eyes are the smile's"
    )
    closed_blink_score: float = Field(
        0.75, gt=0, le=1, description="eyeBlink at or above this: the lids are closing, not looking down"
    )
    smile_lid_down_deg: float = Field(
        24.0, gt=0, description="under a smile, the upper lid itself down this far: a look down all the same"
    )
    attention_free_deg: float = Field(10.0, ge=0)
    attention_per_deg: float = Field(2.5, ge=0)


def eye_aspect_ratio(points: NDArray[np.float64]) -> float:
    """(|p1-p5| + |p2-p4|) / (2 |p0-p3|) over the six points of one eye (Soukupova & Cech)."""
    vertical = np.linalg.norm(points[1] - points[5]) + np.linalg.norm(points[2] - points[4])
    horizontal = 2.0 * np.linalg.norm(points[0] - points[3])
    return float(vertical / horizontal) if horizontal > 0 else 0.0


def lid_heights(points: NDArray[np.float64]) -> tuple[float, float]:
    """Upper lid above and lower lid below the corner line, in eye widths, over one eye's six points.

    Measured perpendicular to the corner line, so head roll does not change them.
    """
    axis = points[3] - points[0]
    span = float(np.hypot(axis[0], axis[1]))
    if span <= 0:
        return 0.0, 0.0
    down = np.array([-axis[1], axis[0]]) / span  # unit normal pointing down the image
    upper = -float(((points[[1, 2]] - points[0]) @ down).mean()) / span
    lower = float(((points[[4, 5]] - points[0]) @ down).mean()) / span
    return upper, lower


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


class EyeMeasure(BaseModel):
    """One eye as measured: size, lids, darkness and iris (no judgement)."""

    side: EyeSide
    span_px: float = Field(description="corner to corner, frame pixels")
    upper: float = Field(description="upper lid above the corner line, eye widths")
    lower: float = Field(description="lower lid below the corner line, eye widths")
    aspect_ratio: float
    darkness: float | None = Field(None, description="None: too small to read, or no eye pixels")
    iris: EyeIris | None = Field(None, description="a confident iris reading")
    iris_absent: bool = Field(False, description="large enough to read, and no iris in it")


class GazeMeasures(BaseModel):
    """What one face's landmarks and eye pixels show. The judgement against the candidate's neutral
    (:meth:`GazeAnalyzer.judge`) is separate, so the session's rules can be exercised on measures."""

    pose: HeadPose | None
    eyes: list[EyeMeasure] = Field(min_length=1)
    mouth_aspect_ratio: float
    mouth_width_px: float
    blendshapes: dict[str, float] = Field(
        default_factory=dict, description="the Face Landmarker's scores (empty with dlib's points)"
    )
    mouth_contrast: float | None = Field(None, description="lips against the cheeks (the face stage's)")


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
            "lid_down_deg": config.lid_down_deg,
            "max_lower_lid_raise": config.max_lower_lid_raise,
            "eyes_off_total_deg": config.eyes_off_total_deg,
            "min_eye_span_px": config.min_eye_span_px,
        }
        # With the Face Landmarker the eyes are readable from a smaller width (min_mesh_eye_span_px).
        self.mesh_limits = {**self.limits, "min_eye_span_px": config.min_mesh_eye_span_px}

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
        mesh: MeshReading | None = None,
        mouth_contrast: float | None = None,
    ) -> GazeAnalysis:
        started = time.perf_counter()
        measures = self.measure(landmarks, image_width, image_height, eye_patch, mesh, mouth_contrast)
        if measures is None:
            return GazeAnalysis(available=False, method="none", failure="no landmarks")
        result = self.judge(measures, neutral or GazeNeutral())
        result.timings_ms["gaze"] = round((time.perf_counter() - started) * 1000, 3)
        return result

    def analyze_face(self, face: FaceAnalysis, neutral: GazeNeutral | None = None) -> GazeAnalysis | None:
        """The gaze of the face stage's main face (None without one): its points, the eye crop and,
        with the Face Landmarker, its mesh."""
        if face.primary is None:
            return None
        main = face.faces[face.primary]
        return self.analyze(
            main.landmarks,
            face.image_width,
            face.image_height,
            face.eye_patch,
            neutral,
            main.mesh,
            main.mouth_contrast,
        )

    # -- measuring: what the landmarks and eye pixels show, with no neutral involved ----------------
    def measure(
        self,
        landmarks: list[tuple[float, float]],
        image_width: int,
        image_height: int,
        eye_patch: EyePatch | None = None,
        mesh: MeshReading | None = None,
        mouth_contrast: float | None = None,
    ) -> GazeMeasures | None:
        """Head pose, eye and mouth openings, lids, darkness and irises of one face; None without
        the 68 points. With the Face Landmarker's ``mesh``, the irises are the mesh's and the pose
        is the mesh's own; otherwise the iris is found in the eye crop and the pose fitted to a
        generic six-point head (solvePnP)."""
        points = np.asarray(landmarks, dtype=np.float64)
        if points.shape != (68, 2):
            return None
        gray = origin = None
        if eye_patch is not None:
            gray = np.frombuffer(eye_patch.pixels, np.uint8).reshape(eye_patch.height, eye_patch.width)
            origin = np.asarray(eye_patch.origin, dtype=np.float64)
        eyes = []
        for side, indices in zip(_SIDES, (_RIGHT_EYE, _LEFT_EYE), strict=True):
            eye = points[indices]
            upper, lower = lid_heights(eye)
            measure = EyeMeasure(
                side=side,
                span_px=round(float(np.linalg.norm(eye[3] - eye[0])), 2),
                upper=upper,
                lower=lower,
                aspect_ratio=eye_aspect_ratio(eye),
            )
            readable = measure.span_px >= self.min_span(mesh is not None)
            if readable and gray is not None and origin is not None and eye_patch is not None:
                local = (eye - origin) * eye_patch.scale
                measure.darkness = eye_darkness(gray, local)
                if mesh is None:
                    measure.iris, measure.iris_absent = self._locate(side, gray, local, origin, eye_patch)
            if readable and mesh is not None:
                measure.iris = _mesh_iris(side, eye, mesh)
            eyes.append(measure)
        return GazeMeasures(
            pose=head_pose(points, image_width, image_height) if mesh is None else mesh.pose,
            eyes=eyes,
            mouth_aspect_ratio=mouth_aspect_ratio(points[_INNER_LIPS]),
            mouth_width_px=round(float(np.linalg.norm(points[48] - points[54])), 2),
            blendshapes=mesh.blendshapes if mesh is not None else {},
            mouth_contrast=mouth_contrast,
        )

    def _locate(
        self,
        side: EyeSide,
        gray: NDArray[np.uint8],
        eye: NDArray[np.float64],
        origin: NDArray[np.float64],
        patch: EyePatch,
    ) -> tuple[EyeIris | None, bool]:
        """The eye's iris when confidently read, and whether the eye shows no iris at all (no dark
        iris against the rest of the opening)."""
        found = locate_iris(gray, eye, self.iris_params)
        if found is None or found.contrast < self.iris_params.min_contrast:
            return None, True
        if found.confidence < self.config.min_iris_confidence:
            return None, False
        center = origin + np.asarray(found.center) / patch.scale
        iris = EyeIris(
            side=side,
            h_ratio=round(found.h, 4),
            v_ratio=round(found.v, 4),
            confidence=found.confidence,
            center=(round(float(center[0]), 2), round(float(center[1]), 2)),
        )
        return iris, False

    # -- judging: the measures against the candidate's neutral ---------------------------------------
    def judge(self, measures: GazeMeasures, neutral: GazeNeutral) -> GazeAnalysis:
        """Blink, lids, covered eyes, iris, direction and the per-frame conditions of one measured
        face, relative to the candidate's neutral."""
        cfg = self.config
        pose = measures.pose
        ear = sum(e.aspect_ratio for e in measures.eyes) / len(measures.eyes)
        scores = eye_scores(measures.blendshapes)
        # Narrowed eyes are closed only when the blendshapes (where there are) agree: looking down
        # narrows them too.
        blink = ear < cfg.blink_ratio * neutral.eye_aspect_ratio and (
            scores is None or scores.blink >= cfg.blink_score
        )
        head_pitch = 0.0 if pose is None else pose.pitch - neutral.pitch
        lids = self.lids(measures, neutral, blink, head_pitch, scores)
        darkness, covered = self.darkness(measures, neutral)
        iris, no_iris = (None, []) if blink else self.iris(measures)
        if lids.state is not LidState.OPEN:
            no_iris = []  # lowered lids hide the iris by nature: that is not an occlusion
        unreadable = [side for side in _SIDES if side in covered or side in no_iris]
        if unreadable:
            iris = None  # an eye covered, or open with no iris in it: trust neither eye
        result = GazeAnalysis(
            available=pose is not None,
            head_pose=pose,
            iris=iris,
            eye_aspect_ratio=round(ear, 4),
            mouth_aspect_ratio=round(measures.mouth_aspect_ratio, 4),
            mouth_width_px=measures.mouth_width_px,
            eye_span_px=min(e.span_px for e in measures.eyes),
            blink=blink,
            lids=lids,
            eye_darkness=darkness,
            mouth_contrast=measures.mouth_contrast,
            mouth_covered=self.mouth_covered(measures.mouth_contrast, neutral),
            unreadable_eyes=unreadable,
            limits=self.mesh_limits if measures.blendshapes else self.limits,
            neutral=neutral,
            eye_scores=scores,
            method=_method(pose is not None, iris is not None, lids.state, bool(unreadable)),
            failure="head pose could not be solved" if pose is None else None,
        )
        if pose is not None:
            result = self._judge(result, pose, iris, neutral)
        return result

    def lids(
        self,
        measures: GazeMeasures,
        neutral: GazeNeutral,
        blink: bool,
        head_pitch: float = 0.0,
        scores: EyeScores | None = None,
    ) -> LidReading:
        """Both eyes' lids against the neutral: open, lowered (as when looking down) or closed.

        Lowered: on both eyes (they look down together; a wink closes one), each large enough to
        read (``min_eye_span_px``), the upper lid is down by at least half of ``lid_down_deg`` and,
        counting a head pitched down, by ``lid_down_deg``, while the lower lid has not risen to
        meet it. With the Face Landmarker's blendshapes the eyes themselves say it: lids lowered
        over eyes looking down (``down_score_decisive``) are not closing, wherever the lower lid is.
        """
        cfg = self.config
        eyes = measures.eyes
        # The upper lid rides on the eyeball: its move from neutral is an eye rotation.
        pitches = [rotation_deg(e.upper - neutral.upper_lid, cfg.eyeball_radius) for e in eyes]
        raises = [neutral.lower_lid - e.lower for e in eyes]
        head_down = min(0.0, head_pitch)
        looking_down = self._looks_down(scores, neutral)
        # A smile narrows the eyes mostly from below and drops the upper lid a little: under one,
        # only an upper lid down further than a smile takes it says the eyes turned down.
        lid_floor = -cfg.smile_lid_down_deg if self._smiling(scores) else -cfg.lid_down_deg / 2
        lowered = min(e.span_px for e in eyes) >= self.min_span(bool(measures.blendshapes)) and all(
            pitch <= lid_floor
            and pitch + head_down <= -cfg.lid_down_deg
            and (raise_ <= cfg.max_lower_lid_raise or looking_down)
            for pitch, raise_ in zip(pitches, raises, strict=True)
        )
        state = LidState.LOWERED if lowered else (LidState.CLOSED if blink else LidState.OPEN)
        return LidReading(
            upper=round(sum(e.upper for e in eyes) / len(eyes), 4),
            lower=round(sum(e.lower for e in eyes) / len(eyes), 4),
            pitch_deg=round(sum(pitches) / len(pitches), 2),
            lower_raise=round(sum(raises) / len(raises), 4),
            state=state,
        )

    def darkness(self, measures: GazeMeasures, neutral: GazeNeutral) -> tuple[float | None, list[EyeSide]]:
        """How dark the eyes are against the skin around them (mean), and the eyes that are not:
        below ``min_eye_darkness``, or below ``covered_darkness_ratio`` of the calibrated value."""
        cfg = self.config
        floor = cfg.min_eye_darkness
        if neutral.eye_darkness is not None:
            floor = max(floor, cfg.covered_darkness_ratio * neutral.eye_darkness)
        values = [e.darkness for e in measures.eyes if e.darkness is not None]
        covered = [e.side for e in measures.eyes if e.darkness is not None and e.darkness < floor]
        return (round(sum(values) / len(values), 4) if values else None), covered

    def mouth_covered(self, contrast: float | None, neutral: GazeNeutral) -> bool:
        """Lips no darker than the cheeks (``mouth_covered_contrast``) and, where the candidate's
        own contrast is calibrated, lighter than it by ``mouth_covered_rise``: a cup, a hand or a
        sleeve in front of the mouth (lips are darker than the cheeks on every face measured)."""
        cfg = self.config
        if contrast is None:
            return False
        floor = cfg.mouth_covered_contrast
        if neutral.mouth_contrast is not None:
            floor = max(floor, neutral.mouth_contrast + cfg.mouth_covered_rise)
        return contrast >= floor

    @staticmethod
    def iris(measures: GazeMeasures) -> tuple[IrisReading | None, list[EyeSide]]:
        """Both irises, weighted by confidence (None when no eye gives a confident reading), and the
        eyes large enough to read that show no iris at all."""
        eyes = [e.iris for e in measures.eyes if e.iris is not None]
        unreadable = [e.side for e in measures.eyes if e.iris_absent]
        if not eyes:
            return None, unreadable
        weights = np.array([e.confidence for e in eyes])
        reading = IrisReading(
            h_ratio=round(float(np.average([e.h_ratio for e in eyes], weights=weights)), 4),
            v_ratio=round(float(np.average([e.v_ratio for e in eyes], weights=weights)), 4),
            confidence=round(float(weights.max()), 3),
            eyes=eyes,
        )
        return reading, unreadable

    def min_span(self, mesh: bool) -> float:
        """Eyes narrower than this (frame px) are too small to read: the Face Landmarker regresses
        its eye points from the whole face crop, the dark-area iris search needs the pixels."""
        return self.config.min_mesh_eye_span_px if mesh else self.config.min_eye_span_px

    def _score_pitch(self, scores: EyeScores | None, neutral: GazeNeutral) -> float | None:
        """Eye-in-head pitch (degrees, up positive) from the look blendshapes against the
        candidate's neutral ones; None without them."""
        if scores is None or neutral.look_down is None or neutral.look_up is None:
            return None
        down = scores.down - neutral.look_down
        if self._smiling(scores):
            down = min(0.0, down)  # the smile's narrowed eyes read as eyeLookDown: not a look down
        lift = (scores.up - neutral.look_up) - down
        return self.config.blendshape_pitch_deg * lift

    def _smiling(self, scores: EyeScores | None) -> bool:
        """A broad smile raises the cheeks and narrows the eyes, which the lids and the blendshapes
        (eyeLookDown) read exactly as a look down: then neither is evidence of one."""
        return scores is not None and scores.smile >= self.config.smile_score

    def _looks_down(self, scores: EyeScores | None, neutral: GazeNeutral) -> bool:
        cfg = self.config
        return (
            scores is not None
            and neutral.look_down is not None
            and scores.down - neutral.look_down >= cfg.down_score_decisive
            and scores.blink < cfg.closed_blink_score
        )

    def _judge(
        self, result: GazeAnalysis, pose: HeadPose, iris: IrisReading | None, neutral: GazeNeutral
    ) -> GazeAnalysis:
        """Direction, attention and the per-frame conditions, relative to the neutral pose."""
        cfg = self.config
        lids = result.lids
        # Lowered lids over a covered eye are not a look down: the landmarks are guessing there.
        lowered = lids is not None and lids.state is LidState.LOWERED and not result.unreadable_eyes
        head_yaw, head_pitch = pose.yaw - neutral.yaw, pose.pitch - neutral.pitch
        eye_yaw = eye_pitch = None
        if iris is not None:
            # The iris moves on a sphere: offset = radius * sin(angle). Image y grows downward.
            eye_yaw = rotation_deg(iris.h_ratio - neutral.h_ratio, cfg.eyeball_radius)
            eye_pitch = -rotation_deg(iris.v_ratio - neutral.v_ratio, cfg.eyeball_radius)
            pitch_scores = self._score_pitch(result.eye_scores, neutral)
            if pitch_scores is not None:
                # The iris's height between the lids moves little with the eye's pitch (the lids
                # follow it); the blendshapes, trained on many faces, carry it better.
                eye_pitch = pitch_scores
        gaze_yaw = head_yaw + (eye_yaw or 0.0)
        gaze_pitch = head_pitch + (eye_pitch or 0.0)
        if lowered and lids is not None:
            # Under a lowered lid the iris is mostly hidden (what shows is unreliable, sideways
            # too); the lid itself follows the eye down. The pose fit reads the head a little up
            # when the lids come down (its eye corners move with them), so only a head pitched
            # down adds to the lids.
            eye_yaw, eye_pitch = None, lids.pitch_deg
            gaze_yaw, gaze_pitch = head_yaw, min(0.0, head_pitch) + lids.pitch_deg

        # Without an eye reading the head alone decides, and it is judged by the (wider) head
        # limits: head pose from a small face's landmarks wobbles by 10+ degrees between frames.
        eyes_read = eye_yaw is not None or eye_pitch is not None
        yaw_limit = cfg.gaze_yaw_limit_deg if eyes_read else cfg.head_yaw_limit_deg
        pitch_limit = cfg.gaze_pitch_limit_deg if eyes_read else cfg.head_pitch_limit_deg
        judged = _direction(gaze_yaw, gaze_pitch, yaw_limit, pitch_limit)
        if (
            eye_yaw is not None
            and eye_pitch is not None
            and abs(gaze_yaw) >= yaw_limit
            and gaze_pitch <= -pitch_limit
            and -eye_pitch >= max(cfg.eyes_off_min_eye_deg, abs(eye_yaw))
        ):
            # Off both ways at once (head turned, eyes down at the hands): the head turns toward a
            # target coarsely and the eyes finish the move, so eyes rotated further down than aside
            # in the head look at something below the screen (hands, desk, lap), not beside it.
            judged = GazeDirection.DOWN
        eyes_off: bool | None = None
        if lowered:
            # Lids lowered on both eyes with the lower lid in place, held longer than a blink (the
            # session checks that): the eyes look down, below the screen, unless the head is
            # turned further aside. The lids measure the eyes' pitch, not their yaw.
            if abs(gaze_yaw) >= cfg.head_yaw_limit_deg and abs(gaze_yaw) >= abs(gaze_pitch):
                judged = GazeDirection.RIGHT if gaze_yaw > 0 else GazeDirection.LEFT
            elif gaze_pitch <= -cfg.lid_down_deg:
                judged = GazeDirection.DOWN
            else:
                judged = GazeDirection.CENTER
            eyes_off = judged is GazeDirection.DOWN
        elif eye_yaw is not None and eye_pitch is not None:
            sideways = abs(gaze_yaw) >= cfg.eyes_off_yaw_deg and abs(eye_yaw) >= cfg.eyes_off_min_eye_deg
            vertical = (
                abs(gaze_pitch) >= cfg.eyes_off_pitch_deg and abs(eye_pitch) >= cfg.eyes_off_min_eye_deg
            )
            # Head and eyes each under their limit can still add up to a gaze far off the screen.
            total = math.hypot(gaze_yaw, gaze_pitch) >= cfg.eyes_off_total_deg
            eyes_off = sideways or vertical or total
        # A head turned while the eyes stay on the screen (they rotate back) is not looking away;
        # without an iris reading the head alone decides.
        head_turned = (
            abs(head_yaw) >= cfg.head_yaw_limit_deg and abs(gaze_yaw) >= cfg.gaze_yaw_limit_deg
        ) or (abs(head_pitch) >= cfg.head_pitch_limit_deg and abs(gaze_pitch) >= cfg.gaze_pitch_limit_deg)

        direction = judged
        update: dict[str, object] = {}
        if lowered and lids is not None:
            update["lids"] = lids.model_copy(
                update={"held_direction": judged, "held_eyes_off_screen": eyes_off}
            )
            # One frame cannot tell a look down from the start of a blink (real blinks read as
            # eyes looking down on some frames, blendshapes too): the session decides, by how long
            # the lids stay lowered, whether these become the answer.
            direction, eyes_off = GazeDirection.UNKNOWN, None
        elif result.blink or result.unreadable_eyes:
            # Closed eyes, or an eye that shows no iris (a hand, a cup, hair?): never guess.
            direction, eyes_off = GazeDirection.UNKNOWN, None
        deviation = math.hypot(gaze_yaw, gaze_pitch)
        attention = 100.0 - cfg.attention_per_deg * max(0.0, deviation - cfg.attention_free_deg)
        return result.model_copy(
            update={
                **update,
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


def _mesh_iris(side: EyeSide, eye: NDArray[np.float64], mesh: MeshReading) -> EyeIris:
    """The mesh's iris centre of one eye, placed as the crop's iris is: along the corner line from
    the image-left corner (0) to the image-right one (1), and across it in eye widths (down +)."""
    centre = np.asarray(mesh.irises[_SIDES.index(side)], dtype=np.float64)
    axis = eye[3] - eye[0]
    span = float(np.hypot(axis[0], axis[1]))
    along = axis / span
    down = np.array([-along[1], along[0]])
    offset = centre - eye[0]
    return EyeIris(
        side=side,
        h_ratio=round(float(offset @ along) / span, 4),
        v_ratio=round(float(offset @ down) / span, 4),
        confidence=round(mesh.presence, 3),
        center=(round(float(centre[0]), 2), round(float(centre[1]), 2)),
    )


def eye_scores(blendshapes: dict[str, float]) -> EyeScores | None:
    """Both eyes' look and lid blendshapes averaged; None without blendshapes. Looking toward
    image-left turns the subject's left eye in and right eye out (and the other way round)."""
    if not blendshapes:
        return None

    def mean(a: str, b: str) -> float:
        return round((blendshapes.get(a, 0.0) + blendshapes.get(b, 0.0)) / 2, 4)

    return EyeScores(
        down=mean("eyeLookDownLeft", "eyeLookDownRight"),
        up=mean("eyeLookUpLeft", "eyeLookUpRight"),
        left=mean("eyeLookInLeft", "eyeLookOutRight"),
        right=mean("eyeLookOutLeft", "eyeLookInRight"),
        blink=mean("eyeBlinkLeft", "eyeBlinkRight"),
        blink_one=round(max(blendshapes.get("eyeBlinkLeft", 0.0), blendshapes.get("eyeBlinkRight", 0.0)), 4),
        squint=mean("eyeSquintLeft", "eyeSquintRight"),
        smile=mean("mouthSmileLeft", "mouthSmileRight"),
    )


def _direction(yaw: float, pitch: float, yaw_limit: float, pitch_limit: float) -> GazeDirection:
    if abs(yaw) >= yaw_limit and abs(yaw) >= abs(pitch):
        return GazeDirection.RIGHT if yaw > 0 else GazeDirection.LEFT
    if abs(pitch) >= pitch_limit:
        return GazeDirection.UP if pitch > 0 else GazeDirection.DOWN
    return GazeDirection.CENTER


def _method(posed: bool, iris: bool, lids: LidState, unreadable: bool) -> GazeMethod:
    if not posed or unreadable:
        return "none"
    if lids is LidState.LOWERED:
        return "lids+head_pose"
    return "iris+head_pose" if iris else "head_pose"
