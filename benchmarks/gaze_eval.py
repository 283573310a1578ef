"""Gaze accuracy per frame on every labelled fixture clip, per landmark backend, with strict labels.

    python benchmarks/gaze_eval.py [--backend face_landmarker,dlib_68] [--clip SUBSTRING,...]
                                   [--variants recorded] [--stride 1] [--max-seconds S]
                                   [--trim 0.15] [--min-accuracy 0.90] [--no-faces] [--weights YOLO]
                                   [--judge manifest|corrected] [--errata CSV]

Labels: the CSV block "Labelled gaze segments" at the end of ``../shared/fixtures/MANIFEST.md``
(``benchmarks.manifest``); every clip listed there is evaluated. Frames outside every segment
(transitions, winks, squints) are not scored, and each segment loses ``--trim`` seconds at both ends
(its boundaries are accurate to about +-0.1 s). Where the frames contradict a label (a look to
the side inside a "center" segment, a mirrored "right"), ``benchmarks/label_errata.csv`` says so
with what was seen, and every figure is printed twice: against the MANIFEST's labels and against
the corrected ones (``--judge`` picks which decides the exit status; the MANIFEST's by default).
A frame is right when the direction the service answers equals the label: ``unknown`` is wrong.
The unknown frames whose lids were closed or lowered (blinks, the first frames of a look down) and
those without a face are counted apart, for information only.

Each frame goes through the same components as in the service, in process and in order (the
calibration needs the first seconds, scored or not): the session in trusted-replay mode (plan,
calibration, risk engine, the duration rule that tells a look down from a blink), the face
deployment's analyzer with the chosen landmark backend (``configs/face.yaml``, its ``landmarks``
overridden), and the gaze analyzer with the session's neutral pose; the direction scored is the one
the service answers (the session's judgement, else the reading). Frames are shown upright, as a
browser would: OpenCV applies the file's rotation tag.

Printed per clip, backend and variant: a confusion matrix (rows: label, columns: the direction
answered, unknown included) with each label's accuracy, the overall per-frame accuracy, the events
raised, and the time per frame (whole frame, face stage, gaze) as median and p95. Then the face
counts of every still image (``benchmarks/face_count.py``, with the second look in person boxes where
YOLO weights are configured or given by ``--weights``) per backend, unless ``--no-faces``.
Exit status 1 when a clip's overall accuracy is below ``--min-accuracy``, a requested backend
cannot run, or a face count differs from the MANIFEST's.

``--stride n`` scores every n-th frame (2-5 for quick runs; the acceptance is at 1) and
``--max-seconds`` stops each clip early. Degraded variants (``--variants``), the way real webcams
degrade:

* side_light: a horizontal brightness ramp from 100 % on the image's left to 30 % on its right;
* half_res_q60: half the resolution, JPEG quality 60;
* low_light_noise: brightness at 35 % plus Gaussian sensor noise (sigma 6 grey levels);
* mirrored: flipped left to right, as a browser's mirrored selfie view sends it (labels left and
  right swapped): a bias toward one side (a yaw offset, one eye read better) shows up as a gap
  between a clip and its mirror image.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's

from benchmarks.backends import FACE_CONFIG, load_backend, parse_backends
from benchmarks.face_count import SecondLook, face_count_table
from benchmarks.manifest import (
    DEFAULT_TRIM_S,
    ERRATA,
    FIXTURES,
    MANIFEST,
    ClipLabels,
    gaze_segments,
    label_errata,
)
from integrity.core.enums import GazeDirection, LandmarkBackend
from integrity.core.results import ModelStatus, ObjectAnalysis
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
from integrity.session.risk.models import EventRecord
from integrity.session.state import FrameFacts
from integrity.session.store import MemoryStore
from integrity.vision.face import FaceAnalyzer
from integrity.vision.gaze import GazeAnalyzer, GazeConfig
from integrity.vision.video import frames, video_info
from serve_app.settings import REPO_ROOT, Settings

GAZE_CONFIG = REPO_ROOT / "configs" / "gaze.yaml"
MIN_ACCURACY = 0.90
LABELS = tuple(d for d in GazeDirection if d is not GazeDirection.UNKNOWN)  # matrix rows
ANSWERS = tuple(GazeDirection)  # matrix columns: the labels and unknown

Image = NDArray[np.uint8]
Degrade = Callable[[Image, np.random.Generator], tuple[Image, int]]


def recorded(frame: Image, rng: np.random.Generator) -> tuple[Image, int]:
    return frame, 90


def side_light(frame: Image, rng: np.random.Generator) -> tuple[Image, int]:
    ramp = np.linspace(1.0, 0.3, frame.shape[1], dtype=np.float32)[None, :, None]
    return np.clip(frame * ramp, 0, 255).astype(np.uint8), 90


def half_res_q60(frame: Image, rng: np.random.Generator) -> tuple[Image, int]:
    small: Image = np.asarray(cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    return small, 60


def low_light_noise(frame: Image, rng: np.random.Generator) -> tuple[Image, int]:
    dark = frame.astype(np.float32) * 0.35 + rng.normal(0.0, 6.0, frame.shape).astype(np.float32)
    return np.clip(dark, 0, 255).astype(np.uint8), 90


def mirrored(frame: Image, rng: np.random.Generator) -> tuple[Image, int]:
    return np.ascontiguousarray(frame[:, ::-1]), 90


VARIANTS: dict[str, Degrade] = {
    "recorded": recorded,
    "side_light": side_light,
    "half_res_q60": half_res_q60,
    "low_light_noise": low_light_noise,
    "mirrored": mirrored,
}
MIRRORING = {"mirrored"}  # variants whose labels swap left and right
SWAPPED = {GazeDirection.LEFT: GazeDirection.RIGHT, GazeDirection.RIGHT: GazeDirection.LEFT}


@dataclass
class Confusion:
    """Scored frames by (label, answered direction), with the unknowns' causes counted apart."""

    counts: Counter[tuple[GazeDirection, GazeDirection]] = field(default_factory=Counter)
    blinks: Counter[GazeDirection] = field(default_factory=Counter)  # unknown, lids closed/lowered
    no_face: Counter[GazeDirection] = field(default_factory=Counter)  # unknown, no face found

    def add(
        self, label: GazeDirection, answer: GazeDirection, *, blink: bool = False, no_face: bool = False
    ) -> None:
        self.counts[label, answer] += 1
        if answer is GazeDirection.UNKNOWN:
            self.blinks[label] += blink
            self.no_face[label] += no_face

    def total(self, label: GazeDirection | None = None) -> int:
        return sum(n for (lab, _), n in self.counts.items() if label in (None, lab))

    def correct(self, label: GazeDirection | None = None) -> int:
        return sum(n for (lab, ans), n in self.counts.items() if lab is ans and label in (None, lab))

    def unknown(self, label: GazeDirection | None = None) -> int:
        return sum(
            n
            for (lab, ans), n in self.counts.items()
            if ans is GazeDirection.UNKNOWN and label in (None, lab)
        )

    def accuracy(self, label: GazeDirection | None = None) -> float | None:
        """Strict per-frame accuracy (of ``label``'s frames, or all); None without scored frames."""
        total = self.total(label)
        return self.correct(label) / total if total else None

    def labels(self) -> list[GazeDirection]:
        return [label for label in LABELS if self.total(label)]

    def format(self) -> list[str]:
        width = max(len(str(a)) for a in ANSWERS) + 1
        head = f"{'label / answer':<15}" + "".join(f"{a!s:>{width}}" for a in ANSWERS)
        lines = [head + f"{'frames':>8}{'accuracy':>10}{'lids low':>9}{'no face':>8}"]
        for label in self.labels():
            cells = "".join(f"{self.counts[label, a]:>{width}}" for a in ANSWERS)
            lines.append(
                f"{label!s:<15}{cells}{self.total(label):>8}{percent(self.accuracy(label)):>10}"
                f"{self.blinks[label]:>9}{self.no_face[label]:>8}"
            )
        lines.append(
            f"{'overall':<15}{'':>{width * len(ANSWERS)}}{self.total():>8}{percent(self.accuracy()):>10}"
            f"{sum(self.blinks.values()):>9}{sum(self.no_face.values()):>8}"
        )
        lines.append(
            "(lids low: answered unknown with the lids closed or lowered, i.e. a blink or a look down"
            " not held long enough; no face: answered unknown without a face; both count as wrong)"
        )
        return lines


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def quantiles(values: Iterable[float]) -> str:
    """'p50 X ms, p95 Y ms' of ``values`` (or '-')."""
    data = np.asarray(list(values), dtype=np.float64)
    if data.size == 0:
        return "-"
    return f"p50 {np.percentile(data, 50):.1f} ms, p95 {np.percentile(data, 95):.1f} ms"


