"""Google's Face Landmarker (``face_landmarker.task``, Apache-2.0) run with LiteRT, decoded here.

The task file is a zip of three models and the canonical face geometry:

* ``face_landmarks_detector.tflite``: a 256x256 RGB face crop (0..1) to 478 points (x, y, z in crop
  pixels; 468-472 and 473-477 are the two irises) and a face-presence logit;
* ``face_blendshapes.tflite``: 146 of those points (x, y in any pixel scale) to 52 ARKit-style scores
  (eyeLookDown/Up/In/Out per eye, eyeBlink, eyeSquint, jawOpen, ...), trained to mean the same on
  every face: they carry the vertical gaze and blinks better than any geometric ratio;
* ``geometry_pipeline_metadata_landmarks.binarypb``: the canonical face mesh and the landmark
  weights MediaPipe fits it with. Head pose is the rotation of that weighted fit (the mesh's own
  pose), not a generic six-point 3D model: a frontal face reads near 0 degrees.

The crop follows MediaPipe's face ROI: the detector's box centre, square, 1.5x its size, rotated so
the eyes are level. A second pass on the ROI the first pass's points give (MediaPipe's tracking ROI)
is optional (``refine``). Each ``Interpreter`` is guarded by a lock (not thread-safe).
"""

from __future__ import annotations

import math
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from integrity.core.config import ConfigSection
from integrity.core.results import HeadPose
from integrity.vision.blazeface import FaceCandidate
from integrity.vision.imaging import BGRImage
from integrity.vision.model_files import FACE_LANDMARKER_TASK, verified_path

FloatArray = NDArray[np.float64]

CROP = 256
IRIS_CENTRES = (468, 473)  # image-left eye's iris (the subject's right), image-right eye's
# The eye corners (outer, inner) of the image-left eye and (inner, outer) of the image-right eye.
EYE_CORNERS = ((33, 133), (362, 263))

# MediaPipe's face_blendshapes_graph.cc: the 146 mesh points the blendshape model reads, and the
# names of its 52 outputs in order.
BLENDSHAPE_POINTS = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66,
    67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145,
    146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176,
    178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284, 285,
    288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332, 334,
    336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386, 387,
    388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473, 474,
    475, 476, 477,
)  # fmt: skip
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)  # fmt: skip

# The mesh points nearest to the 68 iBUG points (jaw, brows, nose, eyes, lips), so everything that
# reads the 68-point layout (mouth and eye openings, evidence drawings, the API's landmarks) works
# on either backend.
IBUG_68 = (
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,  # jaw
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,  # brows
    168, 197, 5, 4, 75, 97, 2, 326, 305,  # nose
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,  # eyes
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # outer lips
    78, 82, 13, 312, 308, 317, 14, 87,  # inner lips
)  # fmt: skip


# Fancy-index arrays, built once: these run on every frame.
_IBUG_INDEX = np.array(IBUG_68)
_BLENDSHAPE_INDEX = np.array(BLENDSHAPE_POINTS)


class MeshConfig(ConfigSection):
    """configs/face.yaml ``mesh``: the Face Landmarker's crop and acceptance."""

    roi_scale: float = Field(1.5, gt=1, le=3, description="crop side / face size (MediaPipe: 1.5)")
    refine: bool = Field(False, description="second pass on the ROI the first pass's points give")
    min_presence: float = Field(0.5, ge=0, le=1, description="face-presence score below: no mesh")
    blendshapes: bool = True


@dataclass(frozen=True, slots=True)
class MeshFace:
    """One face's mesh: 478 points in frame pixels (z in the same scale, toward the camera
    negative), the presence score, the blendshape scores and the head pose of the mesh."""

    points: FloatArray  # (478, 3)
    presence: float
    blendshapes: dict[str, float]
    pose: HeadPose | None

    @property
    def ibug68(self) -> list[tuple[float, float]]:
        return [(float(x), float(y)) for x, y in self.points[_IBUG_INDEX, :2]]


