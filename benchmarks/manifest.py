"""What ``../shared/fixtures/MANIFEST.md`` says about the fixtures, parsed from its text.

* :func:`gaze_segments`: the strict per-frame gaze labels, from the fenced ``csv`` block after the
  heading "Labelled gaze segments" (``file,start_s,end_s,gaze,notes``). Frames outside every segment
  (transitions, winks, squints) are not scored, and each segment is trimmed at both ends by a margin
  (:data:`DEFAULT_TRIM_S`): the MANIFEST gives its boundaries to about +-0.1 s and asks an
  evaluation to trim 0.1-0.2 s.
* :func:`label_errata`: this repository's corrections of labels that the frames contradict
  (``benchmarks/label_errata.csv``, each with the evidence seen on zoomed frames), applied by
  :meth:`ClipLabels.corrected`. Each names the MANIFEST label it replaces, so it stops applying (and
  says so) once the MANIFEST is fixed. The evaluation reports both the MANIFEST's figures and the
  corrected ones.
* :func:`face_expectations`: the face count of every still image, from the bold "**N face(s)**"
  phrase in its row of the Images table; "**4 fully visible faces plus 1 partial**" accepts 4 or 5.

No clip name, segment time or face count is written here: they come from the MANIFEST (and the
errata file).
"""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from integrity.core.enums import GazeDirection
from integrity.core.paths import REPO_ROOT

FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
MANIFEST = FIXTURES / "MANIFEST.md"
ERRATA = Path(__file__).resolve().parent / "label_errata.csv"
DEFAULT_TRIM_S = 0.15
STILL_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
_EPS = 1e-6  # frame times are index / fps: a frame exactly on a trimmed boundary is scored


@dataclass(frozen=True, slots=True)
class Segment:
    """One labelled span of a clip: ``gaze`` held from ``start`` to ``end`` (seconds)."""

    file: str
    start: float
    end: float
    gaze: GazeDirection
    notes: str = ""

    def holds(self, t: float, trim: float = DEFAULT_TRIM_S) -> bool:
        """Whether ``t`` lies in the segment once ``trim`` seconds are cut off at each end."""
        return self.start + trim - _EPS <= t <= self.end - trim + _EPS


@dataclass(frozen=True, slots=True)
class ClipLabels:
    """The labelled segments of one clip, in time order."""

    file: str
    segments: tuple[Segment, ...]

    def segment_at(self, t: float, trim: float = DEFAULT_TRIM_S) -> Segment | None:
        """The segment scored at ``t``, or None where ``t`` is not scored."""
        return next((s for s in self.segments if s.holds(t, trim)), None)

    def label_at(self, t: float, trim: float = DEFAULT_TRIM_S) -> GazeDirection | None:
        """The strict label at ``t``, or None where ``t`` is not scored."""
        segment = self.segment_at(t, trim)
        return segment.gaze if segment is not None else None

    def scored_seconds(self, trim: float = DEFAULT_TRIM_S) -> float:
        return sum(max(0.0, s.end - s.start - 2 * trim) for s in self.segments)

    def corrected(self, errata: list[Erratum]) -> ClipLabels:
        """These labels with ``errata`` applied: each erratum's span becomes a segment of its own
        with the corrected label (trimmed like any other), the rest of the segment it lies in keeps
        the MANIFEST's. Raises ValueError when an erratum no longer matches the MANIFEST (it lies in
        no segment labelled ``manifest_gaze``): the MANIFEST was changed, check and drop it."""
        segments = list(self.segments)
        for erratum in errata:
            host = next(
                (
                    s
                    for s in segments
                    if s.start - _EPS <= erratum.start
                    and erratum.end <= s.end + _EPS
                    and s.gaze is erratum.manifest_gaze
                ),
                None,
            )
            if host is None:
                raise ValueError(
                    f"{self.file}: erratum {erratum.start}-{erratum.end} s ({erratum.manifest_gaze} ->"
                    f" {erratum.gaze}) lies in no segment labelled {erratum.manifest_gaze}: the MANIFEST"
                    " changed; check the frames and update benchmarks/label_errata.csv"
                )
            segments.remove(host)
            parts = [
                Segment(self.file, host.start, erratum.start, host.gaze, host.notes),
                Segment(self.file, erratum.start, erratum.end, erratum.gaze, f"erratum: {erratum.evidence}"),
                Segment(self.file, erratum.end, host.end, host.gaze, host.notes),
            ]
            segments.extend(p for p in parts if p.end - p.start > _EPS)
        return ClipLabels(self.file, tuple(sorted(segments, key=lambda s: s.start)))


