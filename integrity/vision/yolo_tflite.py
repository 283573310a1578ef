"""YOLO detection with LiteRT (``ai-edge-litert``) on an Ultralytics TFLite export.

The same interface as ``YoloOnnxRuntime`` (``yolo_onnx.py``), so the letterbox, batching, decoding
and NMS there serve both. What differs:

* metadata: Ultralytics appends it to the ``.tflite`` as a small zip, ``metadata.json`` (recent
  exports) or one Python-literal text file (``temp_meta.txt``, 8.1): names, stride, imgsz, task;
* input: usually NHWC (``[1, 640, 640, 3]``, float32 RGB in 0..1) and of a fixed size, which then
  decides the letterbox size whatever ``imgsz_cpu`` says; a dynamic input is sized from the
  metadata's ``imgsz``. Full-integer models (int8 input/output) are (de)quantized at the boundary;
* output: ``[1, 4 + classes, anchors]`` like the ONNX export, but with box coordinates normalized
  to 0..1 (to spare int8 resolution), so they are scaled back to input pixels here, as Ultralytics'
  own LiteRT backend does;
* threads: an ``Interpreter`` is not thread-safe, and the deployment runs frames in a thread pool,
  so one lock guards set-input / invoke / read-output (frames of one replica take turns).
"""

from __future__ import annotations

import ast
import json
import os
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from integrity.vision.yolo_onnx import FloatArray, ModelFormatError, parse_names

MAX_METADATA_BYTES = 1 << 20


def read_metadata(path: Path) -> dict[str, Any]:
    """Ultralytics' metadata appended to a ``.tflite``; ``{}`` when the file carries none."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            entry = next(
                (e for e in entries if e.filename == "metadata.json"), entries[0] if entries else None
            )
            if entry is None or entry.file_size > MAX_METADATA_BYTES:
                return {}
            raw = archive.read(entry).decode("utf-8")
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError):
        return {}
    try:
        value = json.loads(raw) if entry.filename.endswith(".json") else ast.literal_eval(raw)
    except (ValueError, SyntaxError) as exc:
        raise ModelFormatError(f"{path.name}: unreadable Ultralytics metadata ({entry.filename})") from exc
    return value if isinstance(value, dict) else {}


def metadata_imgsz(meta: dict[str, Any]) -> tuple[int, int] | None:
    """``imgsz`` of the metadata as (height, width): Ultralytics writes ``[h, w]`` or one int."""
    value = meta.get("imgsz")
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return None
    if isinstance(value, int):
        return value, value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    return None


def _end2end(meta: dict[str, Any]) -> bool:
    args = meta.get("args")
    nms = isinstance(args, dict) and bool(args.get("nms"))
    return meta.get("end2end") in (True, "True") or nms


class YoloTfliteRuntime:
    """A LiteRT interpreter over an Ultralytics detection export (``.tflite``)."""

    runtime = "litert"

    def __init__(self, path: Path, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = path
        meta = read_metadata(path)
        if meta.get("task", "detect") != "detect":
            raise ModelFormatError(f"{path.name} is a {meta.get('task')!r} model, not a detection model")
        if "names" not in meta:
            raise ModelFormatError(
                f"{path.name} has no class names in its metadata (not an Ultralytics export?)"
            )
        self.names = parse_names(meta["names"])
        self.stride = int(meta.get("stride", 32))
        self.end2end = _end2end(meta)
        self.version = str(meta.get("version", "?"))
        self.metadata_imgsz = metadata_imgsz(meta)

        self._interpreter: Any = Interpreter(
            model_path=str(path), num_threads=threads if threads > 0 else os.cpu_count() or 1
        )
        inputs = self._interpreter.get_input_details()
        if len(inputs) != 1:
            raise ModelFormatError(f"{path.name}: expected one input, got {len(inputs)}")
        signature = [int(d) for d in inputs[0].get("shape_signature", inputs[0]["shape"])]
        if len(signature) != 4 or 3 not in (signature[1], signature[3]):
            raise ModelFormatError(f"{path.name}: expected an NHWC or NCHW image input, got {signature}")
        self.channels_last = signature[3] == 3
        spatial = signature[1:3] if self.channels_last else signature[2:4]
        if any(d <= 0 for d in [signature[0], *spatial]):
            if self.metadata_imgsz is None:
                raise ModelFormatError(f"{path.name}: dynamic input {signature} and no imgsz in its metadata")
            height, width = self.metadata_imgsz
            shape = [1, height, width, 3] if self.channels_last else [1, 3, height, width]
            self._interpreter.resize_tensor_input(inputs[0]["index"], shape, strict=False)
        self._interpreter.allocate_tensors()

        self._input: dict[str, Any] = self._interpreter.get_input_details()[0]
        shape = [int(d) for d in self._input["shape"]]
        self.fixed_batch = shape[0]
        self.fixed_size = (shape[1], shape[2]) if self.channels_last else (shape[2], shape[3])
        self._output: dict[str, Any] = self._interpreter.get_output_details()[0]
        output_shape = [int(d) for d in self._output["shape"]]
        if not self.end2end and (len(output_shape) != 3 or output_shape[1] != 4 + len(self.names)):
            expected = f"[batch, 4 + {len(self.names)} classes, anchors]"
            raise ModelFormatError(f"{path.name}: output {output_shape}, expected {expected}")
        self._lock = threading.Lock()

    def infer(self, batch: FloatArray) -> FloatArray:
        """One forward pass per frame (the input has a fixed batch); ``batch`` in ``channels_last``
        layout, as ``to_batch(..., channels_last=model.channels_last)`` makes it."""
        if batch.shape[0] != self.fixed_batch:
            parts = [self.infer(batch[i : i + 1]) for i in range(batch.shape[0])]
            return np.concatenate(parts, axis=0)
        expected = tuple(int(d) for d in self._input["shape"])
        if batch.shape != expected:
            raise ValueError(f"{self.path.name}: input {batch.shape}, the model takes {expected}")
        data = _quantize(batch, self._input)
        with self._lock:
            self._interpreter.set_tensor(self._input["index"], data)
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._output["index"])  # a copy
        out = _dequantize(raw, self._output)
        height, width = self.fixed_size
        if not self.end2end:  # [batch, 4 + classes, anchors]: rows 0-3 are cx, cy, w, h
            out[:, [0, 2]] *= width
            out[:, [1, 3]] *= height
        elif self.channels_last:  # [batch, K, 6]: x1, y1, x2, y2, score, class (onnx2tf normalizes these too)
            out[:, :, [0, 2]] *= width
            out[:, :, [1, 3]] *= height
        return out


def _quantize(batch: FloatArray, detail: dict[str, Any]) -> Any:
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return np.ascontiguousarray(batch, dtype=np.float32)
    scale, zero_point = detail["quantization"]
    limits = np.iinfo(dtype)
    values = np.round(batch / scale + zero_point)
    return np.clip(values, limits.min, limits.max).astype(dtype)


def _dequantize(raw: Any, detail: dict[str, Any]) -> FloatArray:
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        result: FloatArray = np.array(raw, dtype=np.float32)
        return result
    scale, zero_point = detail["quantization"]
    values: FloatArray = (np.asarray(raw, dtype=np.float32) - np.float32(zero_point)) * np.float32(scale)
    return values
