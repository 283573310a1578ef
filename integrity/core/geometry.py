"""Boxes in frame pixels (x to the right, y down) and how much two of them overlap."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict


def rotation_deg(offset: float, radius: float) -> float:
    """The rotation (degrees) that moves a point on a sphere of ``radius`` by ``offset`` sideways:
    an iris (or the upper lid riding on the eyeball) moved ``offset`` eye widths on a ``radius``
    eye-width eyeball. Offsets beyond the radius read as 90 degrees."""
    return math.degrees(math.asin(max(-1.0, min(1.0, offset / radius))))


def overlap_of_smaller(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over the smaller box's area (0..1), boxes as (left, top, right, bottom).

    Used rather than IoU where two detectors box one face at different sizes.
    """
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min(
        max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1]), max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    )
    return (w * h) / smaller if smaller > 0 else 0.0


class Box(BaseModel):
    model_config = ConfigDict(frozen=True)

    x: int
    y: int
    width: int
    height: int

    @property
    def ltrb(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.width, self.y + self.height)

    def overlap(self, other: Box) -> float:
        """Intersection over the smaller box's area (0..1)."""
        return overlap_of_smaller(self.ltrb, other.ltrb)
