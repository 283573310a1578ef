"""Iris/pupil localisation inside one eye, given the six 68-point landmarks of that eye.

Two estimates are made on a canonical, roll-free crop of the eye (corners on a horizontal line at a
fixed distance), and combined:

* **gradient centre** (Timm & Barth, 2011): the point that most image gradients point away from.
  The iris is a dark disc on bright sclera, so its edge gradients radiate from its centre. It uses
  gradient *directions*, so it does not care how bright the eye is or how the light falls.
* **dark-area centroid**: the centroid of the darkest ``iris_area_ratio`` of the eye opening, a
  threshold set per eye and per frame by area rather than by a fixed grey level, so it follows
  lighting changes instead of breaking on them.

The confidence grows with the iris/sclera contrast, the agreement of the two estimates and how open
the eye is; a closed or tiny eye gives no estimate at all rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

# Canonical eye crop: the corners land at (MARGIN, HEIGHT / 2) and (MARGIN + SPAN, HEIGHT / 2).
SPAN = 40
MARGIN = 4
WIDTH = SPAN + 2 * MARGIN
HEIGHT = 24
MAX_GRADIENTS = 80

Points = NDArray[np.float64]
Gray = NDArray[np.uint8]


@dataclass(frozen=True)
class IrisParams:
    iris_area_ratio: float = 0.35  # share of the eye opening taken as the dark iris/pupil
    lid_trim: float = 0.15  # share of the opening's height ignored under the upper lid (lashes)
    min_span_px: float = 10.0  # eyes narrower than this (corner to corner, in the crop) are skipped
    min_contrast: float = 0.08  # iris/sclera contrast (relative) below which confidence is 0
    agreement_span: float = 0.2  # estimates further apart than this share of the span disagree


@dataclass(frozen=True)
class IrisEstimate:
    """Where the iris sits between the corners (``h``: 0 image-left corner .. 1 image-right corner)
    and relative to the corner line (``v``: positive below it), both in units of the eye's width."""

    h: float
    v: float
    confidence: float
    center: tuple[float, float]  # in the coordinates of the points given
    contrast: float
    agreement: float


def canonical_transform(corner_left: NDArray[np.float64], corner_right: NDArray[np.float64]) -> Points:
    """2x3 similarity that maps the eye corners onto the canonical crop's corner positions."""
    delta = corner_right - corner_left
    span = float(np.hypot(delta[0], delta[1]))
    scale = SPAN / span
    cos, sin = delta[0] / span * scale, delta[1] / span * scale
    # Rotate by -angle and scale: [[cos, sin], [-sin, cos]] maps delta onto (SPAN, 0).
    rot = np.array([[cos, sin], [-sin, cos]], dtype=np.float64)
    offset = np.array([MARGIN, HEIGHT / 2.0]) - rot @ corner_left
    return np.hstack([rot, offset.reshape(2, 1)])


