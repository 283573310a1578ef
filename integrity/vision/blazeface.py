"""BlazeFace (MediaPipe's face detector, Apache-2.0) run with LiteRT, decoded here.

Two variants ship in the mediapipe wheel (``model_files.py`` extracts them):

* full range: 192x192 input, one anchor per cell of a 48x48 grid (stride 4), faces from ~20 px of a
  640 px frame up to the whole frame, frontal to profile;
* short range: 128x128 input, 2 anchors per cell at stride 8 and 6 at stride 16 (896 in all), faces
  within ~2 m of the camera.

Input: RGB in [-1, 1], the frame letterboxed into the square. The frame is resized first (INTER_AREA
when shrinking) and then padded: padding the full frame and resizing the larger square costs more
than the model. Output per anchor: box centre offset, width and height, and 6 keypoints (x, y), all
in input pixels relative to the anchor centre, plus one logit. Scores are the logits' sigmoid;
overlapping boxes are merged by weighted non-maximum suppression, as MediaPipe does (or plain NMS).

An ``Interpreter`` is not thread-safe and Serve runs sync methods in a thread pool: one lock guards
set-input / invoke / read-output; preparing the input and decoding run outside it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from integrity.core.enums import FaceDetector
from integrity.vision.imaging import BGRImage, shrink

FloatArray = NDArray[np.float32]

# Keypoints, in the subject's terms (the subject's right eye is on image-left in a mirror-free frame).
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")


@dataclass(frozen=True, slots=True)
class BlazeFaceSpec:
    file: str
    input_size: int
    strides: tuple[int, ...]
    anchors_per_cell: tuple[int, ...]


SPECS: dict[FaceDetector, BlazeFaceSpec] = {
    FaceDetector.BLAZEFACE_FULL_RANGE: BlazeFaceSpec(
        "face_detection_full_range_sparse.tflite", 192, (4,), (1,)
    ),
    FaceDetector.BLAZEFACE_SHORT_RANGE: BlazeFaceSpec(
        "face_detection_short_range.tflite", 128, (8, 16), (2, 6)
    ),
}


@dataclass(frozen=True, slots=True)
class FaceCandidate:
    """One detection in frame pixels; the box may extend past the frame edge."""

    left: float
    top: float
    right: float
    bottom: float
    score: float
    keypoints: FloatArray  # (6, 2), in KEYPOINTS order

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def centre(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2


def anchors(spec: BlazeFaceSpec) -> FloatArray:
    """Anchor centres in [0, 1], in the model's output order (grid row-major, anchors per cell)."""
    parts = []
    for stride, per_cell in zip(spec.strides, spec.anchors_per_cell, strict=True):
        cells = spec.input_size // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        centres = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
        parts.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(parts).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Where the frame sits in the square input: input = frame * scale + (pad_x, pad_y)."""

    scale: float
    pad_x: int
    pad_y: int


def letterbox(image: BGRImage, size: int) -> tuple[FloatArray, Letterbox]:
    """BGR frame -> (1, size, size, 3) RGB float32 in [-1, 1]: resize first, then pad (black)."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if scale < 1:
        image = shrink(image, (new_w, new_h))
    elif (new_w, new_h) != (width, height):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = image[:, :, ::-1]  # BGR -> RGB
    tensor = canvas.astype(np.float32)
    tensor *= np.float32(2 / 255)
    tensor -= np.float32(1)
    return tensor[None], Letterbox(scale, pad_x, pad_y)