@dataclass(frozen=True, slots=True)
class Erratum:
    """A span of a labelled segment whose frames show ``gaze``, not the MANIFEST's ``manifest_gaze``."""

    file: str
    start: float
    end: float
    manifest_gaze: GazeDirection
    gaze: GazeDirection
    evidence: str


def label_errata(text: str) -> dict[str, list[Erratum]]:
    """The errata CSV (``file,start_s,end_s,manifest_gaze,gaze,evidence``) by file name. Every
    erratum must say what was seen (``evidence``); raises ValueError otherwise."""
    rows = list(csv.DictReader(line for line in text.splitlines() if line.strip()))
    errata: dict[str, list[Erratum]] = {}
    for number, row in enumerate(rows, start=2):
        try:
            erratum = Erratum(
                row["file"].strip(),
                float(row["start_s"]),
                float(row["end_s"]),
                GazeDirection(row["manifest_gaze"].strip()),
                GazeDirection(row["gaze"].strip()),
                (row.get("evidence") or "").strip(),
            )
        except (KeyError, ValueError, AttributeError) as error:
            raise ValueError(f"errata row {number}: {error}") from None
        if erratum.end <= erratum.start or not erratum.evidence or erratum.gaze is GazeDirection.UNKNOWN:
            raise ValueError(f"errata row {number}: needs start < end, a label and the evidence seen")
        errata.setdefault(erratum.file, []).append(erratum)
    return errata


def corrected_labels(clips: dict[str, ClipLabels], errata: dict[str, list[Erratum]]) -> dict[str, ClipLabels]:
    """Every clip's labels with its errata applied (clips without errata as they are)."""
    return {name: clip.corrected(errata.get(name, [])) for name, clip in clips.items()}


