"""Is something in front of the mouth? The lips' lightness against the cheeks', from the 68 points.

Lips are darker than the cheek skin beside them on every face and light the shared clips show
(docs/API.md, "Looking down"); a cup, a hand or a sleeve in front of the mouth is about as
light as skin or lighter. The gaze stage compares this contrast with the candidate's calibrated one:
a covered mouth (drinking, a hand at the mouth) explains eyes cast down at it.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

_OUTER_LIPS = list(range(48, 60))
_INNER_LIPS = list(range(60, 68))
# Each cheek between the jaw line, the nose's base and the lower lid (iBUG 68 numbering).
_CHEEKS = ([1, 2, 3, 31, 41, 36], [15, 14, 13, 35, 46, 45])
_CHEEK_SHRINK = 0.6  # keep the middle of each cheek: its edges touch the eye, nose and jaw line
_MIN_LIP_PX = 20
_MIN_CHEEK_PX = 40


def mouth_contrast(gray: NDArray[np.uint8], points: NDArray[np.float64]) -> float | None:
    """Median grey level of the lips (the ring between the outer and inner lip lines) minus that of
    the middle of both cheeks, on ``gray`` with ``points`` (68, 2) in its pixels. Negative: lips
    darker, as they are; near 0 or above: something as light as skin covers them. None when the
    lips or cheeks are too small to read."""
    height, width = gray.shape[:2]
    x0, y0 = np.floor(points.min(axis=0)).astype(int)
    x1, y1 = np.ceil(points.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    crop = gray[y0:y1, x0:x1]
    local = points - np.array([x0, y0], dtype=np.float64)
    lips = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(local[_OUTER_LIPS]).astype(np.int32)], 1)
    cv2.fillPoly(lips, [np.round(local[_INNER_LIPS]).astype(np.int32)], 0)
    cheeks = np.zeros(crop.shape[:2], np.uint8)
    for indices in _CHEEKS:
        corners = local[indices]
        centre = corners.mean(axis=0)
        shrunk = centre + _CHEEK_SHRINK * (corners - centre)
        cv2.fillPoly(cheeks, [cv2.convexHull(np.round(shrunk).astype(np.int32))], 1)
    lip_values, cheek_values = crop[lips > 0], crop[cheeks > 0]
    if lip_values.size < _MIN_LIP_PX or cheek_values.size < _MIN_CHEEK_PX:
        return None
    return round(float(np.median(lip_values)) - float(np.median(cheek_values)), 2)
