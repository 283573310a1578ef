"""Objects deployment: YOLO detection of phones (whole and partial), books, laptops, screens, people.

* weights: ``YOLO_MODEL`` under ``MODEL_PATH`` (``yolo_weights.py``): a ``.pt`` is exported to
  ONNX once and cached beside it; none ship with the repository and none are downloaded at run
  time. Without a usable model the deployment says so in ``status`` and in every answer
  (``available: false`` with the reason), so no response ever reads "no phone" when nothing looked.
* inference: onnxruntime on the ONNX export (``yolo_onnx.py``: letterbox, decoding, NMS in numpy);
  never torch or torchvision in this process. CUDA through onnxruntime's provider where the
  replica has a GPU and an onnxruntime build with CUDA (``onnxruntime-gpu``); CPU otherwise.
* mapping: classes to events, thresholds and the partial-phone rule (``object_mapping.py``,
  ``configs/objects.yaml``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from integrity.core.results import ModelStatus, ObjectAnalysis
from integrity.core.timing import ms_since
from integrity.vision.imaging import BGRImage, ImageDecodeError, decode, read_header
from integrity.vision.object_mapping import FrameDetection, ObjectsConfig, map_detections, normalize_label
from integrity.vision.yolo_onnx import Letterbox, ModelFormatError, YoloOnnxModel, letterbox, to_batch
from integrity.vision.yolo_onnx import decode as decode_output
from integrity.vision.yolo_weights import WeightsUnavailable, prepare_onnx, resolve_weights

__all__ = ["ObjectDetector", "ObjectsConfig", "resolve_weights"]

logger = logging.getLogger(__name__)

CPU = ["CPUExecutionProvider"]
CUDA = ["CUDAExecutionProvider", "CPUExecutionProvider"]


def choose_providers(device: str) -> tuple[list[str], str]:
    """onnxruntime providers for ``device`` (auto, cpu, cuda) and a note on the choice."""
    if device == "cpu":
        return CPU, "cpu"
    import onnxruntime as ort

    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    gpu = has_cuda and _gpu_assigned()
    if gpu:
        return CUDA, "cuda"
    if device == "cuda":
        why = "no GPU assigned to this replica" if has_cuda else "onnxruntime has no CUDA provider"
        return CPU, f"cpu ({why})"
    return CPU, "cpu"


def _gpu_assigned() -> bool:
    """Under Ray only GPUs given to this replica count; outside Ray, CUDA being there is enough."""
    import ray

    if ray.is_initialized():
        return bool(ray.get_gpu_ids())
    return True


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


class ObjectDetector:
    """Load / preprocess / predict / postprocess, no transport code: tests call it directly."""

    def __init__(
        self,
        model_path: Path,
        model_name: str,
        confidence_threshold: float,
        config: ObjectsConfig | None = None,
    ) -> None:
        self.model_path = model_path
        self.model_name = model_name
        self.weights = resolve_weights(model_path, model_name)
        self.confidence_threshold = confidence_threshold
        self.config = config or ObjectsConfig()
        self.imgsz = self.config.imgsz_cpu
        self.rect = self.config.rect
        self.model: YoloOnnxModel | None = None
        self._labels: dict[int, str] = {}  # class id -> reported label
        self._min_confidence = confidence_threshold
        self._status = ModelStatus(available=False, detail="not loaded")

    # -- load -------------------------------------------------------------------------------------
    def load(self) -> None:
        cfg = self.config
        try:
            providers, device = choose_providers(cfg.device)
            self.imgsz = cfg.imgsz_gpu if device == "cuda" else cfg.imgsz_cpu
            prepared = prepare_onnx(self.model_path, self.model_name, imgsz=self.imgsz)
            model = YoloOnnxModel(prepared.onnx, threads=cfg.threads, providers=providers)
        except WeightsUnavailable as exc:
            self._unavailable(str(exc))
            return
        except (ModelFormatError, OSError) as exc:
            self._unavailable(f"YOLO model {self.weights} could not be loaded: {exc}")
            return
        except Exception as exc:  # onnxruntime raises its own exception types
            logger.exception("object model failed to load")
            self._unavailable(f"YOLO model {self.weights} could not be loaded: {type(exc).__name__}: {exc}")
            return

        labels = {i: normalize_label(n) for i, n in model.names.items()}
        self._labels = {i: n for i, n in labels.items() if n in cfg.classes}
        mapped = sorted(set(self._labels.values()))
        if not any(cfg.classes[n] is not None for n in mapped):
            self._unavailable(
                f"YOLO model {prepared.onnx.name} knows none of the configured object classes "
                f"({', '.join(sorted(cfg.classes))})"
            )
            return
        if model.fixed_size is not None:
            height, width = model.fixed_size
            if height != width:
                self._unavailable(f"{prepared.onnx.name}: fixed non-square input {width}x{height}")
                return
            self.imgsz, self.rect = height, False
        self._min_confidence = cfg.decode_floor(mapped, self.confidence_threshold)
        self.model = model
        self._warm_up()
        phones = "" if any(cfg.is_phone(n) for n in mapped) else "; this model has no phone class"
        checked = ", checksum verified" if prepared.verified else ""
        self._status = ModelStatus(
            available=True,
            detail=(
                f"YOLO {prepared.note} (Ultralytics {model.version}{checked}), onnxruntime on {device}, "
                f"imgsz {self.imgsz}; reports {', '.join(mapped)}{phones}"
            ),
        )
        logger.info("objects: %s", self._status.detail)

    def _unavailable(self, reason: str) -> None:
        self.model = None
        self._status = ModelStatus(
            available=False,
            detail=f"{reason}: object detection (phones, books, laptops) is not performed",
        )
        logger.warning("objects unavailable: %s", reason)

    def _warm_up(self) -> None:
        grey = np.full((self.imgsz, self.imgsz, 3), 114, dtype=np.uint8)
        image, _ = letterbox(grey, self.imgsz, self._stride, rect=self.rect)
        assert self.model is not None
        self.model.infer(to_batch([image]))

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
            batch = to_batch([p.image for p in good if p.image is not None])
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
            raise RuntimeError("ObjectDetector.load() did not load a model")
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
