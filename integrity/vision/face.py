"""Face analysis: count faces on every frame and place the landmarks head pose and gaze read. The
face deployment (``deployments/face.py``) wraps :class:`FaceAnalyzer`.

* Detection: BlazeFace (full range by default, short range selectable in configs/face.yaml), run with
  LiteRT on the frame letterboxed to 192 (or 128) px: 5-10 ms per frame here, frontal to profile,
  faces down to ~20 px of a 640 px frame.
* Verification: a candidate at or above ``sure_score`` is a face. One below it is counted only when
  enough independent checks agree (``face_verify.py``); otherwise it is reported as an *unverified*
  candidate and not counted (a dog's head, a teddy bear). Nothing on this path takes more than a few
  milliseconds: there is no slow "deep scan".
* Landmarks (``landmarks`` in configs/face.yaml):

  - ``face_landmarker`` (default): Google's Face Landmarker on the main face (``face_mesh.py``):
    478 points with both irises, the mesh's own head pose and 52 blendshapes; the 68 iBUG points
    are the mesh points nearest to them, so every reader of that layout works unchanged. Other
    faces are counted, not meshed (nothing reads their points).
  - ``dlib_68``: dlib's 68-point shape predictor on every face (trained on iBUG 300-W, whose terms
    exclude commercial use). It was trained on dlib HOG boxes, so each detector box is first mapped
    to the box HOG would draw (``box_map``: fitted on the fixtures, ``benchmarks/face_detect.py
    --fit``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import cv2
import dlib
import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from integrity.core.checksums import sha256_of
from integrity.core.config import ConfigSection, YamlConfig
from integrity.core.enums import FaceCheck, FaceDetector, LandmarkBackend
from integrity.core.errors import ModelUnavailable
from integrity.core.paths import MODELS
from integrity.core.results import Box, DetectedFace, EyePatch, FaceAnalysis, MeshReading, ModelStatus
from integrity.core.timing import ms_since
from integrity.vision.blazeface import BlazeFace, FaceCandidate
from integrity.vision.face_mesh import IRIS_CENTRES, FaceLandmarker, MeshConfig, MeshFace
from integrity.vision.face_verify import FaceMesh, FaceVerifier, VerifyConfig
from integrity.vision.imaging import BGRImage, decode, read_header, shrink
from integrity.vision.mouth import mouth_contrast

LANDMARK_MODEL = "shape_predictor_68_face_landmarks.dat"
EYE_POINTS = slice(36, 48)  # iBUG 68: right eye 36-41, left eye 42-47 (subject's sides)


class BoxMap(ConfigSection):
    """Detector box -> the square box dlib's HOG would draw, in units of the detector box's width."""

    scale: float = Field(1.0, gt=0)
    dx: float = 0.0
    dy: float = 0.0


class FaceConfig(YamlConfig):
    """configs/face.yaml."""

    detector: FaceDetector = FaceDetector.BLAZEFACE_FULL_RANGE
    landmarks: LandmarkBackend = LandmarkBackend.FACE_LANDMARKER
    mesh: MeshConfig = MeshConfig()
    threads: int = Field(1, ge=1)
    min_score: float = Field(0.5, ge=0, le=1)
    sure_score: float = Field(0.8, ge=0, le=1)
    nms_iou: float = Field(0.3, gt=0, le=1)
    weighted_nms: bool = True
    box_map: dict[FaceDetector, BoxMap] = Field(default_factory=dict)
    landmark_box: BoxMap = BoxMap()
    similar_size: float = Field(0.8, gt=0, le=1)
    landmark_jitter: float = Field(0.0, ge=0, le=0.2)
    verify: VerifyConfig = VerifyConfig()
    work_max_side: int = Field(1920, ge=160)
    min_face_px: int = Field(20, ge=1)
    max_faces: int = Field(16, ge=1)
    eye_patch_max_width: int = Field(320, ge=32)


def box_around(points: NDArray[np.float64], mapping: BoxMap) -> tuple[float, float, float, float]:
    """The square box dlib's HOG draws around a face with these 68 points: centred on their mean
    moved by (dx, dy), side ``scale``, all in units of the points' size (sqrt of their extent's area)."""
    size = float(np.sqrt(np.ptp(points[:, 0]) * np.ptp(points[:, 1])))
    cx, cy = points.mean(axis=0) + np.array([mapping.dx, mapping.dy]) * size
    half = mapping.scale * size / 2
    return float(cx - half), float(cy - half), float(cx + half), float(cy + half)


def dlib_box(candidate: FaceCandidate, mapping: BoxMap) -> tuple[float, float, float, float]:
    """The square box (left, top, right, bottom) dlib's shape predictor expects for this face."""
    width = candidate.width
    cx, cy = candidate.centre
    cx, cy = cx + mapping.dx * width, cy + mapping.dy * width
    half = mapping.scale * width / 2
    return cx - half, cy - half, cx + half, cy + half