ERRATA_TITLE = "with this repository's label errata (benchmarks/label_errata.csv):"


@dataclass
class Result:
    clip: str
    variant: str
    stride: int = 1
    fps: float = 0.0
    frames: int = 0  # frames the session saw
    last_t: float = 0.0
    confusion: Confusion = field(default_factory=Confusion)
    corrected: Confusion | None = None  # the same frames against the corrected labels, if any differ
    records: list[EventRecord] = field(default_factory=list)
    directions: list[tuple[float, GazeDirection]] = field(default_factory=list)
    frame_ms: list[float] = field(default_factory=list)  # session + face + gaze, whole frame
    face_ms: list[float] = field(default_factory=list)
    gaze_ms: list[float] = field(default_factory=list)

    def accuracy(self, label: GazeDirection | None = None, *, corrected: bool = False) -> float | None:
        """Against the MANIFEST's labels, or with ``corrected`` the errata's (the same where none)."""
        confusion = self.corrected if corrected and self.corrected is not None else self.confusion
        return confusion.accuracy(label)

    def report(self) -> list[str]:
        spacing = 1000 * self.stride / self.fps if self.fps else 0.0
        lines = [
            f"{self.frames} frames seen (every {self.stride}, {spacing:.1f} ms apart at {self.fps:g} fps,"
            f" 0-{self.last_t:.2f} s), {self.confusion.total()} scored",
            *self.confusion.format(),
            *([] if self.corrected is None else [ERRATA_TITLE, *self.corrected.format()]),
            f"time per frame: whole {quantiles(self.frame_ms)}; face {quantiles(self.face_ms)};"
            f" gaze {quantiles(self.gaze_ms)}",
        ]
        latest = {e.id or str(i): e for i, e in enumerate(self.records)}  # an upgrade keeps its id
        events = ", ".join(describe(e) for e in latest.values()) or "none"
        lines.append(f"events: {events}")
        return lines


