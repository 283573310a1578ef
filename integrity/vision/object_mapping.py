"""From detector classes to the service's objects and events (configs/objects.yaml).

Plain data in, plain data out, so the rules are unit-tested on hand-made detections:

* a class listed in ``classes`` is reported; its event (``PHONE_DETECTED``, ``SUSPICIOUS_OBJECT``)
  or none (``person``: reported so the risk engine can count people beside faces);
* a class not listed is not reported at all;
* a detection is *evidence* (carries its class's event) only when the model is sure of it: its
  confidence reaches the class's ``sure_confidence``. Between the reporting floor and that level it
  is reported with no event: YOLO's low scores for phones land on hands at the face, paper cups and
  cables (measured on the fixture clips: up to 0.45), never on anything that was a phone;
* a sure phone (a class mapped to ``PHONE_DETECTED``) is *partial*, and supports
  ``PHONE_PARTIAL_DETECTED`` instead, when its box is cut by the frame edge: a phone partly out of
  view. A low confidence never makes a phone partial (it makes it no evidence at all). Other
  objects cut by the edge are marked ``partial`` but keep their event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import Field, field_validator

from integrity.core.config import ConfigSection, YamlConfig
from integrity.core.enums import OBJECT_EVENTS, PERSON_LABEL, EventType
from integrity.core.results import Box, DetectedObject
from integrity.vision.object_sampling import ObjectSamplingConfig

# A class maps to a whole phone or another object; PHONE_PARTIAL_DETECTED is derived from a phone.
MAPPABLE_EVENTS = frozenset(OBJECT_EVENTS) - {EventType.PHONE_PARTIAL_DETECTED}


def normalize_label(label: str) -> str:
    """``Cell_Phone`` and ``cell phone`` are one class name."""
    return " ".join(label.replace("_", " ").lower().split())


class BatchConfig(ConfigSection):
    enabled: bool = False
    max_batch_size: int = Field(4, ge=1, le=64)
    wait_timeout_s: float = Field(0.005, ge=0, le=1)


class PersonRelookConfig(ConfigSection):
    """``person_relook``: a second look for faces inside person boxes without one
    (integrity/vision/person_faces.py)."""

    enabled: bool = True
    max_crops: int = Field(2, ge=0, le=8, description="person boxes looked at again per frame, at most")
    min_person_confidence: float = Field(0.5, ge=0, le=1, description="person boxes below this: skipped")
    min_person_px: int = Field(24, ge=1, description="person boxes narrower than this: too small to read")
    head_share: float = Field(
        0.5, gt=0, le=1, description="the upper share of the person box cropped (where a head is)"
    )
    margin: float = Field(0.1, ge=0, le=1, description="crop margin around it, share of the box width")
    min_score: float = Field(0.5, ge=0, le=1, description="BlazeFace full range's score on the crop")

    same_face_overlap: float = Field(
        0.5,
        gt=0,
        le=1,
        description="a face found in a person box overlapping a face already found (on the whole frame "
        "or in another person box) by this share of the smaller box is that face, not another",
    )

    @property
    def active(self) -> bool:
        """Enabled, with at least one crop a frame."""
        return self.enabled and self.max_crops > 0


class ObjectsConfig(YamlConfig):
    """configs/objects.yaml."""

    classes: dict[str, EventType | None] = Field(
        default_factory=lambda: {
            "cell phone": EventType.PHONE_DETECTED,
            "book": EventType.SUSPICIOUS_OBJECT,
            "laptop": EventType.SUSPICIOUS_OBJECT,
            "remote": EventType.SUSPICIOUS_OBJECT,
            "tv": EventType.SUSPICIOUS_OBJECT,
            "tablet": EventType.SUSPICIOUS_OBJECT,
            PERSON_LABEL: None,
        }
    )
    min_confidence: dict[str, float] = Field(
        default_factory=dict, description="per-class floor instead of CONFIDENCE_THRESHOLD"
    )
    sure_confidence: dict[str, float] = Field(
        default_factory=lambda: {
            "cell phone": 0.6,
            "book": 0.5,
            "laptop": 0.5,
            "remote": 0.6,
            "tv": 0.5,
            "tablet": 0.5,
        },
        description="per class: the confidence from which a detection is evidence (carries its event); "
        "a class not listed: its reporting floor",
    )
    edge_margin: float = Field(0.01, ge=0, le=0.25, description="fraction of the frame side")
    edge_margin_min_px: int = Field(2, ge=0)
    iou_threshold: float = Field(0.5, gt=0, le=1)
    max_detections: int = Field(50, ge=1)
    imgsz_cpu: int = Field(320, ge=32, le=2048)
    imgsz_gpu: int = Field(640, ge=32, le=2048)
    rect: bool = True
    device: str = Field("auto", pattern="^(auto|cpu|cuda)$")
    threads: int = Field(
        1, ge=0, le=64, description="inference threads, onnxruntime or LiteRT (0: all cores)"
    )
    batch: BatchConfig = Field(default_factory=BatchConfig)
    person_relook: PersonRelookConfig = Field(default_factory=PersonRelookConfig)
    sampling: ObjectSamplingConfig = Field(default_factory=ObjectSamplingConfig)

    @field_validator("classes")
    @classmethod
    def _object_events_only(cls, value: dict[str, EventType | None]) -> dict[str, EventType | None]:
        for label, event in value.items():
            if event is not None and event not in MAPPABLE_EVENTS:
                raise ValueError(f"{label}: {event} is not an object event ({sorted(MAPPABLE_EVENTS)})")
        return {normalize_label(k): v for k, v in value.items()}

    @field_validator("min_confidence", "sure_confidence")
    @classmethod
    def _normalize(cls, value: dict[str, float]) -> dict[str, float]:
        if any(not 0 <= v <= 1 for v in value.values()):
            raise ValueError("confidence values must be within 0..1")
        return {normalize_label(k): v for k, v in value.items()}

    def floor(self, label: str, threshold: float) -> float:
        """Confidence a detection of ``label`` needs to count (``threshold``: CONFIDENCE_THRESHOLD)."""
        return self.min_confidence.get(label, threshold)

    def sure(self, label: str, threshold: float) -> float:
        """Confidence a detection of ``label`` needs to be evidence (never below its floor)."""
        floor = self.floor(label, threshold)
        return max(floor, self.sure_confidence.get(label, floor))

    def decode_floor(self, labels: list[str], threshold: float) -> float:
        """Lowest confidence any reported class can use."""
        return max(1e-3, min((self.floor(label, threshold) for label in labels), default=threshold))

    def is_phone(self, label: str) -> bool:
        return self.classes.get(label) == EventType.PHONE_DETECTED


@dataclass(frozen=True, slots=True)
class FrameDetection:
    """A detection in original-frame pixels (float, not clipped: a box may reach past the edge)."""

    label: str
    confidence: float
    x1: float
    y1: float
    x2: float
    y2: float


def cut_by_edge(det: FrameDetection, width: int, height: int, config: ObjectsConfig) -> bool:
    mx = max(config.edge_margin_min_px, config.edge_margin * width)
    my = max(config.edge_margin_min_px, config.edge_margin * height)
    return det.x1 <= mx or det.y1 <= my or det.x2 >= width - mx or det.y2 >= height - my


def clip_box(det: FrameDetection, width: int, height: int) -> Box | None:
    left = min(max(det.x1, 0.0), float(width))
    top = min(max(det.y1, 0.0), float(height))
    right = min(max(det.x2, 0.0), float(width))
    bottom = min(max(det.y2, 0.0), float(height))
    x, y = math.floor(left), math.floor(top)
    w, h = math.ceil(right) - x, math.ceil(bottom) - y
    if right - left < 1 or bottom - top < 1:
        return None
    return Box(x=x, y=y, width=w, height=h)


def map_detections(
    detections: list[FrameDetection], width: int, height: int, config: ObjectsConfig, threshold: float
) -> list[DetectedObject]:
    """Apply the class table, the floors, the sure levels and the partial-phone rule; strongest first."""
    found: list[DetectedObject] = []
    for det in detections:
        label = normalize_label(det.label)
        if label not in config.classes or det.confidence < config.floor(label, threshold):
            continue
        partial = cut_by_edge(det, width, height, config)
        event = config.classes[label]
        if det.confidence < config.sure(label, threshold):
            event = None  # seen, but not sure enough to be evidence of anything
        elif config.is_phone(label) and partial:
            event = EventType.PHONE_PARTIAL_DETECTED
        box = clip_box(det, width, height)
        if box is None:
            continue
        found.append(
            DetectedObject(
                label=label, confidence=round(det.confidence, 4), box=box, partial=partial, event=event
            )
        )
    found.sort(key=lambda o: o.confidence, reverse=True)
    return found