@dataclass(frozen=True, slots=True)
class _Roi:
    cx: float
    cy: float
    side: float
    angle: float  # radians, the eye line's angle in the image

    def crop_to_image(self) -> FloatArray:
        """2x3 affine: crop pixels -> frame pixels."""
        k = self.side / CROP
        ca, sa = math.cos(self.angle) * k, math.sin(self.angle) * k
        half = CROP / 2
        return np.array(
            [[ca, -sa, self.cx - ca * half + sa * half], [sa, ca, self.cy - sa * half - ca * half]]
        )


class CanonicalFace:
    """MediaPipe's canonical face mesh and its Procrustes weights, read from the task's metadata."""

    def __init__(self, metadata: bytes) -> None:
        vertices: list[float] = []
        basis: list[tuple[int, float]] = []
        for field, value in _fields(metadata):
            if field == 1 and isinstance(value, bytes):  # canonical_mesh (Mesh3d)
                for sub, data in _fields(value):
                    if sub == 3 and isinstance(data, bytes):  # vertex_buffer, packed floats
                        vertices.extend(np.frombuffer(data, "<f4").tolist())
            elif field == 2 and isinstance(value, bytes):  # procrustes_landmark_basis
                ref = dict(_fields(value))
                weight = ref.get(2, b"\0\0\0\0")
                basis.append((int(ref.get(1, 0)), float(np.frombuffer(bytes(weight), "<f4")[0])))
        # VERTEX_PT: x, y, z, u, v per vertex (centimetres, y up, z toward the viewer).
        mesh = np.asarray(vertices, dtype=np.float64).reshape(-1, 5)[:, :3]
        if mesh.shape[0] != 468 or not basis:
            raise ValueError(f"unexpected face geometry: {mesh.shape[0]} vertices, {len(basis)} weights")
        self.vertices = mesh
        self.indices = np.array([i for i, _ in basis])
        self.weights = np.array([w for _, w in basis])

    def pose(self, points: FloatArray) -> HeadPose | None:
        """Yaw/pitch/roll of the weighted similarity fit of the canonical mesh to ``points``.

        Orthographic: the mesh's (x, y, z) share one pixel scale, so the rotation needs no camera.
        """
        target = points[self.indices] * np.array([1.0, -1.0, -1.0])  # image (y down) -> y up, z out
        source = self.vertices[self.indices]
        w = self.weights / self.weights.sum()
        src = source - w @ source
        dst = target - w @ target
        cov = (src * w[:, None]).T @ dst
        u, _, vt = np.linalg.svd(cov)
        d = np.sign(np.linalg.det(u @ vt))
        rotation = (u @ np.diag([1.0, 1.0, d]) @ vt).T  # canonical -> observed
        if not np.all(np.isfinite(rotation)):
            return None
        # R = Ry(yaw) Rx(x) Rz(z) in a y-up, z-out frame: a positive x turns the face's normal down
        # and a positive z turns the face counter-clockwise as displayed (y up), so both flip sign
        # for HeadPose (pitch positive up, roll positive clockwise).
        yaw = math.degrees(math.atan2(rotation[0, 2], rotation[2, 2]))
        pitch = -math.degrees(math.asin(max(-1.0, min(1.0, -rotation[1, 2]))))
        roll = -math.degrees(math.atan2(rotation[1, 0], rotation[1, 1]))
        return HeadPose(yaw=round(yaw, 2), pitch=round(pitch, 2), roll=round(roll, 2))