def describe(event: EventRecord) -> str:
    """``EYES_OFF_SCREEN (down, medium) at 3.50 s``: type, direction if any, severity, time."""
    direction = event.evidence.get("direction")
    detail = f"{direction}, {event.severity}" if direction else str(event.severity)
    return f"{event.type} ({detail}) at {event.timestamp:.2f} s"


async def evaluate(
    clip: ClipLabels,
    face: FaceAnalyzer,
    gaze: GazeAnalyzer,
    *,
    variant: str = "recorded",
    video: Path | None = None,
    stride: int = 1,
    max_seconds: float | None = None,
    trim: float = DEFAULT_TRIM_S,
    corrected: ClipLabels | None = None,
) -> Result:
    """Run one variant of a clip through a fresh session, every ``stride``-th frame in order, scored
    against the MANIFEST's labels and, where given and different, the ``corrected`` ones."""
    video = FIXTURES / clip.file if video is None else video
    config = RiskConfig.load()
    sessions = SessionManager(MemoryStore(), config, expire_seconds=3600.0, trust_client_time=True)
    session = await sessions.create("gaze-eval", timestamp=0.0)
    no_objects = ObjectAnalysis(status=ModelStatus(available=False, detail="not evaluated here"))
    rng = np.random.default_rng(7)
    result = Result(clip.file, variant, stride=stride, fps=video_info(video).fps)
    degrade = VARIANTS[variant]
    if corrected is not None and corrected != clip:
        result.corrected = Confusion()
    for t, frame in frames(video, stride):
        if max_seconds is not None and t > max_seconds:
            break
        image, quality = degrade(frame, rng)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        started = time.perf_counter()
        plan = await sessions.plan_frame(session.session_id, t)
        tick = time.perf_counter()
        found = face.analyze(buf.tobytes())
        result.face_ms.append((time.perf_counter() - tick) * 1000)
        tick = time.perf_counter()
        reading = gaze.analyze_face(found, plan.neutral)
        if reading is not None:
            result.gaze_ms.append((time.perf_counter() - tick) * 1000)
        outcome = await sessions.record_frame(
            session.session_id, FrameFacts.of(plan.timestamp, found, reading, no_objects)
        )
        result.frame_ms.append((time.perf_counter() - started) * 1000)
        result.records.extend(outcome.events)
        judged = outcome.gaze if outcome.gaze is not None else reading  # what the service answers
        direction = judged.direction if judged is not None else GazeDirection.UNKNOWN
        result.frames += 1
        result.last_t = t
        result.directions.append((t, direction))
        blink = judged is not None and (not judged.lids_open or judged.blink)
        for labels, confusion in ((clip, result.confusion), (corrected, result.corrected)):
            label = None if labels is None or confusion is None else labels.label_at(t, trim)
            if label is not None and variant in MIRRORING:
                label = SWAPPED.get(label, label)
            if label is not None and confusion is not None:
                confusion.add(label, direction, blink=blink, no_face=found.primary is None)
    return result


