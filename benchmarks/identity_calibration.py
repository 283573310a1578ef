"""Face identity (issue 24, IDENTITY_CHANGED): descriptor distances on every shared photo and clip,
to choose ``threshold`` and the grey zone in configs/identity.yaml.

    python -m benchmarks.identity_calibration [--every 1.0] [--config configs/identity.yaml]

Each photo's faces and the main face of clip frames sampled every ``--every`` seconds (at least five
per labelled span) go through the service's face stage (BlazeFace, the Face Landmarker's head pose)
and :class:`~integrity.vision.identity.FaceDescriber`. Who is who comes from :data:`PHOTO_PEOPLE`
and :data:`CLIP_PEOPLE` (the MANIFEST, and the Intel frames viewed side by side). Faces the config
finds unfit (too small, turned) are counted by reason and left out, as the service would.

Printed, per pair class, with the margin of each to the configured threshold:

* same person, against the enrolment (the mean of the first ``enrol_samples`` usable samples of that
  clip or photo): what a periodic check compares; same person across files (A01 and A03's man);
* same person, any two samples; different people, enrolment against the other people's samples and
  any two samples (min and p5);
* how many pairs :func:`~integrity.vision.identity.judge` calls SAME, UNSURE, DIFFERENT;
* ms per descriptor (this machine, one thread): median and p95.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from integrity.core.identity import IdentityMatch, distance, judge, mean_descriptor
from integrity.core.paths import IDENTITY_CONFIG, REPO_ROOT, dlib_models_dir
from integrity.core.results import HeadPose
from integrity.vision.face import FaceAnalyzer, FaceConfig
from integrity.vision.identity import (
    FaceDescriber,
    FaceDescription,
    IdentityConfig,
    unusable_because,
)
from integrity.vision.imaging import BGRImage
from integrity.vision.video import frames, video_info

FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
FACE_CONFIG = REPO_ROOT / "configs" / "face.yaml"

# The people in each photo, faces ordered left to right. A03 is a frame of the Intel sample set that
# A01 (the man: same face, blue T-shirt, wall) and A05 (the woman: same face, dress) come from,
# seen side by side; the MANIFEST says the GIF clip is A05's woman. Every other photo is a different
# source, so its people are strangers to all others (A04: up to 5 people, A09: 2).
PHOTO_PEOPLE: dict[str, tuple[str, ...]] = {
    "A01_frontal_webcam_man.png": ("intel_man",),
    "A02_frontal_portrait_man.png": ("A02_man",),
    "A03_two_faces_webcam.png": ("intel_woman", "intel_man"),
    "A04_group_meeting_laptop_notebook.jpg": tuple(f"A04_person{i}" for i in range(1, 6)),
    "A05_head_turned_away_webcam.png": ("intel_woman",),
    "A09_two_faces_landline_handsets.jpg": ("A09_background_woman", "A09_foreground_woman"),
    "A11_face_three_quarter_with_dog.jpg": ("A11_woman",),
}

# Clip -> (start_s, end_s, person) spans in which the main face is that person (MANIFEST). The
# meeting clip's passer-by (face seen ~2.5-3.2 s) is a stranger to its candidate (from ~4 s).
CLIP_PEOPLE: dict[str, tuple[tuple[float, float, str], ...]] = {
    "A_video_gaze_center_left_center.mp4": ((0.0, 15.4, "red_hoodie_man"),),
    "A_video_gaze_down_segments.mp4": ((0.0, 11.8, "gaze_down_woman"),),
    "A_video_webcam_person_standing.mkv": ((0.0, 3.7, "asl_woman"),),
    "A_clip_head_turn_away_to_frontal.gif": ((0.0, 1.9, "intel_woman"),),
    "A_video_speaking_grid_man.mpg": ((0.0, 3.0, "grid_man"),),
    "A_video_webcam_honest_talk_lean_hand_on_face.mp4": ((0.0, 53.5, "webcam_talk_man"),),
    "A_video_meeting_closeup_passerby_cup_looks_down.m4v": (
        (2.5, 3.2, "ami_passerby"),
        (4.5, 120.0, "ami_candidate"),
    ),
}


@dataclass(frozen=True, slots=True)
class Sample:
    source: str  # file name
    person: str
    t: float | None  # seconds into the clip; None for a photo
    pose: HeadPose | None
    description: FaceDescription

    @property
    def descriptor(self) -> list[float]:
        assert self.description.descriptor is not None
        return self.description.descriptor


def load_models(config: IdentityConfig) -> tuple[FaceAnalyzer, FaceDescriber]:
    """The service's face stage, and a describer with ``config``'s models."""
    face = FaceAnalyzer(dlib_models_dir(), FaceConfig.load(FACE_CONFIG))
    face.load()
    if not face.status.available:
        raise SystemExit(f"face models unavailable: {face.status.detail}")
    describer = FaceDescriber(dlib_models_dir(), config)
    if not describer.status.available:
        raise SystemExit(f"identity models unavailable: {describer.status.detail}")
    return face, describer


def permissive(config: IdentityConfig) -> IdentityConfig:
    """``config`` describing every face, so the gates can be applied (and counted) afterwards."""
    return config.model_copy(update={"min_face_px": 20, "max_yaw_deg": 90.0, "max_pitch_deg": 90.0})


def describe_faces(
    face: FaceAnalyzer, describer: FaceDescriber, image: BGRImage, main_only: bool
) -> list[tuple[HeadPose | None, FaceDescription]]:
    """Every face of the frame (or the main one), left to right, described."""
    analysis = face.analyze_image(image)
    faces = analysis.faces[:1] if main_only else sorted(analysis.faces, key=lambda f: f.box.x)
    out = []
    for found in faces:
        pose = found.mesh.pose if found.mesh is not None else None
        out.append((pose, describer.describe(image, found.box, pose)))
    return out


def photo_samples(face: FaceAnalyzer, describer: FaceDescriber, fixtures: Path) -> Iterator[Sample]:
    for name, people in PHOTO_PEOPLE.items():
        image = cv2.imread(str(fixtures / name), cv2.IMREAD_COLOR)
        assert image is not None, name
        described = describe_faces(face, describer, image, main_only=False)
        for person, (pose, description) in zip(people, described, strict=False):
            yield Sample(name, person, None, pose, description)


def clip_times(name: str, every: float) -> list[tuple[float, str]]:
    """The (time, person) to sample: every ``every`` s in each span, at least five per span."""
    out = []
    for start, end, person in CLIP_PEOPLE[name]:
        step = min(every, (end - start) / 5)
        out += [(float(t), person) for t in np.arange(start, end, step)]
    return out


def clip_samples(
    face: FaceAnalyzer, describer: FaceDescriber, fixtures: Path, every: float
) -> Iterator[Sample]:
    for name in CLIP_PEOPLE:
        path = fixtures / name
        fps = video_info(path).fps
        wanted = clip_times(name, every)
        for t, frame in frames(path):
            # the frame nearest each wanted time: a frame covers [t - half a frame, t + half a frame)
            while wanted and wanted[0][0] < t - 0.5 / fps:
                wanted.pop(0)
            if not wanted or wanted[0][0] >= t + 0.5 / fps:
                continue
            person = wanted.pop(0)[1]
            for pose, description in describe_faces(face, describer, frame, main_only=True):
                yield Sample(name, person, t, pose, description)


def usable(samples: Iterable[Sample], config: IdentityConfig) -> tuple[list[Sample], Counter[str]]:
    """The samples ``config`` finds fit for a descriptor, and why the others are not (by file)."""
    kept, dropped = [], Counter[str]()
    for sample in samples:
        why = sample.description.why or unusable_because(sample.description.face_px, sample.pose, config)
        if why is None:
            kept.append(sample)
        else:
            reason = "face too small" if why.startswith("face ") else " ".join(why.split(" ")[:2])
            dropped[f"{sample.source}: {reason}"] += 1
    return kept, dropped


def enrolments(samples: list[Sample], config: IdentityConfig) -> dict[tuple[str, str], list[float]]:
    """(file, person) -> the mean of its first ``enrol_samples`` samples (in time order)."""
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[(sample.source, sample.person)].append(sample)
    return {
        key: mean_descriptor([s.descriptor for s in group[: config.enrol_samples]])
        for key, group in groups.items()
    }


def pair_classes(samples: list[Sample], config: IdentityConfig) -> dict[str, list[float]]:
    """Distances per pair class (see the module's docstring)."""
    enrolled = enrolments(samples, config)
    first: dict[tuple[str, str], int] = Counter()
    out: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        key = (sample.source, sample.person)
        first[key] += 1
        for (source, person), enrolment in enrolled.items():
            d = distance(enrolment, sample.descriptor)
            if person != sample.person:
                out["different people: enrolment vs sample"].append(d)
            elif source == sample.source and first[key] > config.enrol_samples:
                out["same person: own enrolment vs later sample"].append(d)
            elif source != sample.source:
                out["same person: enrolment vs sample of another file"].append(d)
    for a, b in itertools.combinations(samples, 2):
        cls = "same person: any two samples" if a.person == b.person else "different people: any two samples"
        out[cls].append(distance(a.descriptor, b.descriptor))
    return out


def report(classes: dict[str, list[float]], config: IdentityConfig) -> None:
    print(
        f"\nthreshold {config.threshold}, grey zone [{config.unsure_below}, {config.unsure_above}): "
        "SAME below it, UNSURE inside, DIFFERENT at or above"
    )
    for name in sorted(classes):
        values = np.asarray(classes[name])
        verdicts = Counter(judge(float(d), config) for d in values)
        counts = ", ".join(f"{m.value} {verdicts.get(m, 0)}" for m in IdentityMatch)
        if name.startswith("same"):
            worst, p = float(values.max()), float(np.percentile(values, 95))
            print(
                f"  {name:52s} n={len(values):6d}  max {worst:.3f}  p95 {p:.3f}  "
                f"margin to threshold {config.threshold - worst:+.3f}  ({counts})"
            )
        else:
            worst, p = float(values.min()), float(np.percentile(values, 5))
            print(
                f"  {name:52s} n={len(values):6d}  min {worst:.3f}  p5  {p:.3f}  "
                f"margin to threshold {worst - config.threshold:+.3f}  ({counts})"
            )


def per_person(samples: list[Sample], config: IdentityConfig) -> None:
    """Each clip's or photo's worst distance to its own enrolment, and its nearest stranger."""
    enrolled = enrolments(samples, config)
    print("\nper file and person: usable samples, max distance to own enrolment, nearest other person")
    for (source, person), enrolment in sorted(enrolled.items()):
        own = [distance(enrolment, s.descriptor) for s in samples if (s.source, s.person) == (source, person)]
        others = [(distance(enrolment, s.descriptor), s.person) for s in samples if s.person != person]
        nearest = min(others)
        print(
            f"  {source[:44]:44s} {person:22s} n={len(own):4d}  own max {max(own):.3f}  "
            f"nearest other {nearest[0]:.3f} ({nearest[1]})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--every", type=float, default=1.0, help="seconds between clip samples")
    parser.add_argument("--config", type=Path, default=IDENTITY_CONFIG)
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one thread, as each replica runs (deployments/runtime.py)
    threadpool_limits(limits=1, user_api="blas")
    config = IdentityConfig.load(args.config)
    face, describer = load_models(permissive(config))
    everything = [
        *photo_samples(face, describer, args.fixtures),
        *clip_samples(face, describer, args.fixtures, args.every),
    ]
    samples, dropped = usable(everything, config)
    print(f"{len(everything)} faces described, {len(samples)} usable under {args.config.name}")
    for reason, n in sorted(dropped.items()):
        print(f"  not usable: {reason} x{n}")
    timings = sorted(s.description.timings_ms for s in everything if s.description.usable)
    print(
        f"ms per descriptor (alignment, chip, ResNet, crop JPEG; one thread): median "
        f"{statistics.median(timings):.1f}, p95 {float(np.percentile(timings, 95)):.1f}"
    )
    report(pair_classes(samples, config), config)
    per_person(samples, config)
    print("\nwithout the size and pose gates (every face described):")
    report(pair_classes([s for s in everything if s.description.usable], config), config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
