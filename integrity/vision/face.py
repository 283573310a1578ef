"""Face deployment: count faces and place 68 landmarks, robust beyond frontal faces.

dlib's frontal HOG detector is fast (10-25 ms at 640 px here) but misses faces turned 45-60
degrees, small faces and some partly hidden ones: exactly the second person leaning in. So:

* fast pass (every frame): HOG on the frame downscaled to ``detect_max_side``. Detections at or
  above ``accept_score`` are faces; those between ``candidate_score`` and it are *doubtful* and
  reported as such, not counted.
* deep pass (when the session asks: first frame, every few seconds, or in doubt): HOG at twice the
  resolution (faces down to ~40 px), doubtful candidates verified by dlib's MMOD CNN on a crop
  scaled to suit it, and, when HOG found at most one face, MMOD over the whole frame at a reduced
  size to catch turned faces HOG does not see at all. MMOD costs ~2.5-4.5 us per pixel here, which
  is why it only runs on crops and small frames, and only in the deep pass.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import dlib
import numpy as np
from pydantic import Field

from integrity.core.config import YamlConfig
from integrity.core.enums import ScanMode
from integrity.core.geometry import overlap_of_smaller
from integrity.core.results import Box, DetectedFace, EyePatch, FaceAnalysis, FaceDetector, ModelStatus
from integrity.core.timing import ms_since
from integrity.vision.imaging import BGRImage, decode, read_header, resize_to_max_side

LANDMARK_MODEL = "shape_predictor_68_face_landmarks.dat"
MMOD_MODEL = "mmod_human_face_detector.dat"
EYE_POINTS = slice(36, 48)  # iBUG 68: right eye 36-41, left eye 42-47 (subject's sides)


class FaceConfig(YamlConfig):
    """configs/face.yaml."""

    work_max_side: int = Field(1920, ge=160)
    detect_max_side: int = Field(640, ge=80)
    hog_upsample: int = Field(0, ge=0, le=2)
    accept_score: float = 0.0
    candidate_score: float = -0.6
    deep_hog_max_side: int = Field(1280, ge=160)
    verify_max_candidates: int = Field(3, ge=0)
    verify_box_px: int = Field(120, ge=40)
    verify_margin: float = Field(0.3, ge=0)
    mmod_full_max_side: int = Field(480, ge=0)
    mmod_full_max_faces: int = Field(1, ge=0)
    mmod_min_confidence: float = 0.3
    same_face_overlap: float = Field(0.5, gt=0, le=1)
    min_face_px: int = Field(20, ge=1)
    max_faces: int = Field(16, ge=1)
    eye_patch_max_width: int = Field(320, ge=32)


@dataclass(slots=True)
class _Found:
    """A face hypothesis in work-image coordinates."""

    left: float
    top: float
    right: float
    bottom: float
    score: float
    detector: FaceDetector

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def area(self) -> float:
        return max(0.0, self.right - self.left) * max(0.0, self.bottom - self.top)

    def overlap(self, other: _Found) -> float:
        """HOG and MMOD boxes of one face differ in size: overlap of the smaller box."""
        return overlap_of_smaller(
            (self.left, self.top, self.right, self.bottom), (other.left, other.top, other.right, other.bottom)
        )


class FaceAnalyzer:
    """dlib face detection and landmarks; no transport code, so tests call it directly."""

    def __init__(self, models_dir: Path, config: FaceConfig) -> None:
        self.models_dir = models_dir
        self.config = config
        self._hog: Any = None
        self._mmod: Any = None
        self._landmarks: Any = None
        # dlib's detectors and predictor are not thread-safe (concurrent calls crashed a replica
        # with SIGSEGV) and Serve runs sync methods in a thread pool: one frame at a time per
        # analyzer. Decoding, which is thread-safe, happens outside the lock.
        self._lock = threading.Lock()

    def load(self) -> None:
        self._hog = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(self.models_dir / LANDMARK_MODEL))
        self._mmod = dlib.cnn_face_detection_model_v1(str(self.models_dir / MMOD_MODEL))

    @property
    def status(self) -> ModelStatus:
        if self._hog is None:
            return ModelStatus(available=False, detail="not loaded")
        return ModelStatus(available=True, detail=f"dlib {dlib.__version__}: HOG + MMOD + 68 landmarks")

    # -- entry points -----------------------------------------------------------------------------
    def analyze(self, data: bytes, deep: bool = False, fine: bool = False) -> FaceAnalysis:
        """Analyse an encoded JPEG/PNG frame.

        ``deep`` runs the deep scan; ``fine`` runs the fast pass at twice the resolution (for
        sessions whose faces are too small for the base size). Neither changes what counts as a face.
        """
        started = time.perf_counter()
        header = read_header(data)
        image, scale = decode(data, header, min_side=self.config.work_max_side)
        decode_ms = (time.perf_counter() - started) * 1000
        result = self.analyze_image(image, deep=deep, fine=fine, scale=scale)
        result.timings_ms["decode"] = round(decode_ms, 2)
        return result

    def analyze_image(
        self, image: BGRImage, deep: bool = False, fine: bool = False, scale: float = 1.0
    ) -> FaceAnalysis:
        """Analyse a decoded BGR frame; ``scale`` is its size relative to the original frame."""
        if self._hog is None:
            raise RuntimeError("FaceAnalyzer.load() was not called")
        waited = time.perf_counter()
        with self._lock:
            queued_ms = ms_since(waited)
            result = self._analyze_locked(image, deep, fine, scale)
        result.timings_ms["queue"] = round(queued_ms, 2)
        return result

    def _analyze_locked(self, image: BGRImage, deep: bool, fine: bool, scale: float) -> FaceAnalysis:
        cfg = self.config
        timings: dict[str, float] = {}
        tick = time.perf_counter()
        work, work_scale = resize_to_max_side(image, cfg.work_max_side)
        scale *= work_scale
        gray = cv2.cvtColor(work, cv2.COLOR_BGR2GRAY)

        if deep or fine:
            accepted, doubtful = self._hog_pass(work, cfg.deep_hog_max_side, twice=True)
        else:
            accepted, doubtful = self._hog_pass(work, cfg.detect_max_side, twice=False)
        timings["hog"] = ms_since(tick)

        rejected: list[_Found] = []
        needs_fine = False
        if deep:
            # Would the plain fast pass have seen the faces HOG finds at twice the size?
            tick = time.perf_counter()
            base, _ = self._hog_pass(work, cfg.detect_max_side, twice=False)
            needs_fine = any(not any(a.overlap(b) >= cfg.same_face_overlap for b in base) for a in accepted)
            timings["hog_base"] = ms_since(tick)
            tick = time.perf_counter()
            doubtful, rejected = self._verify(work, accepted, doubtful)
            timings["verify"] = ms_since(tick)
            if cfg.mmod_full_max_side > 0 and len(accepted) <= cfg.mmod_full_max_faces:
                tick = time.perf_counter()
                self._mmod_full(work, accepted)
                timings["mmod_full"] = ms_since(tick)

        min_px = cfg.min_face_px * scale
        accepted = [f for f in accepted if f.width >= min_px]
        accepted.sort(key=lambda f: f.area, reverse=True)
        accepted = accepted[: cfg.max_faces]

        tick = time.perf_counter()
        faces = [self._describe(gray, found, scale) for found in accepted]
        timings["landmarks"] = ms_since(tick)
        eye_patch = self._eye_patch(gray, faces[0], scale) if faces else None
        height, width = work.shape[:2]
        return FaceAnalysis(
            image_width=round(width / scale),
            image_height=round(height / scale),
            scan=ScanMode.DEEP if deep else ScanMode.FAST,
            faces=faces,
            doubtful=[_box(d, scale) for d in doubtful],
            rejected=[_box(r, scale) for r in rejected],
            needs_fine=needs_fine,
            primary=0 if faces else None,
            eye_patch=eye_patch,
            timings_ms={k: round(v, 2) for k, v in timings.items()},
        )

    # -- detection passes -------------------------------------------------------------------------
    def _hog_pass(self, work: BGRImage, max_side: int, twice: bool) -> tuple[list[_Found], list[_Found]]:
        """HOG at ``max_side``; at twice the base size, frames smaller than that are upsampled x2."""
        cfg = self.config
        small, s = _rgb_at(work, max_side)
        upsample = cfg.hog_upsample
        if twice and max(small.shape[:2]) < min(max_side, 2 * cfg.detect_max_side):
            upsample += 1  # the frame is smaller than the wanted size: let dlib upsample it
        rects, scores, _ = self._hog.run(small, upsample, cfg.candidate_score)
        accepted: list[_Found] = []
        doubtful: list[_Found] = []
        for rect, score in sorted(zip(rects, scores, strict=True), key=lambda rs: -rs[1]):
            found = _clip(
                _Found(rect.left() / s, rect.top() / s, rect.right() / s, rect.bottom() / s, score, "hog"),
                work,
            )
            if found is None:
                continue
            if score >= cfg.accept_score:
                if not any(found.overlap(a) >= cfg.same_face_overlap for a in accepted):
                    accepted.append(found)
            elif not any(found.overlap(a) >= cfg.same_face_overlap for a in (*accepted, *doubtful)):
                doubtful.append(found)
        doubtful = [d for d in doubtful if not any(d.overlap(a) >= cfg.same_face_overlap for a in accepted)]
        return accepted, doubtful

    def _verify(
        self, work: BGRImage, accepted: list[_Found], doubtful: list[_Found]
    ) -> tuple[list[_Found], list[_Found]]:
        """Check the strongest doubtful candidates with MMOD on a crop.

        Confirmed candidates join ``accepted``; returns (left unverified, rejected).
        """
        cfg = self.config
        left = list(doubtful[cfg.verify_max_candidates :])
        rejected: list[_Found] = []
        for cand in doubtful[: cfg.verify_max_candidates]:
            if any(cand.overlap(a) >= cfg.same_face_overlap for a in accepted):
                continue
            margin = cand.width * cfg.verify_margin
            height, width = work.shape[:2]
            x0, y0 = max(0, int(cand.left - margin)), max(0, int(cand.top - margin))
            x1, y1 = min(width, int(cand.right + margin)), min(height, int(cand.bottom + margin))
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            s = cfg.verify_box_px / max(cand.width, 1.0)
            crop = cv2.resize(
                cv2.cvtColor(work[y0:y1, x0:x1], cv2.COLOR_BGR2RGB),
                None,
                fx=s,
                fy=s,
                interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
            )
            hits = [
                _Found(
                    x0 + d.rect.left() / s,
                    y0 + d.rect.top() / s,
                    x0 + d.rect.right() / s,
                    y0 + d.rect.bottom() / s,
                    cand.score,
                    "hog+mmod",
                )
                for d in self._mmod(crop, 0)
                if d.confidence >= cfg.mmod_min_confidence
            ]
            confirmed = [h for h in hits if h.overlap(cand) >= cfg.same_face_overlap]
            if confirmed:
                best = max(confirmed, key=lambda h: h.area)
                clipped = _clip(best, work)
                if clipped and not any(clipped.overlap(a) >= cfg.same_face_overlap for a in accepted):
                    accepted.append(clipped)
            else:
                rejected.append(cand)  # no longer in doubt: MMOD looked closely and saw no face
        return left, rejected

    def _mmod_full(self, work: BGRImage, accepted: list[_Found]) -> None:
        cfg = self.config
        small, s = _rgb_at(work, cfg.mmod_full_max_side)
        for det in self._mmod(small, 0):
            if det.confidence < cfg.mmod_min_confidence:
                continue
            r = det.rect
            found = _clip(
                _Found(r.left() / s, r.top() / s, r.right() / s, r.bottom() / s, det.confidence, "mmod"), work
            )
            if found and not any(found.overlap(a) >= cfg.same_face_overlap for a in accepted):
                accepted.append(found)

    # -- per-face description ---------------------------------------------------------------------
    def _describe(self, gray: BGRImage, found: _Found, scale: float) -> DetectedFace:
        rect = dlib.rectangle(int(found.left), int(found.top), int(found.right), int(found.bottom))
        shape = self._landmarks(gray, rect)
        points = [(round(p.x / scale, 2), round(p.y / scale, 2)) for p in shape.parts()]
        return DetectedFace(
            box=_box(found, scale),
            score=round(float(found.score), 3),
            detector=found.detector,
            landmarks=points,
        )

    def _eye_patch(self, gray: BGRImage, face: DetectedFace, scale: float) -> EyePatch | None:
        eyes = np.asarray(face.landmarks[EYE_POINTS], dtype=np.float64) * scale
        x0, y0 = eyes.min(axis=0)
        x1, y1 = eyes.max(axis=0)
        pad_x, pad_y = 0.25 * (x1 - x0), 0.6 * max(y1 - y0, 0.15 * (x1 - x0))
        height, width = gray.shape[:2]
        left, top = max(0, int(x0 - pad_x)), max(0, int(y0 - pad_y))
        right, bottom = min(width, int(np.ceil(x1 + pad_x))), min(height, int(np.ceil(y1 + pad_y)))
        if right - left < 4 or bottom - top < 2:
            return None
        patch = gray[top:bottom, left:right]
        patch_scale = scale
        if patch.shape[1] > self.config.eye_patch_max_width:
            shrink = self.config.eye_patch_max_width / patch.shape[1]
            patch = cv2.resize(patch, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
            patch_scale *= shrink
        patch = np.ascontiguousarray(patch, dtype=np.uint8)
        return EyePatch(
            width=patch.shape[1],
            height=patch.shape[0],
            pixels=patch.tobytes(),
            origin=(round(left / scale, 2), round(top / scale, 2)),
            scale=patch_scale,
        )


def _rgb_at(image: BGRImage, max_side: int) -> tuple[BGRImage, float]:
    """dlib wants RGB: convert after downscaling, so the full-size frame is never converted."""
    small, scale = resize_to_max_side(image, max_side)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB), scale


def _clip(found: _Found, image: BGRImage) -> _Found | None:
    height, width = image.shape[:2]
    left, top = max(0.0, found.left), max(0.0, found.top)
    right, bottom = min(float(width), found.right), min(float(height), found.bottom)
    if right - left < 4 or bottom - top < 4:
        return None
    return _Found(left, top, right, bottom, found.score, found.detector)


def _box(found: _Found, scale: float) -> Box:
    return Box(
        x=round(found.left / scale),
        y=round(found.top / scale),
        width=round(found.width / scale),
        height=round((found.bottom - found.top) / scale),
    )
