"""Face counts on every still image of the fixtures against the MANIFEST's, per landmark backend.

    python benchmarks/face_count.py [--backend face_landmarker,dlib_68]

Each image goes to the face analyzer as the service receives an upload (the encoded file as is).
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
from integrity.core.enums import LandmarkBackend
from integrity.vision.face import FaceAnalyzer


@dataclass(frozen=True)
class FaceCount:
    file: str
    expected: FaceExpectation | None  # None: the MANIFEST has no count for this image
    counted: int
    unverified: int
    ms: float

    @property
    def ok(self) -> bool:
        return self.expected is not None and self.counted in self.expected.counts


def count_faces(
    face: FaceAnalyzer, images: list[Path], expectations: dict[str, FaceExpectation]
) -> list[FaceCount]:
    rows = []
    for path in images:
        data = path.read_bytes()
        started = time.perf_counter()
        found = face.analyze(data)
        ms = (time.perf_counter() - started) * 1000
        rows.append(FaceCount(path.name, expectations.get(path.name), found.count, len(found.unverified), ms))
    return rows


def format_table(rows: list[FaceCount]) -> list[str]:
    lines = [f"{'file':40} {'expected':>8} {'counted':>7} {'unverified':>10} {'ms':>7}  ok"]
    for row in rows:
        expected = row.expected.label if row.expected is not None else "?"
        lines.append(
            f"{row.file:40} {expected:>8} {row.counted:>7} {row.unverified:>10} {row.ms:7.1f}  "
            f"{'yes' if row.ok else 'NO'}"
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


def face_count_table(face: FaceAnalyzer, fixtures: Path = FIXTURES) -> tuple[list[str], bool]:
    """The printed table for every still image in ``fixtures`` and whether every count is right."""
    expectations = face_expectations((fixtures / MANIFEST.name).read_text(encoding="utf-8"))
    rows = count_faces(face, still_images(fixtures), expectations)
    return format_table(rows), bool(rows) and all(row.ok for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default=",".join(LandmarkBackend), help="comma-separated")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--config", type=Path, default=FACE_CONFIG)
    args = parser.parse_args()
    failed = False
    for requested in parse_backends(args.backend):
        backend = load_backend(requested, args.config)
        print(f"== landmarks {requested}: ran {backend.ran}")
        if backend.analyzer is None:
            failed = True
            continue
        lines, ok = face_count_table(backend.analyzer, args.fixtures)
        print("\n".join(lines) + "\n")
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