def locate_iris(gray: Gray, eye: Points, params: IrisParams) -> IrisEstimate | None:
    """Locate the iris of one eye in ``gray``; ``eye`` holds its six landmarks in ``gray``'s pixels."""
    span_px = float(np.linalg.norm(eye[3] - eye[0]))
    if span_px < params.min_span_px:
        return None
    matrix = canonical_transform(eye[0], eye[3])
    crop = cv2.warpAffine(
        gray, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    pts = eye @ matrix[:, :2].T + matrix[:, 2]

    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    # Lashes and the lid's shadow are dark too: drop a band under the upper lid from the dark-area
    # estimate (the gradient estimate keeps the whole opening, the iris edge may touch the lid).
    top = (pts[1, 1] + pts[2, 1]) / 2.0
    bottom = (pts[4, 1] + pts[5, 1]) / 2.0
    opening = bottom - top
    if opening < 1.5 or mask.sum() < 20:
        return None
    opening_mask = mask.astype(bool)
    rows = np.arange(HEIGHT, dtype=np.float64)[:, None]
    trimmed = opening_mask & (rows >= top + params.lid_trim * opening)

    smooth = cv2.GaussianBlur(crop, (3, 3), 0).astype(np.float64)
    inside = smooth[opening_mask]
    lo, hi, cut = np.quantile(inside, [0.05, 0.95, params.iris_area_ratio])
    if hi - lo < 1.0:
        return None
    norm = np.clip((smooth - lo) / (hi - lo), 0.0, 1.0)

    dark = _dark_centroid(norm, trimmed if trimmed.sum() >= 12 else opening_mask, params)
    grad = _gradient_centre(smooth, norm, opening_mask)
    if dark is None:
        return None
    if grad is None:
        x, y, agreement = dark[0], dark[1], 0.0
    else:
        gap = float(np.hypot(grad[0] - dark[0], grad[1] - dark[1])) / SPAN
        agreement = max(0.0, 1.0 - gap / params.agreement_span)
        x, y = (dark[0] + grad[0]) / 2.0, (dark[1] + grad[1]) / 2.0

    # Contrast: the iris (darkest share) against the rest of the opening, relative to brightness.
    iris_mean = float(inside[inside <= cut].mean())
    rest_mean = float(inside[inside > cut].mean()) if (inside > cut).any() else iris_mean
    contrast = (rest_mean - iris_mean) / max(rest_mean, 1.0)
    openness = min(1.0, opening / (0.22 * SPAN))
    contrast_score = min(1.0, max(0.0, (contrast - params.min_contrast) / (2 * params.min_contrast)))
    confidence = contrast_score * (0.5 + 0.5 * agreement) * openness

    inverse = cv2.invertAffineTransform(matrix)
    center = inverse @ np.array([x, y, 1.0])
    return IrisEstimate(
        h=(x - MARGIN) / SPAN,
        v=(y - HEIGHT / 2.0) / SPAN,
        confidence=round(float(confidence), 3),
        center=(float(center[0]), float(center[1])),
        contrast=round(contrast, 3),
        agreement=round(agreement, 3),
    )


def _dark_centroid(
    norm: NDArray[np.float64], region: NDArray[np.bool_], params: IrisParams
) -> tuple[float, float] | None:
    values = norm[region]
    if values.size == 0:
        return None
    cut = float(np.quantile(values, params.iris_area_ratio))
    weights = np.where(region & (norm <= cut), cut - norm + 1e-3, 0.0)
    total = weights.sum()
    if total <= 0:
        return None
    ys, xs = np.indices(norm.shape)
    return float((weights * xs).sum() / total), float((weights * ys).sum() / total)


def _gradient_centre(
    smooth: NDArray[np.float64], norm: NDArray[np.float64], mask: NDArray[np.bool_]
) -> tuple[float, float] | None:
    """Timm & Barth's objective over the eye opening, weighted by darkness at the candidate."""
    gx = cv2.Sobel(smooth, cv2.CV_64F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_64F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy)
    # Gradients of the opening and its rim (the iris edge can sit on the lid line).
    rim = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    mags = magnitude[rim]
    if mags.size == 0:
        return None
    strong = rim & (magnitude > mags.mean() + 0.3 * mags.std())
    gys, gxs = np.nonzero(strong)
    if gxs.size < 6:
        return None
    mags = magnitude[gys, gxs]
    if gxs.size > MAX_GRADIENTS:  # the strongest edges carry the answer; the cost is linear in them
        keep = np.argpartition(mags, -MAX_GRADIENTS)[-MAX_GRADIENTS:]
        gys, gxs, mags = gys[keep], gxs[keep], mags[keep]
    dirs = (np.stack([gx[gys, gxs], gy[gys, gxs]], axis=1) / mags[:, None]).astype(np.float32)

    # The centre is dark: only the darker half of the opening is worth scoring (halves the cost).
    darkness = norm[mask]
    candidates = mask & (norm <= np.median(darkness))
    cys, cxs = np.nonzero(candidates)
    # Displacements from every candidate centre to every gradient point, normalised.
    dx = (gxs[None, :] - cxs[:, None]).astype(np.float32)
    dy = (gys[None, :] - cys[:, None]).astype(np.float32)
    length = np.hypot(dx, dy)
    length[length == 0] = np.inf
    dot = (dx * dirs[None, :, 0] + dy * dirs[None, :, 1]) / length
    np.maximum(dot, 0.0, out=dot)
    score = (dot * dot).mean(axis=1) * (1.0 - norm[cys, cxs] + 0.05)
    best = int(np.argmax(score))
    return float(cxs[best]), float(cys[best])


def eye_darkness(gray: Gray, eye: Points) -> float | None:
    """How much darker the eye is than the skin around it: 0 = no darker, 1 = black on skin.

    An eye always holds something dark (iris, pupil, lashes; a lowered lid's lash line too); a hand,
    a cup or a sleeve over it is the skin's own colour. The darkest tenth of the eye contour (grown
    by 2 px, so a closed eye's lash line counts) against the median of a ring of skin around it, on
    the same roll-free crop as the iris.
    """
    if float(np.linalg.norm(eye[3] - eye[0])) < 1.0:
        return None
    height = 2 * HEIGHT
    matrix = canonical_transform(eye[0], eye[3])
    matrix[1, 2] += (height - HEIGHT) / 2.0
    crop = cv2.warpAffine(
        gray, matrix, (WIDTH, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    ).astype(np.float64)
    pts = eye @ matrix[:, :2].T + matrix[:, 2]
    mask = np.zeros((height, WIDTH), np.uint8)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    inner = cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)
    ring = cv2.dilate(mask, np.ones((17, 9), np.uint8)).astype(bool) & ~inner
    if not ring.any():
        return None
    dark = float(np.percentile(crop[inner], 10))
    skin = float(np.median(crop[ring]))
    return max(0.0, (skin - dark) / max(skin, 1.0))
