"""Classes to events, floors, sure levels and the partial-phone rule, on hand-made detections."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from integrity.core.enums import EventType
from integrity.core.paths import REPO_ROOT
from integrity.core.results import Box, DetectedObject
from integrity.vision.object_mapping import FrameDetection, ObjectsConfig, cut_by_edge, map_detections

W, H = 640, 480
THRESHOLD = 0.25
CONFIG = ObjectsConfig(edge_margin=0.01, edge_margin_min_px=2)  # phones sure from 0.6


def det(
    label: str, confidence: float, x1: float = 200, y1: float = 150, x2: float = 260, y2: float = 260
) -> FrameDetection:
    return FrameDetection(label, confidence, x1, y1, x2, y2)


def one(
    detection: FrameDetection, config: ObjectsConfig = CONFIG, threshold: float = THRESHOLD
) -> DetectedObject | None:
    found = map_detections([detection], W, H, config, threshold)
    assert len(found) <= 1
    return found[0] if found else None


def test_whole_phone_in_the_frame_is_phone_detected() -> None:
    phone = one(det("cell phone", 0.80))
    assert phone is not None
    assert phone.event == EventType.PHONE_DETECTED and phone.partial is False
    assert phone.label == "cell phone" and phone.confidence == pytest.approx(0.80)
    assert phone.box == Box(x=200, y=150, width=60, height=110)


@pytest.mark.parametrize(
    ("x1", "y1", "x2", "y2"),
    [
        (-30, 150, 40, 260),  # reaches past the left edge
        (0, 150, 60, 260),  # touches it
        (600, 150, 639, 260),  # within 1% (6.4 px) of the right edge
        (200, -5, 260, 60),  # top
        (200, 420, 260, 476),  # within 1% (4.8 px) of the bottom
    ],
)
def test_phone_cut_by_the_frame_edge_is_partial(x1: float, y1: float, x2: float, y2: float) -> None:
    phone = one(det("cell phone", 0.9, x1, y1, x2, y2))
    assert phone is not None
    assert phone.event == EventType.PHONE_PARTIAL_DETECTED and phone.partial is True
    box = phone.box
    assert box.x >= 0 and box.y >= 0 and box.x + box.width <= W and box.y + box.height <= H


def test_edge_margin_is_the_larger_of_fraction_and_pixels() -> None:
    near = det("cell phone", 0.9, 5, 150, 60, 260)
    assert not cut_by_edge(near, W, H, ObjectsConfig(edge_margin=0.0, edge_margin_min_px=2))
    assert cut_by_edge(near, W, H, ObjectsConfig(edge_margin=0.0, edge_margin_min_px=8))
    assert cut_by_edge(near, W, H, ObjectsConfig(edge_margin=0.01, edge_margin_min_px=0))  # 6.4 px


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [
        (0.90, EventType.PHONE_DETECTED),
        (0.60, EventType.PHONE_DETECTED),  # at the sure level: evidence
        (0.599, None),  # just below: reported, but no event
        (0.45, None),  # the paper cup's best "cell phone" score on the meeting clip
        (0.25, None),  # at the reporting floor
    ],
)
def test_phone_below_sure_confidence_is_reported_without_an_event(
    confidence: float, expected: EventType | None
) -> None:
    phone = one(det("cell phone", confidence))
    assert phone is not None and phone.label == "cell phone"
    assert phone.event == expected
    assert phone.partial is False  # a low confidence never makes a partial phone


@pytest.mark.parametrize("confidence", [0.249, 0.15, 0.05])
def test_phone_below_the_floor_is_not_reported(confidence: float) -> None:
    assert one(det("cell phone", confidence)) is None


def test_low_confidence_phone_at_the_edge_is_no_partial_phone() -> None:
    """The old "partial band": a doubtful phone cut by the edge is still only doubtful."""
    weak = one(det("cell phone", 0.4, -10, 150, 50, 260))
    assert weak is not None and weak.event is None and weak.partial is True
    sure = one(det("cell phone", 0.7, -10, 150, 50, 260))
    assert sure is not None and sure.event == EventType.PHONE_PARTIAL_DETECTED and sure.partial is True


def test_sure_level_is_per_class_and_never_below_the_floor() -> None:
    assert CONFIG.sure("cell phone", THRESHOLD) == pytest.approx(0.6)
    assert CONFIG.sure("tv", THRESHOLD) == pytest.approx(0.5)
    assert CONFIG.sure("person", THRESHOLD) == pytest.approx(THRESHOLD)  # unlisted: its floor
    assert CONFIG.sure("cell phone", 0.8) == pytest.approx(0.8)  # a floor above it wins
    strict = one(det("cell phone", 0.7), threshold=0.8)
    assert strict is None
    loose = CONFIG.model_copy(update={"sure_confidence": {}})
    found = one(det("cell phone", 0.3), config=loose)
    assert found is not None and found.event == EventType.PHONE_DETECTED


def test_poster_read_as_tv_is_evidence_only_when_sure() -> None:
    """A world-map poster scores 0.22-0.72 as "tv" frame to frame (A_video_webcam_honest_...)."""
    doubtful = one(det("tv", 0.45))
    assert doubtful is not None and doubtful.event is None
    sure = one(det("tv", 0.72))
    assert sure is not None and sure.event == EventType.SUSPICIOUS_OBJECT


@pytest.mark.parametrize(
    ("label", "event"),
    [
        ("book", EventType.SUSPICIOUS_OBJECT),
        ("laptop", EventType.SUSPICIOUS_OBJECT),
        ("remote", EventType.SUSPICIOUS_OBJECT),
        ("tv", EventType.SUSPICIOUS_OBJECT),
        ("tablet", EventType.SUSPICIOUS_OBJECT),
        ("person", None),
        ("Cell_Phone", EventType.PHONE_DETECTED),  # names are matched loosely
    ],
)
def test_class_mapping(label: str, event: EventType | None) -> None:
    found = one(det(label, 0.7))
    assert found is not None and found.event == event and found.partial is False


@pytest.mark.parametrize("label", ["dog", "cup", "chair", "keyboard"])
def test_unlisted_classes_are_not_reported(label: str) -> None:
    assert one(det(label, 0.99)) is None


def test_other_objects_follow_the_threshold_and_keep_their_event_when_cut() -> None:
    assert one(det("book", 0.2)) is None  # below the floor: not reported
    doubtful = one(det("book", 0.3))
    assert doubtful is not None and doubtful.event is None  # below its sure level: no event
    cut = one(det("laptop", 0.7, -10, 100, 300, 400))
    assert cut is not None and cut.partial is True and cut.event == EventType.SUSPICIOUS_OBJECT


def test_per_class_floor_overrides_the_threshold() -> None:
    config = ObjectsConfig(min_confidence={"Person": 0.5})
    assert one(det("person", 0.45), config=config) is None
    assert one(det("person", 0.55), config=config) is not None
    assert one(det("book", 0.30), config=config) is not None  # others keep CONFIDENCE_THRESHOLD
    assert config.decode_floor(["person", "cell phone", "book"], THRESHOLD) == pytest.approx(THRESHOLD)
    assert config.decode_floor(["person"], THRESHOLD) == pytest.approx(0.5)


def test_results_strongest_first_and_degenerate_boxes_dropped() -> None:
    found = map_detections(
        [det("book", 0.3), det("cell phone", 0.9), det("person", 0.6), det("laptop", 0.8, 700, 10, 800, 50)],
        W,
        H,
        CONFIG,
        THRESHOLD,
    )
    assert [o.label for o in found] == ["cell phone", "person", "book"]  # the laptop lies outside


def test_config_file_is_the_default_and_validated(tmp_path: Path) -> None:
    assert ObjectsConfig.load(REPO_ROOT / "configs" / "objects.yaml") == ObjectsConfig()
    bad = tmp_path / "objects.yaml"
    bad.write_text("classes: {person: MULTIPLE_FACES}\n")
    with pytest.raises(ValidationError, match="not an object event"):
        ObjectsConfig.load(bad)
    bad.write_text("sure_confidence: {cell phone: 1.5}\n")
    with pytest.raises(ValidationError, match=r"within 0\.\.1"):
        ObjectsConfig.load(bad)
    bad.write_text("phone_partial_band: 0.1\n")
    with pytest.raises(ValidationError):
        ObjectsConfig.load(bad)  # the low-confidence partial band is gone
    bad.write_text("imgsz: 320\n")
    with pytest.raises(ValidationError):
        ObjectsConfig.load(bad)  # unknown keys are errors, not silently ignored
