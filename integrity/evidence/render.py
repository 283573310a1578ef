"""The evidence image of an event: its frame, downscaled, with what made the case drawn on it.

Face events show every counted face (numbered) and the face-like candidates that were not counted;
object events the detected objects, the ones behind the event in red; gaze and behaviour events the
candidate's face with its 68 landmarks, the iris centres and an arrow of the gaze relative to the
candidate's neutral pose. A caption band names the event, its stream time and the measured values.
Only frames that raise events are rendered (a few milliseconds each), never every frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from integrity.core.enums import OBJECT_EVENTS, PERSON_LABEL, EventType
from integrity.core.geometry import Box
from integrity.core.results import FaceAnalysis, GazeAnalysis, ObjectAnalysis
from integrity.vision.imaging import BGRImage, decode, encode_jpeg, read_header, resize_to_max_side

MAX_SIDE = 640  # evidence images: longest side in pixels
QUALITY = 82
THUMBNAIL_SIDE = 320  # report thumbnails

FACE_EVENTS = (EventType.MULTIPLE_FACES, EventType.NO_FACE)

# BGR
GREEN = (60, 200, 60)
ORANGE = (0, 165, 255)
RED = (40, 40, 230)
YELLOW = (0, 215, 255)
CYAN = (230, 220, 40)
MAGENTA = (230, 60, 230)
WHITE = (255, 255, 255)
DARK = (30, 30, 30)


def render_evidence(
    data: bytes,
    event: EventType,
    caption: Sequence[str],
    face: FaceAnalysis | None = None,
    gaze: GazeAnalysis | None = None,
    objects: ObjectAnalysis | None = None,
    max_side: int = MAX_SIDE,
    quality: int = QUALITY,
) -> bytes:
    """The annotated JPEG of one event from the frame's encoded bytes and its analysis.

    Coordinates in the analyses are pixels of the frame as displayed; the image is decoded the same
    way (EXIF rotation applied), at reduced size when the JPEG is much larger than ``max_side``.
    """
    header = read_header(data)
    image, scale = decode(data, header, min_side=max_side)
    image, shrink = resize_to_max_side(image, max_side)
    image = np.ascontiguousarray(image)
    s = scale * shrink
    pen = max(1, round(max(image.shape[:2]) / 320))

    if face is not None:
        highlight = event in FACE_EVENTS
        for box in face.unverified:
            _box(image, box, s, ORANGE, pen, "not counted" if highlight else None)
        for i, found in enumerate(face.faces):
            _box(image, found.box, s, GREEN, pen * (2 if highlight else 1), f"face {i + 1}")
    if objects is not None:
        for obj in objects.objects:
            behind = obj.event is event
            if event in FACE_EVENTS and obj.label == PERSON_LABEL:
                _box(image, obj.box, s, YELLOW, pen, f"person {obj.confidence:.2f}")
            elif event in OBJECT_EVENTS and obj.event is not None:
                _box(
                    image,
                    obj.box,
                    s,
                    RED if behind else YELLOW,
                    pen * (2 if behind else 1),
                    f"{obj.label} {obj.confidence:.2f}",
                )
    if face is not None and face.primary is not None and event not in FACE_EVENTS + OBJECT_EVENTS:
        _gaze(image, face, gaze, s, pen, event)

    _caption(image, caption)
    return encode_jpeg(image, quality)


def render_identity(
    enrolled: bytes | None, now: bytes, caption: Sequence[str], side: int = 240, quality: int = QUALITY
) -> bytes:
    """IDENTITY_CHANGED: the enrolment's face crop and the new one side by side, under a caption
    (an empty grey square where the enrolment's crop is missing)."""
    tiles = []
    for jpeg, label, color in ((enrolled, "enrolled", GREEN), (now, "now", RED)):
        tile = None if jpeg is None else cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
        tile = np.full((side, side, 3), 90, np.uint8) if tile is None else cv2.resize(tile, (side, side))
        cv2.rectangle(tile, (0, 0), (side - 1, side - 1), color, 2)
        _label(tile, label, (4, side - 8), color)
        tiles.append(tile)
    band = np.full((side // 2, 2 * side, 3), 30, np.uint8)
    image = np.ascontiguousarray(np.vstack([band, np.hstack(tiles)]))
    _caption(image, caption)
    return encode_jpeg(image, quality)


def thumbnail(jpeg: bytes, max_side: int = THUMBNAIL_SIDE, quality: int = 75) -> bytes:
    """A smaller JPEG of an evidence image (for the report)."""
    image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a decodable image")
    small, _ = resize_to_max_side(image, max_side)
    return encode_jpeg(small, quality)


def _pt(x: float, y: float, s: float) -> tuple[int, int]:
    return round(x * s), round(y * s)


def _box(
    image: BGRImage, box: Box, s: float, color: tuple[int, int, int], pen: int, label: str | None
) -> None:
    x0, y0 = _pt(box.x, box.y, s)
    x1, y1 = _pt(box.x + box.width, box.y + box.height, s)
    cv2.rectangle(image, (x0, y0), (x1, y1), color, pen, cv2.LINE_AA)
    if label:
        _label(image, label, (x0, max(0, y0 - 3)), color)


def _label(image: BGRImage, text: str, origin: tuple[int, int], color: tuple[int, int, int]) -> None:
    font, size = cv2.FONT_HERSHEY_SIMPLEX, max(0.35, image.shape[1] / 1400)
    (w, h), base = cv2.getTextSize(text, font, size, 1)
    x, y = origin
    y = max(h + base, y)
    cv2.rectangle(image, (x, y - h - base), (x + w + 2, y + 1), DARK, -1)
    cv2.putText(image, text, (x + 1, y - base // 2), font, size, color, 1, cv2.LINE_AA)


def _gaze(
    image: BGRImage, face: FaceAnalysis, gaze: GazeAnalysis | None, s: float, pen: int, event: EventType
) -> None:
    assert face.primary is not None
    main = face.faces[face.primary]
    _box(image, main.box, s, GREEN, pen, None)
    marks = main.landmarks
    mouth = event is EventType.WHISPERING
    for i, (x, y) in enumerate(marks):
        color = MAGENTA if mouth and i >= 48 else CYAN
        cv2.circle(image, _pt(x, y, s), max(1, pen), color, -1, cv2.LINE_AA)
    if gaze is None:
        return
    centres = [eye.center for eye in gaze.iris.eyes] if gaze.iris is not None else []
    for cx, cy in centres:
        cv2.circle(image, _pt(cx, cy, s), 2 * pen + 1, RED, pen, cv2.LINE_AA)
    if gaze.angles is None:
        return
    if centres:
        ox = sum(c[0] for c in centres) / len(centres)
        oy = sum(c[1] for c in centres) / len(centres)
    elif len(marks) >= 48:
        ox = sum(p[0] for p in marks[36:48]) / 12
        oy = sum(p[1] for p in marks[36:48]) / 12
    else:
        ox, oy = main.box.x + main.box.width / 2, main.box.y + main.box.height * 0.4
    length = main.box.width * 1.2
    yaw, pitch = math.radians(gaze.angles.gaze_yaw), math.radians(gaze.angles.gaze_pitch)
    # yaw + toward image-right, pitch + up (image y grows downward)
    tip = (ox + math.sin(yaw) * length, oy - math.sin(pitch) * length)
    cv2.arrowedLine(image, _pt(ox, oy, s), _pt(*tip, s), MAGENTA, 2 * pen, cv2.LINE_AA, tipLength=0.25)
    text = f"gaze {gaze.angles.gaze_yaw:+.0f} yaw {gaze.angles.gaze_pitch:+.0f} pitch"
    x0, y1 = _pt(main.box.x, main.box.y + main.box.height, s)
    _label(image, text, (x0, min(image.shape[0] - 2, y1 + 14)), MAGENTA)


def _caption(image: BGRImage, lines: Sequence[str]) -> None:
    """Caption lines in a dark band over the top of the image (ASCII: Hershey fonts have no more)."""
    font, size = cv2.FONT_HERSHEY_SIMPLEX, max(0.4, image.shape[1] / 1100)
    y = 0
    for text in _wrap(lines, image.shape[1] - 10, font, size):
        (_, h), base = cv2.getTextSize(text, font, size, 1)
        band = h + base + 6
        overlay = image[y : y + band]
        overlay[:] = (overlay * 0.35).astype(np.uint8)
        cv2.putText(image, text, (5, y + h + 3), font, size, WHITE, 1, cv2.LINE_AA)
        y += band
        if y >= image.shape[0]:
            return


def _wrap(lines: Sequence[str], width: int, font: int, size: float) -> list[str]:
    """ASCII lines broken at spaces to fit ``width`` pixels."""
    out: list[str] = []
    for line in lines:
        words = line.encode("ascii", "replace").decode().split(" ")
        current = ""
        for word in words:
            candidate = f"{current} {word}" if current else word
            if current and cv2.getTextSize(candidate, font, size, 1)[0][0] > width:
                out.append(current)
                current = word
            else:
                current = candidate
        if current:
            out.append(current)
    return out