class BlazeFace:
    """One BlazeFace interpreter; ``detect`` may be called from several threads."""

    runtime = "litert"

    def __init__(
        self,
        models_dir: Path,
        variant: FaceDetector = FaceDetector.BLAZEFACE_FULL_RANGE,
        threads: int = 1,
        min_score: float = 0.5,
        nms_iou: float = 0.3,
        weighted_nms: bool = True,
    ) -> None:
        from ai_edge_litert.interpreter import Interpreter

        from integrity.vision.model_files import verified_path

        self.variant = variant
        self.spec = SPECS[variant]
        self.path = verified_path(models_dir, self.spec.file)
        self.min_score = min_score
        self.nms_iou = nms_iou
        self.weighted_nms = weighted_nms
        self._interpreter: Any = Interpreter(model_path=str(self.path), num_threads=max(1, threads))
        self._interpreter.allocate_tensors()
        (inp,) = self._interpreter.get_input_details()
        size = self.spec.input_size
        if [int(d) for d in inp["shape"]] != [1, size, size, 3]:
            raise ValueError(f"{self.path.name}: input {inp['shape']}, expected [1, {size}, {size}, 3]")
        self._input = int(inp["index"])
        self._anchors = anchors(self.spec)
        outputs = {int(d["shape"][-1]): int(d["index"]) for d in self._interpreter.get_output_details()}
        if set(outputs) != {16, 1}:
            raise ValueError(f"{self.path.name}: unexpected outputs {sorted(outputs)}")
        self._regressors, self._logits = outputs[16], outputs[1]
        self._lock = threading.Lock()

    def infer(self, tensor: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Raw outputs for one prepared input: regressors (N, 16) and logits (N,)."""
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            regressors = np.array(self._interpreter.get_tensor(self._regressors)[0], dtype=np.float32)
            logits = np.array(self._interpreter.get_tensor(self._logits)[0, :, 0], dtype=np.float32)
        return regressors, logits

    def detect(self, image: BGRImage, min_score: float | None = None) -> list[FaceCandidate]:
        """Faces in a BGR frame, strongest first, in frame pixels."""
        tensor, box = letterbox(image, self.spec.input_size)
        regressors, logits = self.infer(tensor)
        return self.decode(regressors, logits, box, self.min_score if min_score is None else min_score)

    def decode(
        self, regressors: FloatArray, logits: FloatArray, box: Letterbox, min_score: float
    ) -> list[FaceCandidate]:
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        keep = np.flatnonzero(scores >= min_score)
        if keep.size == 0:
            return []
        size = float(self.spec.input_size)
        raw = regressors[keep] / size
        centres = self._anchors[keep]
        cx, cy = centres[:, 0] + raw[:, 0], centres[:, 1] + raw[:, 1]
        half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
        ltrb = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
        points = centres[:, None, :] + raw[:, 4:16].reshape(-1, 6, 2)
        # Input [0, 1] -> frame pixels.
        offset = np.array([box.pad_x, box.pad_y], dtype=np.float32)
        ltrb = (ltrb.reshape(-1, 2, 2) * size - offset) / box.scale
        points = (points * size - offset) / box.scale
        merged = _nms(ltrb.reshape(-1, 4), points, scores[keep], self.nms_iou, self.weighted_nms)
        return [
            FaceCandidate(float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(s), p.astype(np.float32))
            for b, p, s in merged
        ]


def _iou(box: NDArray[Any], others: NDArray[Any]) -> NDArray[Any]:
    w = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    h = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    result: NDArray[Any] = inter / np.maximum(area + areas - inter, 1e-9)
    return result


def _nms(
    boxes: NDArray[Any], points: NDArray[Any], scores: NDArray[Any], iou: float, weighted: bool
) -> list[tuple[NDArray[Any], NDArray[Any], float]]:
    """(box, keypoints, score) per face, strongest first.

    Weighted: each face is the score-weighted mean of the boxes overlapping its strongest one by
    more than ``iou`` (steadier boxes from frame to frame); plain: the strongest box alone.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, points, scores = boxes[order], points[order], scores[order]
    remaining = np.arange(len(scores))
    merged = []
    while remaining.size:
        top = remaining[0]
        overlaps = _iou(boxes[top], boxes[remaining]) > iou
        overlaps[0] = True
        group = remaining[overlaps]
        if weighted and group.size > 1:
            weights = scores[group] / scores[group].sum()
            box = (boxes[group] * weights[:, None]).sum(axis=0)
            kps = (points[group] * weights[:, None, None]).sum(axis=0)
        else:
            box, kps = boxes[top], points[top]
        merged.append((box, kps, float(scores[top])))
        remaining = remaining[~overlaps]
    return merged