def _section(text: str, heading: str) -> list[str]:
    """The lines after the markdown heading that starts with ``heading``, up to the next one."""
    lines = text.splitlines()
    pattern = re.compile(r"^#{1,6}\s+" + re.escape(heading), re.IGNORECASE)
    start = next((i for i, line in enumerate(lines) if pattern.match(line)), None)
    if start is None:
        raise ValueError(f"MANIFEST has no heading {heading!r}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return lines[start + 1 : end]


def gaze_segments(text: str) -> dict[str, ClipLabels]:
    """The labelled clips of the MANIFEST's "Labelled gaze segments" CSV block, by file name.

    The notes column is free text and may hold unquoted commas: whatever follows the fourth field
    is the note. Raises ValueError on a missing block, an unknown label or overlapping segments.
    """
    lines = _section(text, "Labelled gaze segments")
    opening = next((i for i, line in enumerate(lines) if line.strip().lower() == "```csv"), None)
    if opening is None:
        raise ValueError("no ```csv block under 'Labelled gaze segments'")
    closing = next((i for i in range(opening + 1, len(lines)) if lines[i].strip() == "```"), None)
    if closing is None:
        raise ValueError("the ```csv block under 'Labelled gaze segments' is not closed")
    rows = list(csv.reader(line for line in lines[opening + 1 : closing] if line.strip()))
    if not rows:
        raise ValueError("the labelled gaze segments block is empty")
    header = [cell.strip() for cell in rows[0]]
    expected = ["file", "start_s", "end_s", "gaze", "notes"]
    if header[: len(expected)] != expected:
        raise ValueError(f"unexpected header {header}, expected {expected}")
    by_file: dict[str, list[Segment]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) < 4:
            raise ValueError(f"CSV row {number}: {row} has fewer than 4 fields")
        file, start, end, gaze = (cell.strip() for cell in row[:4])
        try:
            label = GazeDirection(gaze)
        except ValueError:
            raise ValueError(f"CSV row {number}: unknown gaze label {gaze!r}") from None
        if label is GazeDirection.UNKNOWN:
            raise ValueError(f"CSV row {number}: 'unknown' is not a label")
        segment = Segment(file, float(start), float(end), label, ",".join(row[4:]).strip())
        if segment.end <= segment.start:
            raise ValueError(f"CSV row {number}: ends at {end} s, before its start {start} s")
        by_file.setdefault(file, []).append(segment)
    clips: dict[str, ClipLabels] = {}
    for file, segments in by_file.items():
        ordered = sorted(segments, key=lambda s: s.start)
        for before, after in itertools.pairwise(ordered):
            if after.start < before.end:
                raise ValueError(f"{file}: segments {before.start}-{before.end} and {after.start} overlap")
        clips[file] = ClipLabels(file, tuple(ordered))
    return clips


@dataclass(frozen=True, slots=True)
class FaceExpectation:
    """The face counts accepted for a still image and the MANIFEST phrase they come from."""

    file: str
    counts: tuple[int, ...]
    source: str

    @property
    def label(self) -> str:
        low, high = min(self.counts), max(self.counts)
        return str(low) if low == high else f"{low}-{high}"


# Files whose face count the MANIFEST's wording does not give unambiguously (several different bold
# counts in the row, or none): file name -> (accepted counts, why). Empty while every row parses;
# add a file here rather than bending the parser to one row's wording.
FACE_COUNT_EXCEPTIONS: dict[str, tuple[tuple[int, ...], str]] = {}

# "**1 face**", "**0 faces**", "**2 faces.**", "**1 human face**", "**0 faces, no person.**" and
# "**4 fully visible faces plus 1 partial.**" (partial faces: either count is right).
_FACE_COUNT = re.compile(
    r"\*\*(?P<n>\d+)\s+(?:fully\s+visible\s+|human\s+)?faces?\b"
    r"(?:\s+plus\s+(?P<partial>\d+)\s+partial)?[^*]*\*\*",
    re.IGNORECASE,
)


def face_count_of(description: str) -> tuple[int, ...] | None:
    """The face counts one Images-table description accepts, or None when it is ambiguous."""
    found: set[tuple[int, ...]] = set()
    for match in _FACE_COUNT.finditer(description):
        n = int(match["n"])
        partial = int(match["partial"] or 0)
        found.add(tuple(range(n, n + partial + 1)))
    return found.pop() if len(found) == 1 else None


def face_expectations(text: str) -> dict[str, FaceExpectation]:
    """The accepted face counts of each still image in the MANIFEST's Images table, by file name.

    Raises ValueError for a row whose count is ambiguous and not in :data:`FACE_COUNT_EXCEPTIONS`.
    """
    expectations: dict[str, FaceExpectation] = {}
    for line in _section(text, "Images"):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or Path(cells[0]).suffix.lower() not in STILL_SUFFIXES:
            continue  # the header, its rule, or not an image row
        file, description = cells[0], cells[3]
        if file in FACE_COUNT_EXCEPTIONS:
            counts, why = FACE_COUNT_EXCEPTIONS[file]
            expectations[file] = FaceExpectation(file, counts, f"exception: {why}")
            continue
        parsed = face_count_of(description)
        if parsed is None:
            raise ValueError(f"{file}: no single bold face count in {description[:80]!r}")
        phrase = _FACE_COUNT.search(description)
        assert phrase is not None
        expectations[file] = FaceExpectation(file, parsed, phrase.group(0).strip("*. "))
    if not expectations:
        raise ValueError("no still image rows under 'Images'")
    return expectations


def still_images(fixtures: Path = FIXTURES) -> list[Path]:
    """The still images among the fixtures (A01..A11 png/jpg), sorted by name."""
    return sorted(
        p for p in fixtures.glob("A[0-9][0-9]_*") if p.is_file() and p.suffix.lower() in STILL_SUFFIXES
    )
