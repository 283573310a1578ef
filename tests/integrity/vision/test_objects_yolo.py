"""YOLO post- and pre-processing in numpy: NMS, decoding, letterbox geometry."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from integrity.vision.yolo_onnx import (
    PAD_VALUE,
    ModelFormatError,
    decode,
    letterbox,
    nms,
    parse_names,
    to_batch,
)


# -- NMS against a brute-force reference -------------------------------------------------------------
def iou_reference(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms_reference(boxes: list[list[float]], scores: list[float], threshold: float) -> list[int]:
    """The definition: visit boxes by score (ties: lower index first); keep one unless a kept box
    overlaps it by more than the threshold."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        if all(iou_reference(boxes[i], boxes[k]) <= threshold for k in kept):
            kept.append(i)
    return kept


def random_boxes(rng: np.random.Generator, n: int, clustered: bool) -> tuple[np.ndarray, np.ndarray]:
    if clustered:  # several boxes jittered around a few objects: the case NMS exists for
        centres = rng.uniform(50, 590, size=(max(1, n // 8), 2))
        picked = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 12, size=(n, 2))
        sizes = rng.uniform(20, 120, size=(n, 2))
    else:
        picked = rng.uniform(0, 640, size=(n, 2))
        sizes = rng.uniform(2, 200, size=(n, 2))
    boxes = np.concatenate([picked - sizes / 2, picked + sizes / 2], axis=1).astype(np.float32)
    scores = rng.uniform(0, 1, size=n).astype(np.float32)
    scores[rng.integers(0, n, n // 5)] = 0.5  # ties
    return boxes, scores


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("clustered", [True, False])
def test_nms_matches_brute_force(threshold: float, clustered: bool) -> None:
    rng = np.random.default_rng(1234)
    for n in (0, 1, 2, 17, 150):
        boxes, scores = random_boxes(rng, n, clustered)
        expected = nms_reference(boxes.tolist(), scores.tolist(), threshold)
        assert nms(boxes, scores, threshold) == expected
        assert nms(boxes, scores, threshold, max_keep=5) == expected[:5]


def test_nms_identical_boxes_and_touching_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [10, 0, 20, 10], [0, 0, 0, 0]], dtype=np.float32)
    scores = np.array([0.5, 0.9, 0.8, 0.7], dtype=np.float32)
    assert nms(boxes, scores, 0.5) == [1, 2, 3]  # duplicate gone; edge contact is no overlap
    assert nms(boxes, scores, 1.0) == [1, 2, 3, 0]  # IoU 1 is not greater than 1: all kept


# -- decoding the raw head ------------------------------------------------------------------------------
def raw_output(rows: list[tuple[float, float, float, float, int, float]], classes: int = 80) -> np.ndarray:
    """(4 + classes, anchors) from (cx, cy, w, h, class, score) rows."""
    out = np.zeros((4 + classes, len(rows)), dtype=np.float32)
    for j, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[:4, j] = (cx, cy, w, h)
        out[4 + cls, j] = score
        out[4 + (cls + 1) % classes, j] = score / 3  # a weaker second class never wins
    return out


def test_decode_is_class_aware_and_filters() -> None:
    out = raw_output(
        [
            (100, 100, 40, 80, 67, 0.9),  # phone
            (102, 101, 40, 80, 67, 0.8),  # same phone again: suppressed
            (101, 100, 40, 80, 73, 0.7),  # a book on the same spot: other class, kept
            (300, 200, 50, 50, 0, 0.3),  # person
            (500, 100, 10, 10, 67, 0.05),  # below the floor
        ]
    )
    found = decode(out, min_confidence=0.1, iou_threshold=0.5, max_detections=10)
    assert [(d.class_id, round(d.confidence, 2)) for d in found] == [(67, 0.9), (73, 0.7), (0, 0.3)]
    phone = found[0]
    assert (phone.x1, phone.y1, phone.x2, phone.y2) == pytest.approx((80, 60, 120, 140))
    assert len(decode(out, 0.1, 0.5, max_detections=2)) == 2
    assert decode(out, 0.95, 0.5, 10) == []


def test_decode_end_to_end_output() -> None:
    rows = np.array(
        [[10, 20, 50, 60, 0.9, 67], [0, 0, 5, 5, 0.01, 3], [30, 30, 90, 90, 0.6, 73]], dtype=np.float32
    )
    found = decode(rows, 0.25, 0.5, 10, end2end=True)
    assert [(d.class_id, d.x1, d.y2) for d in found] == [(67, 10.0, 60.0), (73, 30.0, 90.0)]


def test_names_from_ultralytics_metadata() -> None:
    assert parse_names("{0: 'person', 67: 'cell phone'}") == {0: "person", 67: "cell phone"}
    assert parse_names("['a', 'b']") == {0: "a", 1: "b"}
    with pytest.raises(ModelFormatError):
        parse_names("{}")
    with pytest.raises(ModelFormatError):
        parse_names("not python")


# -- letterbox and mapping back -------------------------------------------------------------------------
SIZES = [(640, 480), (1280, 720), (480, 270), (300, 800), (97, 61), (1920, 1080), (320, 320)]


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize(("imgsz", "rect"), [(320, True), (320, False), (640, True)])
def test_letterbox_maps_boxes_back_to_the_frame(width: int, height: int, imgsz: int, rect: bool) -> None:
    # A white rectangle on black: find it in the network input, map it back, compare.
    x1, y1 = round(width * 0.3), round(height * 0.2)
    x2, y2 = round(width * 0.7), round(height * 0.9)
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    frame[y1:y2, x1:x2] = 255
    boxed, box = letterbox(frame, imgsz, stride=32, rect=rect)

    out_h, out_w = boxed.shape[:2]
    assert out_h % 32 == 0 and out_w % 32 == 0 and max(out_h, out_w) == imgsz
    if not rect:
        assert out_h == out_w == imgsz
    assert (box.width, box.height) == (out_w, out_h)

    ys, xs = np.nonzero(boxed[..., 0] > 127)
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=np.float32)
    mapped = box.to_frame(found)[0]
    tolerance = 1.0 / min(box.ratio_x, box.ratio_y) + 0.5  # one input pixel, in frame pixels
    assert mapped == pytest.approx([x1, y1, x2, y2], abs=tolerance)

    # The padding is the letterbox grey, centred; exact corners map back exactly.
    if box.pad_y:
        assert (boxed[0] == PAD_VALUE).all() and (boxed[-1] == PAD_VALUE).all()
    if box.pad_x:
        assert (boxed[:, 0] == PAD_VALUE).all() and (boxed[:, -1] == PAD_VALUE).all()
    corners = np.array([[0, 0, width, height]], dtype=np.float32)
    forward = corners * [box.ratio_x, box.ratio_y, box.ratio_x, box.ratio_y] + [
        box.pad_x,
        box.pad_y,
        box.pad_x,
        box.pad_y,
    ]
    assert box.to_frame(forward.astype(np.float32))[0] == pytest.approx([0, 0, width, height], abs=1e-3)


def test_rect_letterbox_saves_work_on_wide_frames() -> None:
    frame = np.zeros((720, 1280, 3), dtype=np.uint8)
    assert letterbox(frame, 320, rect=True)[0].shape[:2] == (192, 320)
    assert letterbox(frame, 320, rect=False)[0].shape[:2] == (320, 320)


def test_to_batch_pads_to_one_shape_as_rgb_nchw() -> None:
    a = np.zeros((192, 320, 3), dtype=np.uint8)
    a[..., 2] = 255  # pure red in BGR
    b = np.zeros((320, 256, 3), dtype=np.uint8)
    batch = to_batch([a, b])
    assert batch.shape == (2, 3, 320, 320) and batch.dtype == np.float32
    assert batch[0, 0, :192, :].min() == 1.0 and batch[0, 2, :192, :].max() == 0.0  # R first
    assert batch[0, :, 192:, :] == pytest.approx(PAD_VALUE / 255)  # padded below
    assert batch[1, :, :, 256:] == pytest.approx(PAD_VALUE / 255)  # padded on the right
    for i, j in itertools.product(range(2), range(3)):
        assert batch[i, j].flags.c_contiguous
