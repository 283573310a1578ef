"""YOLO detection with onnxruntime: letterbox, inference, decoding and NMS in numpy.

No torch and no torchvision here: the CPU torch of this project cannot load the registry's
torchvision (its ``_C.so`` links CUDA), so Ultralytics' own ``predict()`` dies on
``torchvision::nms``. The model is an Ultralytics ONNX export (``yolo_weights.py``), whose
metadata carries the class names and stride. The letterbox, batching and decoding here serve the
LiteRT runtime too (``yolo_tflite.py``): Ultralytics' TFLite exports have the same output layout.

Shapes: the export has a dynamic batch and dynamic height/width, so each frame is letterboxed to
the smallest multiple of the stride that holds it at ``imgsz`` (a 16:9 frame at 320 runs as
320x192, ~40% less work than 320x320), and frames of one batch are padded to a common shape.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from integrity.vision.imaging import BGRImage

FloatArray = NDArray[np.float32]
PAD_VALUE = 114  # Ultralytics' letterbox grey
CLASS_OFFSET = 7680.0  # class-aware NMS in one pass: boxes of different classes never overlap


class ModelFormatError(ValueError):
    """The ONNX file is not an Ultralytics detection export this module can decode."""


# -- geometry -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a frame was placed in the network input: input = frame * ratio + pad."""

    ratio_x: float
    ratio_y: float
    pad_x: int
    pad_y: int
    width: int  # letterboxed size (before any batch padding)
    height: int

    def to_frame(self, boxes: FloatArray) -> FloatArray:
        """Map ``x1, y1, x2, y2`` rows from input pixels back to the frame that was letterboxed."""
        out = boxes.astype(np.float32, copy=True)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.ratio_x
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.ratio_y
        return out


def letterbox(
    image: BGRImage, imgsz: int, stride: int = 32, rect: bool = True, scaleup: bool = True
) -> tuple[BGRImage, Letterbox]:
    """Resize keeping the aspect ratio so the longer side is ``imgsz``, pad with grey, centred.

    ``rect`` pads only up to the next multiple of ``stride`` (minimal rectangle); otherwise to a
    square of ``imgsz``. Same arithmetic as Ultralytics' ``LetterBox`` (its ``auto`` is ``rect``).
    """
    height, width = image.shape[:2]
    ratio = imgsz / max(height, width)
    if not scaleup:
        ratio = min(ratio, 1.0)
    new_w, new_h = max(1, round(width * ratio)), max(1, round(height * ratio))
    if rect:
        out_w, out_h = _ceil_to(new_w, stride), _ceil_to(new_h, stride)
    else:
        out_w = out_h = _ceil_to(imgsz, stride)
    if (new_w, new_h) != (width, height):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (out_w - new_w) / 2, (out_h - new_h) / 2
    top, left = round(dh - 0.1), round(dw - 0.1)
    bottom, right = out_h - new_h - top, out_w - new_w - left
    if top or bottom or left or right:
        image = cv2.copyMakeBorder(
            image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE, PAD_VALUE, PAD_VALUE)
        )
    box = Letterbox(new_w / width, new_h / height, left, top, out_w, out_h)
    return image, box


def _ceil_to(value: int, multiple: int) -> int:
    return max(multiple, math.ceil(value / multiple) * multiple)


def to_batch(images: list[BGRImage], channels_last: bool = False) -> FloatArray:
    """BGR uint8 letterboxed images -> RGB float32 in 0..1, padded bottom/right to one shape.

    NCHW (ONNX exports) or, with ``channels_last``, NHWC (Ultralytics' TFLite exports).
    """
    height = max(img.shape[0] for img in images)
    width = max(img.shape[1] for img in images)
    batch = np.full((len(images), height, width, 3), PAD_VALUE, dtype=np.uint8)
    for i, img in enumerate(images):
        batch[i, : img.shape[0], : img.shape[1]] = img
    # BGR -> RGB, NHWC -> NCHW unless channels_last, scale; one contiguous float32 copy.
    rgb = batch[..., ::-1] if channels_last else batch[..., ::-1].transpose(0, 3, 1, 2)
    return np.ascontiguousarray(rgb, dtype=np.float32) / np.float32(255)


def iou_one_to_many(box: FloatArray, boxes: FloatArray) -> FloatArray:
    """IoU of one ``x1, y1, x2, y2`` box with each row of ``boxes``."""
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0).astype(np.float32)


def nms(
    boxes: FloatArray, scores: FloatArray, iou_threshold: float, max_keep: int | None = None
) -> list[int]:
    """Greedy non-maximum suppression; indices kept, best score first.

    A box is suppressed when its IoU with a kept, higher-scoring box is *greater* than
    ``iou_threshold`` (as torchvision and Ultralytics do). Ties keep the earlier index.
    """
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        if max_keep is not None and len(keep) >= max_keep:
            break
        rest = order[1:]
        order = rest[iou_one_to_many(boxes[best], boxes[rest]) <= iou_threshold]
    return keep


@dataclass(frozen=True, slots=True)
class RawDetection:
    """One detection in network-input pixels (before the letterbox is undone)."""

    class_id: int
    confidence: float
    x1: float
    y1: float
    x2: float
    y2: float