class FaceLandmarker:
    """The landmark and blendshape models of ``face_landmarker.task`` on a detector's candidate."""

    def __init__(self, models_dir: Path, config: MeshConfig, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = verified_path(models_dir, FACE_LANDMARKER_TASK)
        self.config = config
        with zipfile.ZipFile(self.path) as task:
            landmarks = task.read("face_landmarks_detector.tflite")
            blendshapes = task.read("face_blendshapes.tflite")
            self.canonical = CanonicalFace(task.read("geometry_pipeline_metadata_landmarks.binarypb"))
        self._mesh = Interpreter(model_content=landmarks, num_threads=threads)
        self._mesh.allocate_tensors()
        self._mesh_in = self._mesh.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._mesh.get_output_details()}
        self._points_out, self._presence_out = outputs["Identity"], outputs["Identity_1"]
        self._shapes = Interpreter(model_content=blendshapes, num_threads=threads)
        self._shapes.allocate_tensors()
        self._shapes_in = self._shapes.get_input_details()[0]["index"]
        self._shapes_out = self._shapes.get_output_details()[0]["index"]
        self._lock = threading.Lock()

    def landmarks(self, image: BGRImage, candidate: FaceCandidate) -> MeshFace | None:
        """The mesh of the face the detector found, or None when the model sees no face there."""
        cfg = self.config
        # BlazeFace keypoints 0 and 1: the eyes on image-left and image-right.
        (x0, y0), (x1, y1) = candidate.keypoints[0], candidate.keypoints[1]
        cx, cy = candidate.centre
        roi = _Roi(
            float(cx),
            float(cy),
            cfg.roi_scale * max(candidate.width, candidate.height),
            math.atan2(float(y1 - y0), float(x1 - x0)),
        )
        points, presence = self._run(image, roi)
        if cfg.refine and presence >= cfg.min_presence:
            points, presence = self._run(image, _landmark_roi(points, cfg.roi_scale))
        if presence < cfg.min_presence:
            return None
        scores: dict[str, float] = {}
        if cfg.blendshapes:
            subset = points[_BLENDSHAPE_INDEX, :2].astype(np.float32)[None]
            with self._lock:
                self._shapes.set_tensor(self._shapes_in, subset)
                self._shapes.invoke()
                raw = self._shapes.get_tensor(self._shapes_out).ravel()
            scores = {name: round(float(v), 4) for name, v in zip(BLENDSHAPE_NAMES, raw, strict=True)}
        return MeshFace(points, presence, scores, self.canonical.pose(points))

    def _run(self, image: BGRImage, roi: _Roi) -> tuple[FloatArray, float]:
        affine = roi.crop_to_image()
        crop = cv2.warpAffine(
            image, affine, (CROP, CROP), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )  # fmt: skip
        tensor = (cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)[None]
        with self._lock:
            self._mesh.set_tensor(self._mesh_in, tensor)
            self._mesh.invoke()
            raw = self._mesh.get_tensor(self._points_out).reshape(478, 3).astype(np.float64)
            logit = float(self._mesh.get_tensor(self._presence_out).ravel()[0])
        xy = np.c_[raw[:, :2], np.ones(len(raw))] @ affine.T
        z = raw[:, 2:] * (roi.side / CROP)
        return np.c_[xy, z], 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))


def _landmark_roi(points: FloatArray, scale: float) -> _Roi:
    """MediaPipe's tracking ROI: the points' box, square on its longer side, eyes level."""
    (ax, ay), (bx, by) = points[EYE_CORNERS[0][0], :2], points[EYE_CORNERS[1][1], :2]
    angle = math.atan2(by - ay, bx - ax)
    # The box in the frame rotated so the eyes are level, then its centre rotated back.
    ca, sa = math.cos(-angle), math.sin(-angle)
    xy = points[:, :2]
    rotated = xy @ np.array([[ca, sa], [-sa, ca]])
    lo, hi = rotated.min(axis=0), rotated.max(axis=0)
    mid = (lo + hi) / 2
    centre = mid @ np.array([[ca, -sa], [sa, ca]])
    return _Roi(float(centre[0]), float(centre[1]), float(scale * (hi - lo).max()), angle)


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """Top-level fields of a protobuf message (wire format): enough to read the face geometry
    without MediaPipe's generated classes."""
    out: list[tuple[int, int | bytes]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i : i + length], i + length
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out
