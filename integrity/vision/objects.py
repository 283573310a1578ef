"""Object detection: YOLO finds phones (whole and partial), books, laptops, screens, people. The
objects deployment (``deployments/objects.py``) wraps :class:`ObjectAnalyzer`.

* weights: ``YOLO_MODEL`` under ``MODEL_PATH`` (``yolo_weights.py``); the file decides the runtime:
  a ``.pt`` is exported to ONNX once and cached beside it, an ``.onnx`` runs as it is (both with
  onnxruntime), a ``.tflite`` runs with LiteRT. The replica never downloads anything (``make run``
  and ``make models`` fetch the default weights beforehand where a network exists). Without a
  usable model the detector says so in ``status`` and in every answer (``available: false`` with
  the reason), so no response ever reads "no phone" when nothing looked.
* inference: a ``YoloRuntime`` (``yolo_onnx.py``, ``yolo_tflite.py``) on a letterboxed batch; the
  letterbox, decoding and NMS (numpy) are shared. Never torch or torchvision in this process. CUDA
  through onnxruntime's provider where the replica has a GPU and an onnxruntime build with CUDA
  (``onnxruntime-gpu``); CPU otherwise. The input size is the model's own where it is fixed (a
  TFLite export: 640), else ``imgsz_cpu`` / ``imgsz_gpu``.
* mapping: classes to events, floors, sure levels and the partial-phone rule (``object_mapping.py``,
  ``configs/objects.yaml``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from integrity.core.results import ModelStatus, ObjectAnalysis
from integrity.core.timing import ms_since
from integrity.vision.imaging import BGRImage, ImageDecodeError, decode, read_header
from integrity.vision.object_mapping import FrameDetection, ObjectsConfig, map_detections, normalize_label
from integrity.vision.yolo_onnx import (
    FloatArray,
    Letterbox,
    ModelFormatError,
    YoloOnnxRuntime,
    letterbox,
    to_batch,
)
from integrity.vision.yolo_onnx import decode as decode_output
from integrity.vision.yolo_tflite import YoloTfliteRuntime
from integrity.vision.yolo_weights import (
    LITERT,
    PreparedModel,
    WeightsUnavailable,
    prepare_model,
    resolve_weights,
    runtime_for,
)

__all__ = ["ObjectAnalyzer", "ObjectsConfig", "YoloRuntime", "open_model", "resolve_weights"]

logger = logging.getLogger(__name__)

CPU = ["CPUExecutionProvider"]
CUDA = ["CUDAExecutionProvider", "CPUExecutionProvider"]


def choose_providers(device: str, gpu_assigned: bool | None = None) -> tuple[list[str], str]:
    """onnxruntime providers for ``device`` (auto, cpu, cuda) and a note on the choice.

    ``gpu_assigned``: whether the caller's scheduler gave this process a GPU (under Ray only GPUs
    given to the replica count; the deployment says); None outside a scheduler, where CUDA being
    there is enough.
    """
    if device == "cpu":
        return CPU, "cpu"
    import onnxruntime as ort

    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    gpu = has_cuda and gpu_assigned is not False
    if gpu:
        return CUDA, "cuda"
    if device == "cuda":
        why = "no GPU assigned to this replica" if has_cuda else "onnxruntime has no CUDA provider"
        return CPU, f"cpu ({why})"
    return CPU, "cpu"


class YoloRuntime(Protocol):
    """What the detector needs from a runtime: ``YoloOnnxRuntime`` and ``YoloTfliteRuntime``."""

    @property
    def runtime(self) -> str: ...  # "onnxruntime", "litert"
    @property
    def names(self) -> dict[int, str]: ...
    @property
    def stride(self) -> int: ...
    @property
    def end2end(self) -> bool: ...
    @property
    def version(self) -> str: ...
    @property
    def fixed_size(self) -> tuple[int, int] | None: ...  # (height, width) of a fixed input
    @property
    def channels_last(self) -> bool: ...  # NHWC input (else NCHW)

    def infer(self, batch: FloatArray) -> FloatArray: ...  # must be safe to call from several threads


def open_model(prepared: PreparedModel, threads: int, providers: list[str]) -> YoloRuntime:
    """The runtime the prepared file asks for (``yolo_weights.RUNTIMES``: the suffix decides)."""
    if prepared.runtime == LITERT:
        return YoloTfliteRuntime(prepared.file, threads=threads)
    return YoloOnnxRuntime(prepared.file, threads=threads, providers=providers)


@dataclass(slots=True)
class _Frame:
    """One frame on its way through the detector."""

    image: BGRImage | None = None  # letterboxed
    box: Letterbox | None = None
    scale_x: float = 1.0  # decoded size relative to the original (reduced JPEG decoding)
    scale_y: float = 1.0
    width: int = 0  # original frame size, as displayed
    height: int = 0
    error: str | None = None
    decode_ms: float = 0.0


class ObjectAnalyzer:
    """Load / preprocess / predict / postprocess, no transport code: tests call it directly."""

    def __init__(
        self,
        model_path: Path,
        model_name: str,
        confidence_threshold: float,
        config: ObjectsConfig | None = None,
        gpu_assigned: bool | None = None,
    ) -> None:
        self.model_path = model_path
        self.gpu_assigned = gpu_assigned
        self.model_name = model_name
        self.weights = resolve_weights(model_path, model_name)
        self.confidence_threshold = confidence_threshold
        self.config = config or ObjectsConfig()
        self.imgsz = self.config.imgsz_cpu
        self.rect = self.config.rect
        self.model: YoloRuntime | None = None
        self._labels: dict[int, str] = {}  # class id -> reported label
        self._min_confidence = confidence_threshold
        self._status = ModelStatus(
            available=False, detail="not loaded", file=str(self.weights), runtime=runtime_for(self.weights)
        )

    # -- load -------------------------------------------------------------------------------------
    def load(self) -> None:
        cfg = self.config
        prepared: PreparedModel | None = None
        try:
            providers: list[str] = []
            if runtime_for(self.weights) == LITERT:
                device = "cpu" if cfg.device != "cuda" else "cpu (LiteRT runs on the CPU here)"
            else:
                providers, device = choose_providers(cfg.device, self.gpu_assigned)
            self.imgsz = cfg.imgsz_gpu if device == "cuda" else cfg.imgsz_cpu
            prepared = prepare_model(self.model_path, self.model_name, imgsz=self.imgsz)
            model = open_model(prepared, cfg.threads, providers)
        except WeightsUnavailable as exc:
            self._unavailable(str(exc), prepared)
            return
        except (ModelFormatError, OSError) as exc:
            self._unavailable(f"YOLO model {self.weights} could not be loaded: {exc}", prepared)
            return
        except Exception as exc:  # onnxruntime and LiteRT raise their own exception types
            logger.exception("object model failed to load")
            self._unavailable(
                f"YOLO model {self.weights} could not be loaded: {type(exc).__name__}: {exc}", prepared
            )
            return

        labels = {i: normalize_label(n) for i, n in model.names.items()}
        self._labels = {i: n for i, n in labels.items() if n in cfg.classes}
        mapped = sorted(set(self._labels.values()))
        if not any(cfg.classes[n] is not None for n in mapped):
            self._unavailable(
                f"YOLO model {prepared.file.name} knows none of the configured object classes "
                f"({', '.join(sorted(cfg.classes))})",
                prepared,
            )
            return
        size_note = ""
        if model.fixed_size is not None:  # the model's own input size wins over imgsz_cpu/gpu
            height, width = model.fixed_size
            if height != width:
                self._unavailable(f"{prepared.file.name}: fixed non-square input {width}x{height}", prepared)
                return
            if height != self.imgsz:
                size_note = " (fixed by the model)"
            self.imgsz, self.rect = height, False
        self._min_confidence = cfg.decode_floor(mapped, self.confidence_threshold)
        self.model = model
        self._warm_up()
        phones = "" if any(cfg.is_phone(n) for n in mapped) else "; this model has no phone class"
        checked = ", checksum verified" if prepared.verified else ""
        self._status = ModelStatus(
            available=True,
            detail=(
                f"YOLO {prepared.note} (Ultralytics {model.version}{checked}), {model.runtime} on {device}, "
                f"imgsz {self.imgsz}{size_note}; reports {', '.join(mapped)}{phones}"
            ),
            file=str(prepared.source),
            sha256=prepared.sha256,
            runtime=model.runtime,
        )
        logger.info("objects: %s", self._status.detail)

    def _unavailable(self, reason: str, prepared: PreparedModel | None = None) -> None:
        self.model = None
        self._status = ModelStatus(
            available=False,
            detail=f"{reason}: object detection (phones, books, laptops) is not performed",
            file=str(self.weights),
            sha256=prepared.sha256 if prepared is not None else None,
            runtime=runtime_for(self.weights),
        )
        logger.warning("objects unavailable: %s", reason)

    def _warm_up(self) -> None:
        grey = np.full((self.imgsz, self.imgsz, 3), 114, dtype=np.uint8)
        image, _ = letterbox(grey, self.imgsz, self._stride, rect=self.rect)
        assert self.model is not None
        self.model.infer(to_batch([image], channels_last=self.model.channels_last))

    @property
    def _stride(self) -> int:
        return self.model.stride if self.model is not None else 32

    @property
    def status(self) -> ModelStatus:
        return self._status

    # -- entry points ------------------------------------------------------------------------------
    def analyze(self, data: bytes) -> ObjectAnalysis:
        """One encoded JPEG/PNG frame."""
        return self.analyze_many([data])[0]

    def analyze_many(self, frames: list[bytes]) -> list[ObjectAnalysis]:
        """Several frames in one forward pass (padded to one shape); each gets its own answer."""
        if self.model is None:
            return [ObjectAnalysis(status=self._status) for _ in frames]
        prepared = [self.preprocess(data) for data in frames]
        good = [p for p in prepared if p.error is None]
        outputs: list[np.ndarray] = []
        infer_ms = 0.0
        if good:
            tick = time.perf_counter()
            batch = to_batch([p.image for p in good if p.image is not None], self.model.channels_last)
            raw = self.predict(batch)
            infer_ms = ms_since(tick)
            outputs = [raw[i] for i in range(raw.shape[0])]
        results: list[ObjectAnalysis] = []
        outputs_iter = iter(outputs)
        for frame in prepared:
            if frame.error is not None:
                results.append(
                    ObjectAnalysis(
                        status=ModelStatus(
                            available=False, detail=f"frame could not be decoded: {frame.error}"
                        )
                    )
                )
                continue
            tick = time.perf_counter()
            analysis = self.postprocess(frame, next(outputs_iter))
            analysis.timings_ms.update(
                decode=round(frame.decode_ms, 2),
                inference=round(infer_ms, 2),
                postprocess=round(ms_since(tick), 2),
                batch_size=float(len(good)),
            )
            results.append(analysis)
        return results

    # -- stages -------------------------------------------------------------------------------------
    def preprocess(self, data: bytes) -> _Frame:
        """Decode (at reduced size when the JPEG is much larger than needed) and letterbox."""
        tick = time.perf_counter()
        try:
            header = read_header(data)
            image, _ = decode(data, header, min_side=self.imgsz)
        except ImageDecodeError as exc:
            return _Frame(error=str(exc))
        height, width = image.shape[:2]
        frame_w, frame_h = header.width, header.height
        if (width > height) != (frame_w > frame_h) and width != height:
            frame_w, frame_h = frame_h, frame_w  # the decoder applied an EXIF rotation
        boxed, box = letterbox(image, self.imgsz, self._stride, rect=self.rect)
        return _Frame(
            image=boxed,
            box=box,
            scale_x=width / frame_w,
            scale_y=height / frame_h,
            width=frame_w,
            height=frame_h,
            decode_ms=ms_since(tick),
        )

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("ObjectAnalyzer.load() did not load a model")
        return self.model.infer(batch)

    def postprocess(self, frame: _Frame, output: np.ndarray) -> ObjectAnalysis:
        assert self.model is not None and frame.box is not None
        cfg = self.config
        raw = [
            r
            for r in decode_output(
                output,
                min_confidence=self._min_confidence,
                iou_threshold=cfg.iou_threshold,
                max_detections=cfg.max_detections,
                end2end=self.model.end2end,
            )
            if r.class_id in self._labels
        ]
        detections: list[FrameDetection] = []
        if raw:
            boxes = frame.box.to_frame(np.array([[r.x1, r.y1, r.x2, r.y2] for r in raw], dtype=np.float32))
            boxes /= np.array([frame.scale_x, frame.scale_y, frame.scale_x, frame.scale_y], dtype=np.float32)
            detections = [
                FrameDetection(self._labels[r.class_id], r.confidence, *map(float, b))
                for r, b in zip(raw, boxes, strict=True)
            ]
        objects = map_detections(detections, frame.width, frame.height, cfg, self.confidence_threshold)
        return ObjectAnalysis(status=self._status, objects=objects)