def decode(
    output: FloatArray,
    min_confidence: float,
    iou_threshold: float,
    max_detections: int,
    end2end: bool = False,
    max_candidates: int = 30000,
) -> list[RawDetection]:
    """One image's output -> detections.

    Raw head (``end2end`` False): ``(4 + classes, anchors)`` rows ``cx, cy, w, h, class scores...``;
    each anchor takes its best class, then class-aware NMS. End-to-end exports (NMS in the model):
    ``(K, 6)`` rows ``x1, y1, x2, y2, confidence, class``.
    """
    if end2end:
        rows = output[output[:, 4] >= min_confidence]
        rows = rows[np.argsort(-rows[:, 4], kind="stable")][:max_detections]
        return [
            RawDetection(int(r[5]), float(r[4]), float(r[0]), float(r[1]), float(r[2]), float(r[3]))
            for r in rows
        ]
    scores_all = output[4:]
    class_ids = scores_all.argmax(axis=0)
    confidences = scores_all[class_ids, np.arange(scores_all.shape[1])]
    selected = np.flatnonzero(confidences >= min_confidence)
    if selected.size == 0:
        return []
    if selected.size > max_candidates:
        selected = selected[np.argsort(-confidences[selected], kind="stable")[:max_candidates]]
    cx, cy, w, h = output[:4, selected]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    scores = confidences[selected].astype(np.float32)
    classes = class_ids[selected]
    offset = boxes + (classes.astype(np.float32) * CLASS_OFFSET)[:, None]
    keep = nms(offset, scores, iou_threshold, max_keep=max_detections)
    return [
        RawDetection(
            int(classes[i]),
            float(scores[i]),
            float(boxes[i, 0]),
            float(boxes[i, 1]),
            float(boxes[i, 2]),
            float(boxes[i, 3]),
        )
        for i in keep
    ]


# -- the model ------------------------------------------------------------------------------------
def parse_names(raw: object) -> dict[int, str]:
    """Ultralytics writes ``names`` as a Python dict literal ``{0: 'person', ...}`` (a string in ONNX
    metadata), or as the dict or list itself (TFLite metadata)."""
    value = raw
    if isinstance(raw, str):
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError) as exc:
            raise ModelFormatError(f"unreadable class names in the model metadata: {raw[:80]!r}") from exc
    if isinstance(value, list):
        value = dict(enumerate(value))
    if not isinstance(value, dict) or not value:
        raise ModelFormatError("the model metadata has no class names")
    try:
        return {int(k): str(v) for k, v in value.items()}
    except (TypeError, ValueError) as exc:
        raise ModelFormatError(f"unreadable class names in the model metadata: {value!r:.80}") from exc


class YoloOnnxRuntime:
    """An onnxruntime session over an Ultralytics detection export.

    ``InferenceSession.run`` is thread-safe: concurrent frames share one session.
    """

    runtime = "onnxruntime"
    channels_last = False  # NCHW input

    def __init__(self, path: Path, threads: int = 1, providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(0, threads)  # 0: onnxruntime's default (all cores)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self.session: Any = ort.InferenceSession(
            str(path), options, providers=providers or ["CPUExecutionProvider"]
        )
        meta: dict[str, str] = self.session.get_modelmeta().custom_metadata_map
        if meta.get("task", "detect") != "detect":
            raise ModelFormatError(f"{path.name} is a {meta.get('task')!r} model, not a detection model")
        if "names" not in meta:
            raise ModelFormatError(
                f"{path.name} has no class names in its metadata (not an Ultralytics export?)"
            )
        self.names = parse_names(meta["names"])
        self.stride = int(meta.get("stride", 32))
        self.end2end = meta.get("end2end", "False") == "True"
        self.version = meta.get("version", "?")
        (inp,) = self.session.get_inputs()
        self.input_name: str = inp.name
        shape = list(inp.shape)
        if len(shape) != 4:
            raise ModelFormatError(f"{path.name}: expected an NCHW input, got {shape}")
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        self.fixed_size = (shape[2], shape[3]) if all(isinstance(d, int) for d in shape[2:]) else None
        output_shape = self.session.get_outputs()[0].shape
        channels = output_shape[1] if len(output_shape) == 3 else None
        if not self.end2end and isinstance(channels, int) and channels != 4 + len(self.names):
            raise ModelFormatError(
                f"{path.name}: output has {channels} rows, expected 4 + {len(self.names)} classes"
            )

    @property
    def provider(self) -> str:
        providers: list[str] = self.session.get_providers()
        return providers[0]

    @property
    def dynamic(self) -> bool:
        return self.fixed_size is None and self.fixed_batch is None

    def infer(self, batch: FloatArray) -> FloatArray:
        """One forward pass; with a fixed-batch export, frames go through one at a time."""
        if self.fixed_batch is not None and batch.shape[0] != self.fixed_batch:
            parts = [self.infer(batch[i : i + 1]) for i in range(batch.shape[0])]
            return np.concatenate(parts, axis=0)
        outputs = self.session.run(None, {self.input_name: batch})
        result: FloatArray = outputs[0]
        return result
