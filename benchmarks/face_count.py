"""Face counts on every still image of the fixtures against the MANIFEST's, per landmark backend.

    python benchmarks/face_count.py [--backend face_landmarker,dlib_68] [--weights YOLO | --no-objects]

Each image goes to the face analyzer as the service receives an upload (the encoded file as is),
then, as the service counts a photo sent once, to the second look for faces inside the object
model's ``person`` boxes that hold none (``integrity/vision/person_faces.py``): with the YOLO
weights the service is configured with (``YOLO_MODEL`` under ``MODEL_PATH``) or ``--weights``;
without weights (or with ``--no-objects``) the face stage alone counts, and the table says so.
The expected count comes from the MANIFEST's Images table (``benchmarks.manifest``); A04's
"4 fully visible faces plus 1 partial" accepts 4 or 5. Prints file, expected, counted, the
unverified candidates (found by the detector, not counted) and whether the count is right; exits
with 1 when a count is wrong or an image has no expectation. ``gaze_eval.py`` prints the same table.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's

from benchmarks.backends import FACE_CONFIG, load_backend, parse_backends
from benchmarks.manifest import (
    FIXTURES,
    MANIFEST,
    FaceExpectation,
    face_expectations,
    still_images,
)
from integrity.core.enums import FaceDetector, LandmarkBackend
from integrity.core.paths import REPO_ROOT
from integrity.vision.blazeface import BlazeFace
from integrity.vision.face import FaceAnalyzer
from integrity.vision.object_mapping import ObjectsConfig, PersonRelookConfig
from integrity.vision.objects import ObjectAnalyzer
from integrity.vision.person_faces import PersonFaceAnalyzer
from integrity.vision.yolo_weights import resolve_weights
from serve_app.settings import Settings


@dataclass(frozen=True)
class FaceCount:
    file: str
    expected: FaceExpectation | None  # None: the MANIFEST has no count for this image
    counted: int
    unverified: int
    ms: float
    relooked: int = 0  # of ``counted``, the faces the second look in person boxes found

    @property
    def ok(self) -> bool:
        return self.expected is not None and self.counted in self.expected.counts


@dataclass(frozen=True)
class SecondLook:
    """The object model and the face detector of the second look in its person boxes; what that
    finds is judged by the face stage being counted (``for_face``), as in the service."""

    objects: ObjectAnalyzer
    detector: BlazeFace
    config: PersonRelookConfig

    @classmethod
    def load(cls, weights: Path | None, models: Path) -> tuple[SecondLook | None, str]:
        """With ``weights`` (None: the service's configured ones), or None and why not."""
        settings = Settings()
        config = ObjectsConfig.load(REPO_ROOT / "configs" / "objects.yaml")
        path = weights or resolve_weights(settings.model_path, settings.yolo_model)
        if not path.is_file():
            return None, f"no YOLO weights at {path}: the face stage alone counts"
        objects = ObjectAnalyzer(path.parent, str(path), settings.confidence_threshold, config)
        objects.load()
        if not objects.status.available:
            return None, f"object model unavailable ({objects.status.detail}): the face stage alone counts"
        detector = BlazeFace(models, FaceDetector.BLAZEFACE_FULL_RANGE)
        return cls(objects, detector, config.person_relook), f"second look with {path}"

    def for_face(self, face: FaceAnalyzer) -> PersonFaceAnalyzer:
        return PersonFaceAnalyzer(self.detector, face, self.config)


def count_faces(
    face: FaceAnalyzer,
    images: list[Path],
    expectations: dict[str, FaceExpectation],
    second: SecondLook | None = None,
) -> list[FaceCount]:
    rows = []
    persons = second.for_face(face) if second is not None else None
    for path in images:
        data = path.read_bytes()
        started = time.perf_counter()
        found = face.analyze(data)
        ms = (time.perf_counter() - started) * 1000
        alone = found.count
        if second is not None and persons is not None:
            found = persons.relook_frame(data, found, second.objects.analyze(data))
        rows.append(
            FaceCount(
                path.name,
                expectations.get(path.name),
                found.count,
                len(found.unverified),
                ms,
                found.count - alone,
            )
        )
    return rows


def format_table(rows: list[FaceCount]) -> list[str]:
    lines = [f"{'file':40} {'expected':>8} {'counted':>7} {'2nd look':>8} {'unverified':>10} {'ms':>7}  ok"]
    for row in rows:
        expected = row.expected.label if row.expected is not None else "?"
        lines.append(
            f"{row.file:40} {expected:>8} {row.counted:>7} {row.relooked:>8} {row.unverified:>10} "
            f"{row.ms:7.1f}  {'yes' if row.ok else 'NO'}"
        )
    right = sum(row.ok for row in rows)
    lines.append(f"counts matching the MANIFEST: {right}/{len(rows)}")
    for row in rows:
        if row.expected is None:
            lines.append(f"  {row.file}: no face count in the MANIFEST's Images table")
        elif len(row.expected.counts) > 1:
            accepted = " or ".join(map(str, row.expected.counts))
            lines.append(f"  {row.file}: the MANIFEST says {row.expected.source!r}: {accepted} accepted")
    return lines


def face_count_table(
    face: FaceAnalyzer, fixtures: Path = FIXTURES, second: SecondLook | None = None
) -> tuple[list[str], bool]:
    """The printed table for every still image in ``fixtures`` and whether every count is right."""
    expectations = face_expectations((fixtures / MANIFEST.name).read_text(encoding="utf-8"))
    rows = count_faces(face, still_images(fixtures), expectations, second)
    return format_table(rows), bool(rows) and all(row.ok for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default=",".join(LandmarkBackend), help="comma-separated")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--config", type=Path, default=FACE_CONFIG)
    parser.add_argument("--weights", type=Path, default=None, help="YOLO weights for the second look")
    parser.add_argument("--no-objects", action="store_true", help="the face stage alone")
    args = parser.parse_args()
    failed = False
    second: SecondLook | None = None
    if not args.no_objects:
        second, said = SecondLook.load(args.weights, Settings().model_path)
        print(said)
    for requested in parse_backends(args.backend):
        backend = load_backend(requested, args.config)
        print(f"== landmarks {requested}: ran {backend.ran}")
        if backend.analyzer is None:
            failed = True
            continue
        lines, ok = face_count_table(backend.analyzer, args.fixtures, second)
        print("\n".join(lines) + "\n")
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
