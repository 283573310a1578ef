"""A second look for faces where the object model sees a person and the face stage saw no face.

The face detector runs on the whole frame at 192x192 (BlazeFace full range): a second person's face
of ~25 px in a 640 px frame is ~7 px there, and a face turned away scores low. Where YOLO boxes a
``person`` that holds no face (verified or not), the upper part of that box, where a head is, is
cropped and handed to BlazeFace alone: letterboxed into the same 192 px input the crop is upscaled
(a 120 px crop by 1.6, so that face is ~40 px there). A face found there counts only if it passes
the face stage's own test for doubtful candidates (``FaceAnalyzer.verify_candidate``: two of
FaceMesh presence, the short-range BlazeFace and HOG, each on a crop around it), which a dog's head
fails. Found but not verified: an unverified candidate.

Bounded per frame: only person boxes without a face, the most confident first, ``max_crops`` of them.
What this cannot find (a head seen from behind) stays a person without a face; the session then
holds MULTIPLE_FACES unknown and says why (integrity/session/conditions.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from integrity.core.enums import PERSON_LABEL, FaceCheck, FaceDetector
from integrity.core.geometry import Box
from integrity.core.results import DetectedFace, FaceAnalysis, ObjectAnalysis
from integrity.core.timing import ms_since
from integrity.vision.blazeface import BlazeFace, FaceCandidate
from integrity.vision.imaging import BGRImage, decode, read_header
from integrity.vision.object_mapping import PersonRelookConfig

__all__ = [
    "CandidateVerifier",
    "PersonFaceAnalyzer",
    "PersonRelookConfig",
    "Relook",
    "head_region",
    "persons_without_face",
]


class FaceDetectorModel(Protocol):
    def detect(self, image: BGRImage, min_score: float | None = None) -> list[FaceCandidate]: ...


class CandidateVerifier(Protocol):
    def verify_candidate(self, image: BGRImage, candidate: FaceCandidate) -> list[FaceCheck] | None:
        """The checks ``candidate`` (frame pixels) passed where it is a face, else None."""
        ...


@dataclass(slots=True)
class Relook:
    """What a second look found: faces (verified), unverified candidates, and how many crops it took."""

    faces: list[DetectedFace] = field(default_factory=list)
    unverified: list[Box] = field(default_factory=list)
    crops: int = 0

    def merged(self, face: FaceAnalysis) -> FaceAnalysis:
        """``face`` with what was found added (the candidate's face, the primary, unchanged)."""
        if not self.faces and not self.unverified:
            return face
        timings = {**face.timings_ms, "person_relook_crops": float(self.crops)}
        return face.model_copy(
            update={
                "faces": [*face.faces, *self.faces],
                "unverified": [*face.unverified, *self.unverified],
                "timings_ms": timings,
            }
        )


def _inside(point: tuple[float, float], box: Box) -> bool:
    x, y = point
    return box.x <= x <= box.x + box.width and box.y <= y <= box.y + box.height


def persons_without_face(
    face: FaceAnalysis, objects: ObjectAnalysis, config: PersonRelookConfig
) -> list[Box]:
    """Person boxes that hold no face (no face's centre inside them), most confident first."""
    if not objects.status.available:
        return []
    centres = [
        (b.x + b.width / 2.0, b.y + b.height / 2.0) for b in [*(f.box for f in face.faces), *face.unverified]
    ]
    persons = sorted(
        (
            o
            for o in objects.objects
            if o.label == PERSON_LABEL
            and o.confidence >= config.min_person_confidence
            and o.box.width >= config.min_person_px
        ),
        key=lambda o: o.confidence,
        reverse=True,
    )
    return [p.box for p in persons if not any(_inside(c, p.box) for c in centres)]


def head_region(person: Box, width: int, height: int, config: PersonRelookConfig) -> Box | None:
    """The crop for a person box: its upper ``head_share``, with a margin, clipped to the frame."""
    margin = config.margin * person.width
    left = max(0, int(person.x - margin))
    top = max(0, int(person.y - margin))
    right = min(width, int(person.x + person.width + margin))
    # A head is at most as tall as the box is wide: a standing person's box is tall and narrow.
    upper = min(config.head_share * person.height, 1.5 * person.width)
    bottom = min(height, int(person.y + upper + margin))
    if right - left < 2 or bottom - top < 2:
        return None
    return Box(x=left, y=top, width=right - left, height=bottom - top)


def _shifted(candidate: FaceCandidate, dx: float, dy: float) -> FaceCandidate:
    """A crop's candidate in frame pixels."""
    return FaceCandidate(
        candidate.left + dx,
        candidate.top + dy,
        candidate.right + dx,
        candidate.bottom + dy,
        candidate.score,
        candidate.keypoints + np.array([dx, dy], dtype=candidate.keypoints.dtype),
    )


def _box(candidate: FaceCandidate, width: int, height: int) -> Box | None:
    """A candidate in frame pixels as a box clipped to the frame (None where nothing is left)."""
    left, top = max(0.0, candidate.left), max(0.0, candidate.top)
    right, bottom = min(float(width), candidate.right), min(float(height), candidate.bottom)
    if right - left < 1 or bottom - top < 1:
        return None
    return Box(x=int(left), y=int(top), width=round(right - left), height=round(bottom - top))


class PersonFaceAnalyzer:
    """The second look: ``detector`` (BlazeFace full range) finds, ``verifier`` (the face stage's)
    decides what counts."""

    def __init__(
        self, detector: FaceDetectorModel, verifier: CandidateVerifier, config: PersonRelookConfig
    ) -> None:
        self.detector = detector
        self.verifier = verifier
        self.config = config

    @classmethod
    def load(
        cls, models_dir: Path, config: PersonRelookConfig, verifier: CandidateVerifier, threads: int = 1
    ) -> PersonFaceAnalyzer:
        """BlazeFace full range from ``models_dir`` (the face models' folder); ``verifier``: the
        face stage (``FaceAnalyzer``), whose test decides what counts."""
        return cls(
            BlazeFace(models_dir, FaceDetector.BLAZEFACE_FULL_RANGE, threads=threads), verifier, config
        )

    def relook(self, image: BGRImage, face: FaceAnalysis, objects: ObjectAnalysis) -> Relook:
        """Look again inside the person boxes without a face (``image``: the frame, BGR)."""
        cfg = self.config
        found = Relook()
        if not cfg.active:
            return found
        height, width = image.shape[:2]
        known = [*(f.box for f in face.faces), *face.unverified]  # faces and candidates found so far
        for person in persons_without_face(face, objects, cfg)[: cfg.max_crops]:
            region = head_region(person, width, height, cfg)
            if region is None:
                continue
            found.crops += 1
            crop = image[region.y : region.y + region.height, region.x : region.x + region.width]
            new = self._new_face(crop, region, width, height, known)
            if new is None:
                continue
            best, box = new
            known.append(box)
            checks = self.verifier.verify_candidate(image, best)
            if checks is not None:
                found.faces.append(
                    DetectedFace(
                        box=box,
                        score=round(best.score, 4),
                        detector=FaceDetector.BLAZEFACE_FULL_RANGE,
                        checks=checks,
                    )
                )
            else:
                found.unverified.append(box)
        return found

    def relook_frame(self, data: bytes, face: FaceAnalysis, objects: ObjectAnalysis) -> FaceAnalysis:
        """``face`` with what a second look in the encoded frame ``data`` finds (decoded only when a
        person box lacks a face; unchanged when the decoded size is not the frame the boxes are in)."""
        if not persons_without_face(face, objects, self.config):
            return face
        tick = time.perf_counter()
        image, _ = decode(data, read_header(data))
        if image.shape[1] != face.image_width or image.shape[0] != face.image_height:
            return face  # not the frame the boxes were found in (a reduced decode): do not guess
        merged = self.relook(image, face, objects).merged(face)
        return merged.model_copy(
            update={"timings_ms": {**merged.timings_ms, "person_relook": ms_since(tick)}}
        )

    def _new_face(
        self, crop: BGRImage, region: Box, width: int, height: int, known: list[Box]
    ) -> tuple[FaceCandidate, Box] | None:
        """The crop's most confident face that is not one already found (YOLO may box one person
        twice, and a crop may reach the face beside it, which stays one face, counted once, while
        the person's own face behind it is still looked at), with its box in the frame."""
        candidates = sorted(
            self.detector.detect(crop, self.config.min_score), key=lambda c: c.score, reverse=True
        )
        for candidate in candidates:
            candidate = _shifted(candidate, region.x, region.y)
            box = _box(candidate, width, height)
            if box is not None and not any(
                box.overlap(seen) >= self.config.same_face_overlap for seen in known
            ):
                return candidate, box
        return None
