"""Checks for doubtful face candidates: is this a face, or a dog, a teddy bear, a printed face?

BlazeFace scores a Great Dane's head (fixture A11) like the real face beside it (0.6), so a candidate
below the sure score is counted only when enough independent checks agree, each on a crop around it:

* ``landmarks``: FaceMesh (the landmark model of MediaPipe's face pipeline) on the crop aligned on
  the candidate's eyes, as MediaPipe itself does; its face-presence logit measures how well a face's
  468 landmarks fit there;
* ``hog``: dlib's HOG face detector on the crop scaled so the candidate is ``hog_box_px`` wide: a
  different feature (gradient histograms) and a different training set;
* ``short_range``: BlazeFace's short-range model on a close crop: a face seen from near.

Each costs 1-3 ms on the crop; candidates are checked strongest first, at most
``max_candidates`` per frame, and a check stops as soon as the outcome is decided.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pydantic import Field

from integrity.core.config import ConfigSection
from integrity.core.enums import FaceCheck
from integrity.vision.blazeface import BlazeFace, FaceCandidate
from integrity.vision.imaging import BGRImage

FACE_MESH = "face_landmark.tflite"
FACE_MESH_INPUT = 192


class VerifyConfig(ConfigSection):
    """``verify`` in configs/face.yaml."""

    min_checks: int = Field(2, ge=1, le=3)
    max_candidates: int = Field(4, ge=0)
    landmarks_min_logit: float = 8.0
    landmarks_crop: float = Field(1.5, gt=1)
    hog_min_score: float = -1.1
    hog_box_px: int = Field(100, ge=80)
    hog_margin: float = Field(0.5, ge=0.2)
    short_range_min_score: float = Field(0.75, ge=0, le=1)
    short_range_crop: float = Field(2.2, gt=1)


def square_crop(image: BGRImage, cx: float, cy: float, side: float, out: int) -> BGRImage:
    """The ``side``-pixel square centred on (cx, cy), black outside the frame, resized to ``out``."""
    height, width = image.shape[:2]
    half = side / 2
    x0, y0 = math.floor(cx - half), math.floor(cy - half)
    x1, y1 = math.ceil(cx + half), math.ceil(cy + half)
    region = image[max(0, y0) : max(0, min(height, y1)), max(0, x0) : max(0, min(width, x1))]
    if region.size == 0:
        return np.zeros((out, out, 3), dtype=np.uint8)
    top, left = max(0, -y0), max(0, -x0)
    bottom, right = max(0, y1 - height), max(0, x1 - width)
    if top or left or bottom or right:
        region = cv2.copyMakeBorder(region, top, bottom, left, right, cv2.BORDER_CONSTANT, value=0)
    interpolation = cv2.INTER_AREA if region.shape[1] > out else cv2.INTER_LINEAR
    return cv2.resize(region, (out, out), interpolation=interpolation)


class FaceMesh:
    """FaceMesh run only for its face-presence output; thread-safe (one lock per interpreter)."""

    runtime = "litert"

    def __init__(self, models_dir: Path, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        from integrity.vision.model_files import verified_path

        self.path = verified_path(models_dir, FACE_MESH)
        self._interpreter: Any = Interpreter(model_path=str(self.path), num_threads=max(1, threads))
        self._interpreter.allocate_tensors()
        (inp,) = self._interpreter.get_input_details()
        self._input = int(inp["index"])
        presence = [d for d in self._interpreter.get_output_details() if int(np.prod(d["shape"])) == 1]
        if [int(d) for d in inp["shape"]] != [1, FACE_MESH_INPUT, FACE_MESH_INPUT, 3] or len(presence) != 1:
            raise ValueError(f"{self.path.name}: not the FaceMesh model this code expects")
        self._presence = int(presence[0]["index"])
        self._lock = threading.Lock()

    def presence_logit(self, image: BGRImage, candidate: FaceCandidate, crop: float) -> float:
        """Face-presence logit on the candidate's crop, rotated so its eyes are level (as MediaPipe)."""
        (rx, ry), (lx, ly) = candidate.keypoints[0], candidate.keypoints[1]
        angle = math.degrees(math.atan2(float(ly - ry), float(lx - rx)))
        cx, cy = candidate.centre
        side = crop * max(candidate.width, candidate.height)
        # Crop a square larger by sqrt(2) so the rotation brings no corner in from outside it.
        big = round(FACE_MESH_INPUT * math.sqrt(2))
        square = square_crop(image, cx, cy, side * math.sqrt(2), big)
        rotation = np.asarray(cv2.getRotationMatrix2D((big / 2, big / 2), angle, 1.0), dtype=np.float64)
        rotation[:, 2] -= (big - FACE_MESH_INPUT) / 2
        aligned = cv2.warpAffine(square, rotation, (FACE_MESH_INPUT, FACE_MESH_INPUT), flags=cv2.INTER_LINEAR)
        tensor = aligned[None, :, :, ::-1].astype(np.float32) * np.float32(1 / 255)
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            logit = float(np.asarray(self._interpreter.get_tensor(self._presence)).ravel()[0])
        return logit


