"""Gaze accuracy on the labelled centre-left-centre fixture video, as recorded and degraded.

    python benchmarks/gaze_eval.py [--video PATH] [--variants recorded,side_light,...] [--stride 1]

Each frame goes through the same components as in the service, in process: the session (plan,
calibration, risk engine), the face deployment's analyzer and the gaze analyzer with the session's
neutral pose. Frames are shown upright, as a browser would: OpenCV applies the file's 90-degree
rotation tag. Labels (fixtures MANIFEST): gaze at the camera until ~5.5 s, toward image-left from
~5.8 s to ~10.3 s, back at the camera from ~10.5 s; frames within 0.3 s of a switch are not scored.
A frame counts as correct only when its direction equals the label ("unknown", from a blink, is
wrong). Degraded variants, the way real webcams degrade:

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

import cv2
import numpy as np
from numpy.typing import NDArray

from integrity.core.enums import EventType, GazeDirection
from integrity.core.results import ModelStatus, ObjectAnalysis
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
from integrity.session.state import FrameFacts
from integrity.session.store import MemoryStore
from integrity.vision.face import FaceAnalyzer, FaceConfig
from integrity.vision.gaze import GazeAnalyzer, GazeConfig
from integrity.vision.video import frames
from serve_app.settings import REPO_ROOT, Settings

VIDEO = REPO_ROOT.parent / "shared" / "fixtures" / "A_video_gaze_center_left_center.mp4"
# (start, end, label) in seconds; switches at about 5.65 s and 10.4 s.
SEGMENTS = (
    (0.0, 5.5, GazeDirection.CENTER),
    (5.8, 10.3, GazeDirection.LEFT),
    (10.5, 99.0, GazeDirection.CENTER),
)
SWITCHES = (5.65, 10.4)
EXCLUDE_S = 0.3

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


def label_at(t: float) -> GazeDirection | None:
    """The labelled direction at ``t``, or None where it is not scored."""
    if any(abs(t - s) <= EXCLUDE_S for s in SWITCHES):
        return None
    for start, end, label in SEGMENTS:
        if start <= t <= end:
            return label
    return None


@dataclass
class Result:
    variant: str
    frames: int = 0
    scored: dict[str, list[bool]] = field(default_factory=dict)  # segment name -> hits
    unknown: int = 0
    events: list[tuple[EventType, float]] = field(default_factory=list)
    gaze_ms: list[float] = field(default_factory=list)
    directions: list[tuple[float, GazeDirection]] = field(default_factory=list)

    def accuracy(self, segment: str | None = None) -> float:
        hits = [h for name, hs in self.scored.items() if segment in (None, name) for h in hs]
        return sum(hits) / len(hits) if hits else 0.0


def segment_name(t: float) -> str:
    for i, (start, end, label) in enumerate(SEGMENTS):
        if start <= t <= end:
            return f"{i + 1}:{label}"
    return "-"


async def evaluate(
    variant: str, face: FaceAnalyzer, gaze: GazeAnalyzer, video: Path = VIDEO, stride: int = 1
) -> Result:
    """Run one variant of the clip through a fresh session; return its scores and events."""
    config = RiskConfig.load()
    sessions = SessionManager(MemoryStore(), config, expire_seconds=3600.0)
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
        direction = reading.direction if reading is not None else GazeDirection.UNKNOWN
        result.frames += 1
        result.directions.append((t, direction))
        label = label_at(t)
        if label is None:
            continue
        result.unknown += direction is GazeDirection.UNKNOWN
        result.scored.setdefault(segment_name(t), []).append(direction is label)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--stride", type=int, default=1, help="use every n-th frame")
    parser.add_argument("--min-accuracy", type=float, default=0.95, help="exit 1 below this")
    args = parser.parse_args()
    if not args.video.is_file():
        print(f"video not found: {args.video}", file=sys.stderr)
        return 2
    settings = Settings()
    face = FaceAnalyzer(settings.face_models_dir, FaceConfig.load(REPO_ROOT / "configs" / "face.yaml"))
    face.load()
    gaze = GazeAnalyzer(GazeConfig.load(REPO_ROOT / "configs" / "gaze.yaml"))
    failed = False
    print(f"{'variant':<16} {'segment':<10} {'frames':>6} {'accuracy':>9}")
    for variant in args.variants.split(","):
        result = asyncio.run(evaluate(variant, face, gaze, args.video, args.stride))
        for name, hits in result.scored.items():
            print(f"{variant:<16} {name:<10} {len(hits):>6} {sum(hits) / len(hits):>9.1%}")
        overall = result.accuracy()
        failed |= overall < args.min_accuracy
        scored = sum(len(h) for h in result.scored.values())
        print(f"{variant:<16} {'overall':<10} {scored:>6} {overall:>9.1%}   (unknown: {result.unknown})")
        events = ", ".join(f"{e} at {ts:.2f} s" for e, ts in result.events) or "none"
        print(f"{variant:<16} events: {events}")
        ms = sorted(result.gaze_ms)
        p95 = ms[int(0.95 * (len(ms) - 1))]
        print(f"{variant:<16} gaze per face: median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
