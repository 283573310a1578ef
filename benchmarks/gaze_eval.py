"""Gaze accuracy on the labelled fixture clips, as recorded and degraded, per labelled segment.

    python benchmarks/gaze_eval.py [--clip center_left_center,down_segments] [--variants ...]
                                   [--stride 1] [--video PATH]

Each frame goes through the same components as in the service, in process: the session (plan,
calibration, risk engine, the duration rule that tells a look down from a blink), the face
deployment's analyzer and the gaze analyzer with the session's neutral pose; the direction scored
is the one the service answers. Frames are shown upright, as a browser would: OpenCV applies the
file's rotation tag. Labels (fixtures MANIFEST):

* center_left_center: at the camera until ~5.5 s, toward image-left from ~5.8 s to ~10.3 s, back
  at the camera from ~10.5 s;
* down_segments: at the camera 0-1.8 s, DOWN 1.9-5.5 s, camera 5.6-6.8 s, DOWN 7.1-8.8 s, camera
  9.2-10.6 s, image-right 10.7-11.2 s, UP 11.4-11.8 s (the gaps between are transitions).

Frames within 0.3 s of a switch (of the transition between two labelled segments) are not scored.
A frame counts as correct when its direction equals the label; "unknown" is wrong, except in a
centre segment while the eyes are closed or briefly lowered (a blink: never guessed), which is
counted apart ("blinks"). Each frame is also scored on the vertical axis alone (up / level / down,
where level is centre, left or right). The down clip labels only the vertical gaze (its centre
segments hold unlabelled glances aside: the irises sit 0.15-0.2 eye widths off-centre at 0.7-1.1 s
and 6.3-6.8 s), so its acceptance is on that axis; the centre-left-centre clip's is on the full
direction. The acceptance applies to the clip's ``required`` segments; the down clip's short right
and up segments are reported for information. Degraded variants, the way real webcams degrade:

* side_light: a horizontal brightness ramp from 100 % on the image's left to 30 % on its right;
* half_res_q60: half the resolution, JPEG quality 60;
* low_light_noise: brightness at 35 % plus Gaussian sensor noise (sigma 6 grey levels).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from integrity.core.enums import EventType, GazeDirection
from integrity.core.results import ModelStatus, ObjectAnalysis
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
from integrity.session.risk.engine import EventRecord
from integrity.session.state import FrameFacts
from integrity.session.store import MemoryStore
from integrity.vision.face import FaceAnalyzer, FaceConfig
from integrity.vision.gaze import GazeAnalyzer, GazeConfig
from integrity.vision.video import frames
from serve_app.settings import REPO_ROOT, Settings

FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
EXCLUDE_S = 0.3
Segment = tuple[float, float, GazeDirection]  # (start, end, label) in seconds


@dataclass(frozen=True)
class Clip:
    """A labelled clip: its segments, the switches between them (a moment or a transition span),
    the directions whose segments must reach ``min_accuracy``, and its frame count."""

    file: str
    segments: tuple[Segment, ...]
    switches: tuple[tuple[float, float], ...]
    required: frozenset[GazeDirection]
    min_accuracy: float
    frames: int
    axis: Literal["direction", "vertical"] = "direction"  # what the acceptance scores

    @property
    def video(self) -> Path:
        return FIXTURES / self.file

    def label_at(self, t: float) -> GazeDirection | None:
        """The labelled direction at ``t``, or None where it is not scored."""
        if any(a - EXCLUDE_S <= t <= b + EXCLUDE_S for a, b in self.switches):
            return None
        for start, end, label in self.segments:
            if start <= t <= end:
                return label
        return None

    def segment_name(self, t: float) -> str:
        for i, (start, end, label) in enumerate(self.segments):
            if start <= t <= end:
                return f"{i + 1}:{label}"
        return "-"


C, D = GazeDirection.CENTER, GazeDirection.DOWN
CLIPS: dict[str, Clip] = {
    "center_left_center": Clip(
        file="A_video_gaze_center_left_center.mp4",
        segments=((0.0, 5.5, C), (5.8, 10.3, GazeDirection.LEFT), (10.5, 99.0, C)),
        switches=((5.65, 5.65), (10.4, 10.4)),  # accurate to about 0.2 s
        required=frozenset({C, GazeDirection.LEFT}),
        min_accuracy=0.95,
        frames=368,
    ),
    "down_segments": Clip(
        file="A_video_gaze_down_segments.mp4",
        segments=(
            (0.0, 1.8, C),
            (1.9, 5.5, D),
            (5.6, 6.8, C),
            (7.1, 8.8, D),
            (9.2, 10.6, C),
            (10.7, 11.2, GazeDirection.RIGHT),
            (11.4, 99.0, GazeDirection.UP),
        ),
        # 6.8-7.1: eyes drift to image-right and down; 8.8-9.2: eyes half open, coming back up.
        switches=((1.8, 1.9), (5.5, 5.6), (6.8, 7.1), (8.8, 9.2), (10.6, 10.7), (11.2, 11.4)),
        required=frozenset({C, D}),
        min_accuracy=0.90,
        frames=354,
        axis="vertical",
    ),
}
VIDEO = CLIPS["center_left_center"].video

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


VARIANTS: dict[str, Degrade] = {
    "recorded": recorded,
    "side_light": side_light,
    "half_res_q60": half_res_q60,
    "low_light_noise": low_light_noise,
}


def vertical(direction: GazeDirection) -> str:
    """The vertical class of a direction: up, down, level (centre, left, right) or unknown."""
    if direction in (GazeDirection.UP, GazeDirection.DOWN, GazeDirection.UNKNOWN):
        return str(direction)
    return "level"


def label_at(t: float, clip: str = "center_left_center") -> GazeDirection | None:
    """The labelled direction at ``t`` in ``clip``, or None where it is not scored."""
    return CLIPS[clip].label_at(t)


@dataclass
class Result:
    variant: str
    frames: int = 0
    scored: dict[str, list[bool]] = field(default_factory=dict)  # segment name -> hits
    vertical: dict[str, list[bool]] = field(default_factory=dict)  # segment -> vertical-axis hits
    unknowns: dict[str, int] = field(default_factory=dict)  # segment name -> frames "unknown"
    blinks: dict[str, int] = field(default_factory=dict)  # centre segment -> blink frames, not scored
    unknown: int = 0
    events: list[tuple[EventType, float]] = field(default_factory=list)
    records: list[EventRecord] = field(default_factory=list)  # the same events with their evidence
    gaze_ms: list[float] = field(default_factory=list)
    directions: list[tuple[float, GazeDirection]] = field(default_factory=list)

    def accuracy(self, segment: str | None = None, axis: str = "direction") -> float:
        table = self.scored if axis == "direction" else self.vertical
        hits = [h for name, hs in table.items() if segment in (None, name) for h in hs]
        return sum(hits) / len(hits) if hits else 0.0


async def evaluate(
    variant: str,
    face: FaceAnalyzer,
    gaze: GazeAnalyzer,
    video: Path | None = None,
    stride: int = 1,
    clip: str = "center_left_center",
) -> Result:
    """Run one variant of a clip through a fresh session; return its scores and events."""
    labels = CLIPS[clip]
    video = labels.video if video is None else video
    config = RiskConfig.load()
    sessions = SessionManager(MemoryStore(), config, expire_seconds=3600.0, trust_client_time=True)
    session = await sessions.create("gaze-eval", timestamp=0.0)
    no_objects = ObjectAnalysis(status=ModelStatus(available=False, detail="not evaluated here"))
    rng = np.random.default_rng(7)
    result = Result(variant)
    degrade = VARIANTS[variant]
    for t, frame in frames(video, stride):
        image, quality = degrade(frame, rng)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        plan = await sessions.plan_frame(session.session_id, t)
        found = face.analyze(buf.tobytes())
        reading = None
        if found.primary is not None:
            main = found.faces[found.primary]
            reading = gaze.analyze(
                main.landmarks, found.image_width, found.image_height, found.eye_patch, plan.neutral
            )
            result.gaze_ms.append(reading.timings_ms.get("gaze", 0.0))
        outcome = await sessions.record_frame(
            session.session_id, FrameFacts.of(plan.timestamp, found, reading, no_objects)
        )
        result.events.extend((e.type, e.timestamp) for e in outcome.events)
        result.records.extend(outcome.events)
        judged = outcome.gaze if outcome.gaze is not None else reading  # what the service answers
        direction = judged.direction if judged is not None else GazeDirection.UNKNOWN
        result.frames += 1
        result.directions.append((t, direction))
        label = labels.label_at(t)
        if label is None:
            continue
        name = labels.segment_name(t)
        unknown = direction is GazeDirection.UNKNOWN
        if unknown and label is GazeDirection.CENTER and judged is not None and not judged.lids_open:
            result.blinks[name] = result.blinks.get(name, 0) + 1  # eyes shut: rightly unknown
            continue
        result.unknown += unknown
        result.unknowns[name] = result.unknowns.get(name, 0) + unknown
        result.scored.setdefault(name, []).append(direction is label)
        result.vertical.setdefault(name, []).append(vertical(direction) == vertical(label))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clip", default=",".join(CLIPS), help="comma-separated: " + ", ".join(CLIPS))
    parser.add_argument("--video", type=Path, default=None, help="another file for a single --clip")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--stride", type=int, default=1, help="use every n-th frame")
    args = parser.parse_args()
    clips = args.clip.split(",")
    for name in clips:
        video = args.video or CLIPS[name].video
        if not video.is_file():
            print(f"video not found: {video}", file=sys.stderr)
            return 2
    settings = Settings()
    face = FaceAnalyzer(settings.face_models_dir, FaceConfig.load(REPO_ROOT / "configs" / "face.yaml"))
    face.load()
    gaze = GazeAnalyzer(GazeConfig.load(REPO_ROOT / "configs" / "gaze.yaml"))
    failed = False
    for name in clips:
        clip = CLIPS[name]
        required = ", ".join(sorted(clip.required))
        print(f"{name}: required >= {clip.min_accuracy:.0%} {clip.axis} accuracy per {required} segment")
        print(
            f"{'variant':<16} {'segment':<10} {'frames':>6} {'direction':>9} {'vertical':>9}"
            f" {'unknown':>8} {'blinks':>7}"
        )
        for variant in args.variants.split(","):
            result = asyncio.run(evaluate(variant, face, gaze, args.video, args.stride, clip=name))
            for segment, hits in result.scored.items():
                needed = segment.split(":")[1] in clip.required
                failed |= needed and result.accuracy(segment, clip.axis) < clip.min_accuracy
                print(
                    f"{variant:<16} {segment:<10} {len(hits):>6} {result.accuracy(segment):>9.1%}"
                    f" {result.accuracy(segment, 'vertical'):>9.1%} {result.unknowns.get(segment, 0):>8}"
                    f" {result.blinks.get(segment, 0):>7}{'' if needed else '  (not required)'}"
                )
            scored = sum(len(h) for h in result.scored.values())
            print(
                f"{variant:<16} {'overall':<10} {scored:>6} {result.accuracy():>9.1%}"
                f" {result.accuracy(axis='vertical'):>9.1%} {result.unknown:>8}"
                f" {sum(result.blinks.values()):>7}"
            )
            events = ", ".join(f"{e} at {ts:.2f} s" for e, ts in result.events) or "none"
            print(f"{variant:<16} events: {events}")
            ms = sorted(result.gaze_ms)
            p95 = ms[int(0.95 * (len(ms) - 1))]
            print(f"{variant:<16} gaze per face: median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