class FaceVerifier:
    """Runs the checks on a candidate; the caller holds dlib's lock (``hog`` is a dlib detector)."""

    def __init__(self, config: VerifyConfig, mesh: FaceMesh, short_range: BlazeFace, hog: Any) -> None:
        self.config = config
        self.mesh = mesh
        self.short_range = short_range
        self.hog = hog

    def verify(self, image: BGRImage, candidate: FaceCandidate) -> tuple[list[FaceCheck], dict[str, float]]:
        """(checks passed, measured value per check run). Counted when enough checks passed."""
        cfg = self.config
        checks = (  # cheapest first: HOG on its crop costs twice the others
            (FaceCheck.SHORT_RANGE, self._short_range, cfg.short_range_min_score),
            (FaceCheck.LANDMARKS, self._landmarks, cfg.landmarks_min_logit),
            (FaceCheck.HOG, self._hog, cfg.hog_min_score),
        )
        passed: list[FaceCheck] = []
        values: dict[str, float] = {}
        for done, (name, measure, threshold) in enumerate(checks):
            if len(passed) >= cfg.min_checks or len(passed) + len(checks) - done < cfg.min_checks:
                break  # decided either way
            value = measure(image, candidate)
            values[str(name)] = round(value, 3)
            if value >= threshold:
                passed.append(name)
        return passed, values

    def accepted(self, passed: list[FaceCheck]) -> bool:
        return len(passed) >= self.config.min_checks

    def _landmarks(self, image: BGRImage, candidate: FaceCandidate) -> float:
        return self.mesh.presence_logit(image, candidate, self.config.landmarks_crop)

    def _hog(self, image: BGRImage, candidate: FaceCandidate) -> float:
        """Best HOG score (down to -2) of a detection centred inside the candidate's box."""
        cfg = self.config
        size = max(candidate.width, candidate.height)
        side = size * (1 + 2 * cfg.hog_margin)
        out = round(cfg.hog_box_px * side / size)
        crop = square_crop(image, *candidate.centre, side, out)
        rects, scores, _ = self.hog.run(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB), 0, -2.0)
        lo, hi = out / 2 - cfg.hog_box_px / 2, out / 2 + cfg.hog_box_px / 2
        best = -2.0
        for rect, score in zip(rects, scores, strict=True):
            x, y = (rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2
            if lo <= x <= hi and lo <= y <= hi:
                best = max(best, float(score))
        return best

    def _short_range(self, image: BGRImage, candidate: FaceCandidate) -> float:
        """Best short-range score (down to 0.05) of a detection centred on the candidate."""
        size = self.short_range.spec.input_size
        side = self.config.short_range_crop * max(candidate.width, candidate.height)
        crop = square_crop(image, *candidate.centre, side, size)
        reach = size / (2 * self.config.short_range_crop)  # the candidate's half-size in the crop
        best = 0.0
        for found in self.short_range.detect(crop, min_score=0.05):
            x, y = found.centre
            if abs(x - size / 2) <= reach and abs(y - size / 2) <= reach:
                best = max(best, found.score)
        return best