def select_clips(labelled: dict[str, ClipLabels], wanted: str | None) -> list[ClipLabels]:
    """The labelled clips whose file name contains one of the comma-separated ``wanted`` parts."""
    if not wanted:
        return list(labelled.values())
    parts = [p.strip() for p in wanted.split(",") if p.strip()]
    chosen = [clip for name, clip in labelled.items() if any(p in name for p in parts)]
    if not chosen:
        raise SystemExit(f"no labelled clip matches {wanted!r}; labelled: {', '.join(labelled)}")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default=",".join(LandmarkBackend), help="comma-separated")
    parser.add_argument("--clip", default=None, help="comma-separated parts of labelled file names")
    parser.add_argument("--variants", default="recorded", help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--stride", type=int, default=1, help="use every n-th frame (2-5: quick runs)")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop each clip at this time")
    parser.add_argument("--trim", type=float, default=DEFAULT_TRIM_S, help="seconds cut off each segment end")
    parser.add_argument("--min-accuracy", type=float, default=MIN_ACCURACY)
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--config", type=Path, default=FACE_CONFIG, help="face config (landmarks overridden)")
    parser.add_argument("--no-faces", action="store_true", help="skip the face-count table")
    parser.add_argument(
        "--weights", type=Path, default=None, help="YOLO weights for the face table's second look"
    )
    parser.add_argument(
        "--judge",
        choices=["manifest", "corrected"],
        default="manifest",
        help="which labels decide the exit status: the MANIFEST's, or with the errata applied",
    )
    parser.add_argument("--errata", type=Path, default=ERRATA, help="label errata CSV")
    args = parser.parse_args()
    if args.stride < 1:
        parser.error("--stride must be at least 1")
    variants = [v for v in args.variants.split(",") if v]
    for variant in variants:
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    manifest = args.fixtures / MANIFEST.name
    if not manifest.is_file():
        print(f"fixtures MANIFEST not found: {manifest}", file=sys.stderr)
        return 2
    clips = select_clips(gaze_segments(manifest.read_text(encoding="utf-8")), args.clip)
    errata = label_errata(args.errata.read_text(encoding="utf-8")) if args.errata.is_file() else {}
    corrections: dict[str, ClipLabels] = {}
    for clip in clips:
        try:
            corrections[clip.file] = clip.corrected(errata.get(clip.file, []))
        except ValueError as error:
            print(f"errata not applied: {error}", file=sys.stderr)
            corrections[clip.file] = clip
    for clip in clips:
        if not (args.fixtures / clip.file).is_file():
            print(f"labelled clip not found: {args.fixtures / clip.file}", file=sys.stderr)
            return 2
    cv2.setNumThreads(1)  # as in the service
    gaze = GazeAnalyzer(GazeConfig.load(GAZE_CONFIG))
    print(
        f"strict per-frame labels from {manifest}, segments trimmed by {args.trim:g} s at each end; "
        f"stride {args.stride}"
        + (f", at most {args.max_seconds:g} s per clip" if args.max_seconds is not None else "")
        + f"; a clip passes at >= {args.min_accuracy:.0%}\n"
    )
    failed = False
    summary: list[tuple[str, str, str, Result | None]] = []
    face_tables: list[tuple[str, list[str]]] = []
    second: SecondLook | None = None
    if not args.no_faces:
        second, said = SecondLook.load(args.weights, Settings().model_path)
        print(f"face table: {said}\n")
    for requested in parse_backends(args.backend):
        backend = load_backend(requested, args.config)
        print(f"==== landmarks {requested}: ran {backend.ran}")
        if backend.analyzer is None:
            failed = True
            summary.extend((str(requested), clip.file, v, None) for clip in clips for v in variants)
            continue
        for clip in clips:
            for variant in variants:
                result = asyncio.run(
                    evaluate(
                        clip,
                        backend.analyzer,
                        gaze,
                        variant=variant,
                        video=args.fixtures / clip.file,
                        stride=args.stride,
                        max_seconds=args.max_seconds,
                        trim=args.trim,
                        corrected=corrections[clip.file],
                    )
                )
                print(f"--- {clip.file} [{requested}, {variant}]")
                print("\n".join(result.report()) + "\n", flush=True)
                accuracy = result.accuracy(corrected=args.judge == "corrected")
                failed |= accuracy is not None and accuracy < args.min_accuracy
                summary.append((str(requested), clip.file, variant, result))
        if not args.no_faces:
            lines, ok = face_count_table(backend.analyzer, args.fixtures, second)
            face_tables.append((str(requested), lines))
            failed |= not ok
    print(
        f"==== summary: strict per-frame accuracy (pass >= {args.min_accuracy:.0%}, judged on the"
        f" {'MANIFEST labels' if args.judge == 'manifest' else 'corrected labels'})"
    )
    print(
        f"{'backend':<16} {'clip':<52} {'variant':<16} {'scored':>6} {'unknown':>7} {'accuracy':>9}"
        f" {'corrected':>9}  pass"
    )
    for backend_name, file, variant, scored in summary:
        if scored is None:
            print(f"{backend_name:<16} {file:<52} {variant:<16} {'':>6} {'':>7} {'not run':>9} {'':>9}  NO")
            continue
        accuracy = scored.accuracy(corrected=args.judge == "corrected")
        verdict = "-" if accuracy is None else "yes" if accuracy >= args.min_accuracy else "NO"
        print(
            f"{backend_name:<16} {file:<52} {variant:<16} {scored.confusion.total():>6}"
            f" {scored.confusion.unknown():>7} {percent(scored.accuracy()):>9}"
            f" {percent(scored.accuracy(corrected=True)):>9}  {verdict}"
        )
    for backend_name, lines in face_tables:
        print(f"\n==== face counts on the still images [{backend_name}]")
        print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