class FaceAnalyzer:
    """Face detection, verification and landmarks; no transport code, so tests call it directly.

    ``landmarks_dir`` holds dlib's 68-point model (the ``face_recognition_models`` package);
    ``models_dir`` (``MODEL_PATH``) the BlazeFace and FaceMesh files the install step extracted.
    """

    def __init__(self, landmarks_dir: Path, config: FaceConfig, models_dir: Path = MODELS) -> None:
        self.landmarks_dir = landmarks_dir
        self.models_dir = models_dir
        self.config = config
        self._detector: BlazeFace | None = None
        self._verifier: FaceVerifier | None = None
        self._landmarks: Any = None  # dlib's predictor (dlib_68)
        self._mesh: FaceLandmarker | None = None  # the Face Landmarker (face_landmarker)
        self._statuses: dict[str, ModelStatus] = {
            "face": ModelStatus(available=False, detail="not loaded"),
        }
        # dlib's detector and predictor are not thread-safe (concurrent calls crashed a replica
        # with SIGSEGV) and Serve runs sync methods in a thread pool: one frame at a time per
        # analyzer. Decoding, which is thread-safe, happens outside the lock.
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load every model; a missing or wrong file leaves the analyzer unavailable, saying why."""
        cfg = self.config
        try:
            detector = self._blazeface(cfg.detector)
            short_range = (
                detector
                if cfg.detector is FaceDetector.BLAZEFACE_SHORT_RANGE
                else self._blazeface(FaceDetector.BLAZEFACE_SHORT_RANGE)
            )
            mesh = FaceMesh(self.models_dir, cfg.threads)
            hog = dlib.get_frontal_face_detector()
            landmarks_status = self._load_landmarks()
        except Exception as exc:  # the reason goes to /health and every frame's 503
            self._statuses = {"face": ModelStatus(available=False, detail=f"face models not loaded: {exc}")}
            return
        self._detector = detector
        self._verifier = FaceVerifier(cfg.verify, mesh, short_range, hog)
        litert = f"litert (ai-edge-litert), {cfg.threads} thread(s)"
        self._statuses = {
            "face": ModelStatus(
                available=True,
                detail=f"BlazeFace {cfg.detector.removeprefix('blazeface_').replace('_', ' ')} (Apache-2.0)",
                file=detector.path.name,
                sha256=sha256_of(detector.path),
                runtime=litert,
            ),
            "face_landmarks": landmarks_status,
            "face_verifier": ModelStatus(
                available=True,
                detail="checks doubtful faces: FaceMesh presence (Apache-2.0), BlazeFace short range, HOG",
                file=mesh.path.name,
                sha256=sha256_of(mesh.path),
                runtime=litert,
            ),
        }

    def _load_landmarks(self) -> ModelStatus:
        cfg = self.config
        if cfg.landmarks is LandmarkBackend.FACE_LANDMARKER:
            self._mesh = FaceLandmarker(self.models_dir, cfg.mesh, cfg.threads)
            return ModelStatus(
                available=True,
                detail="Face Landmarker float16 v1: 478 points, irises, blendshapes (Apache-2.0)",
                file=self._mesh.path.name,
                sha256=sha256_of(self._mesh.path),
                runtime=f"litert (ai-edge-litert), {cfg.threads} thread(s)",
            )
        landmark_path = self.landmarks_dir / LANDMARK_MODEL
        self._landmarks = dlib.shape_predictor(str(landmark_path))
        return ModelStatus(
            available=True,
            detail="dlib 68-point shape predictor (iBUG 300-W: no commercial use)",
            file=LANDMARK_MODEL,
            sha256=sha256_of(landmark_path),
            runtime=f"dlib {dlib.__version__}",
        )

    def _blazeface(self, variant: FaceDetector) -> BlazeFace:
        cfg = self.config
        return BlazeFace(self.models_dir, variant, cfg.threads, cfg.min_score, cfg.nms_iou, cfg.weighted_nms)

    @property
    def status(self) -> ModelStatus:
        """The face detector's status (what ``/health`` shows as ``face``)."""
        return self._statuses["face"]

    @property
    def statuses(self) -> dict[str, ModelStatus]:
        """Every model of the face stage: detector, landmarks, verifier."""
        return dict(self._statuses)

    # -- entry points -----------------------------------------------------------------------------
    def analyze(self, data: bytes) -> FaceAnalysis:
        """Analyse an encoded JPEG/PNG frame."""
        self._require_models()
        started = time.perf_counter()
        header = read_header(data)
        image, scale = decode(data, header, min_side=self.config.work_max_side)
        decode_ms = ms_since(started)
        result = self.analyze_image(image, scale=scale)
        result.timings_ms["decode"] = round(decode_ms, 2)
        return result

    def analyze_image(self, image: BGRImage, scale: float = 1.0) -> FaceAnalysis:
        """Analyse a decoded BGR frame; ``scale`` is its size relative to the original frame."""
        self._require_models()
        waited = time.perf_counter()
        with self._lock:
            queued_ms = ms_since(waited)
            result = self._analyze_locked(image, scale)
        result.timings_ms["queue"] = round(queued_ms, 2)
        return result

    def verify_candidate(self, image: BGRImage, candidate: FaceCandidate) -> list[FaceCheck] | None:
        """The checks a doubtful candidate (frame pixels of ``image``) passed where they count it as
        a face (``verify.min_checks`` of them), else None: the face stage's own test, for faces
        found elsewhere (the second look inside person boxes)."""
        self._require_models()
        assert self._verifier is not None
        with self._lock:  # HOG is dlib's
            passed, _ = self._verifier.verify(image, candidate)
        return passed if self._verifier.accepted(passed) else None

    def detect(self, image: BGRImage) -> list[FaceCandidate]:
        """The detector's candidates alone (no verification, no landmarks), for benchmarks."""
        self._require_models()
        assert self._detector is not None
        return self._detector.detect(image)

    def _require_models(self) -> None:
        if self._detector is None:
            raise ModelUnavailable(self.status.detail or "face models not loaded")

    def _analyze_locked(self, image: BGRImage, scale: float) -> FaceAnalysis:
        assert self._detector is not None and self._verifier is not None
        cfg = self.config
        timings: dict[str, float] = {}
        tick = time.perf_counter()
        work, work_scale = image, 1.0
        if max(image.shape[:2]) > cfg.work_max_side:
            work_scale = cfg.work_max_side / max(image.shape[:2])
            size = (round(image.shape[1] * work_scale), round(image.shape[0] * work_scale))
            work = shrink(image, size)
        scale *= work_scale
        min_px = cfg.min_face_px * scale
        candidates = [c for c in self._detector.detect(work) if c.width >= min_px]
        timings["detect"] = ms_since(tick)

        tick = time.perf_counter()
        accepted: list[tuple[FaceCandidate, list[FaceCheck]]] = []
        unverified: list[FaceCandidate] = []
        checked = 0
        for candidate in candidates:  # strongest first
            if candidate.score >= cfg.sure_score:
                accepted.append((candidate, []))
                continue
            if checked >= cfg.verify.max_candidates:
                unverified.append(candidate)  # not looked at closely: in doubt, not counted
                continue
            checked += 1
            passed, _ = self._verifier.verify(work, candidate)
            if self._verifier.accepted(passed):
                accepted.append((candidate, passed))
            else:
                unverified.append(candidate)
        if checked:
            timings["verify"] = ms_since(tick)
        accepted = _main_face_first(accepted, work.shape[1], work.shape[0], cfg.similar_size)[: cfg.max_faces]

        tick = time.perf_counter()
        faces: list[DetectedFace] = []
        eye_patch = None
        if accepted:
            gray = cv2.cvtColor(work, cv2.COLOR_BGR2GRAY)
            faces = [
                self._describe(work, gray, found, checks, scale, primary=index == 0)
                for index, (found, checks) in enumerate(accepted)
            ]
            if faces[0].landmarks:
                eye_patch = self._eye_patch(gray, faces[0], scale)
        timings["landmarks"] = ms_since(tick)
        height, width = work.shape[:2]
        return FaceAnalysis(
            image_width=round(width / scale),
            image_height=round(height / scale),
            detector=cfg.detector,
            landmark_backend=cfg.landmarks,
            faces=faces,
            unverified=[b for b in (_box(c, work, scale) for c in unverified) if b is not None],
            primary=0 if faces else None,
            eye_patch=eye_patch,
            timings_ms={k: round(v, 2) for k, v in timings.items()},
        )

    # -- per-face description ---------------------------------------------------------------------
    def landmarks_of(
        self, gray: BGRImage, candidate: FaceCandidate, steady: bool = False
    ) -> list[tuple[float, float]]:
        """68 points (work-image pixels): the predictor on the detector box mapped to dlib's box.

        ``steady`` (the primary face, whose points feed head pose and gaze): the predictor's cascade
        jumps with 2-3 px box changes, so the box is first re-fitted to the points found on it
        (``landmark_box``: where dlib's HOG puts its box around such points) and the points are the
        mean over that box and 4 copies shifted by ``landmark_jitter``. Other faces get one run.
        """
        cfg = self.config
        box = dlib_box(candidate, cfg.box_map.get(cfg.detector, BoxMap()))
        if not steady:
            return [(float(x), float(y)) for x, y in self._points(gray, box)]
        box = box_around(self._points(gray, box), cfg.landmark_box)
        shift = cfg.landmark_jitter * (box[2] - box[0])
        offsets = [(0.0, 0.0)]
        if shift > 0:
            offsets += [(-shift, 0.0), (shift, 0.0), (0.0, -shift), (0.0, shift)]
        total = np.zeros((68, 2))
        for dx, dy in offsets:
            total += self._points(gray, (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy))
        return [(float(x), float(y)) for x, y in total / len(offsets)]

    def _points(self, gray: BGRImage, box: tuple[float, float, float, float]) -> NDArray[np.float64]:
        rect = dlib.rectangle(*(round(v) for v in box))
        return np.array([(p.x, p.y) for p in self._landmarks(gray, rect).parts()], dtype=np.float64)

    def _describe(
        self,
        image: BGRImage,
        gray: BGRImage,
        found: FaceCandidate,
        checks: list[FaceCheck],
        scale: float,
        primary: bool,
    ) -> DetectedFace:
        mesh: MeshReading | None = None
        if self._mesh is None:
            raw = self.landmarks_of(gray, found, primary)
        elif primary and (meshed := self._mesh.landmarks(image, found)) is not None:
            raw, mesh = meshed.ibug68, _reading(meshed, scale)
        else:
            raw = []  # not meshed (another face), or the landmark model sees no face there
        box = _box(found, gray, scale)
        mouth = mouth_contrast(gray, np.asarray(raw, dtype=np.float64)) if primary and raw else None
        return DetectedFace(
            box=box if box is not None else Box(x=0, y=0, width=0, height=0),
            score=round(found.score, 3),
            detector=self.config.detector,
            checks=checks,
            landmarks=[(round(x / scale, 2), round(y / scale, 2)) for x, y in raw],
            mesh=mesh,
            mouth_contrast=mouth,
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


def _reading(mesh: MeshFace, scale: float) -> MeshReading:
    """The mesh's irises (in original pixels), pose and blendshapes, for the gaze stage."""
    left, right = (
        (round(float(mesh.points[i, 0]) / scale, 2), round(float(mesh.points[i, 1]) / scale, 2))
        for i in IRIS_CENTRES
    )
    return MeshReading(
        presence=round(mesh.presence, 4), irises=(left, right), pose=mesh.pose, blendshapes=mesh.blendshapes
    )


def _main_face_first(
    faces: list[tuple[FaceCandidate, list[FaceCheck]]], width: int, height: int, similar: float
) -> list[tuple[FaceCandidate, list[FaceCheck]]]:
    """Largest first; the candidate's (main) face is the largest, and among faces about as large as
    it (area >= ``similar`` x the largest), the one nearest the frame's centre."""
    faces = sorted(faces, key=lambda f: f[0].width * f[0].height, reverse=True)
    if len(faces) < 2:
        return faces
    largest = faces[0][0].width * faces[0][0].height

    def off_centre(face: FaceCandidate) -> float:
        cx, cy = face.centre
        return float(np.hypot(cx / width - 0.5, cy / height - 0.5))

    rivals = [f for f in faces if f[0].width * f[0].height >= similar * largest]
    main = min(rivals, key=lambda f: off_centre(f[0]))
    return [main, *(f for f in faces if f is not main)]


def _box(found: FaceCandidate, image: BGRImage, scale: float) -> Box | None:
    """The detection clipped to the frame, in original pixels (None when nothing is left)."""
    height, width = image.shape[:2]
    left, top = max(0.0, found.left), max(0.0, found.top)
    right, bottom = min(float(width), found.right), min(float(height), found.bottom)
    if right - left < 1 or bottom - top < 1:
        return None
    return Box(
        x=round(left / scale),
        y=round(top / scale),
        width=round((right - left) / scale),
        height=round((bottom - top) / scale),
    )
