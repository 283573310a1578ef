"""Is something in front of the mouth? The lips' contrast against the cheeks on real frames: a cup
and a hand at the mouth in the meeting close-up read covered; speaking, smiling, looking down and
the honest webcam clip's hands at the cheek and chin do not."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from integrity.core.results import FaceAnalysis, GazeNeutral
from integrity.vision.face import FaceAnalyzer
from integrity.vision.gaze import GazeAnalyzer
from integrity.vision.mouth import mouth_contrast
from integrity.vision.video import frames

MEETING = "A_video_meeting_closeup_passerby_cup_looks_down.m4v"
HONEST = "A_video_webcam_honest_talk_lean_hand_on_face.mp4"
# (start, end) seconds, from the MANIFEST and the frames: the paper cup at the mouth, the hand at the
# nose and mouth.
CUP = (42.5, 44.1)
HAND = (62.8, 63.4)


def clip(fixtures_dir: Path, name: str) -> Path:
    path = fixtures_dir / name
    if not path.is_file():
        pytest.skip(f"fixture {name} not found under {fixtures_dir}")
    return path


def analysed(face: FaceAnalyzer, video: Path, stride: int, until: float) -> list[tuple[float, FaceAnalysis]]:
    out = []
    for t, image in frames(video, stride):
        if t > until:
            break
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        out.append((t, face.analyze(buf.tobytes())))
    return out


def contrast(found: FaceAnalysis) -> float | None:
    return None if found.primary is None else found.faces[found.primary].mouth_contrast


def test_a_cup_and_a_hand_at_the_mouth_read_covered_and_the_rest_of_the_meeting_does_not(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixtures_dir: Path
) -> None:
    seen = analysed(face, clip(fixtures_dir, MEETING), stride=3, until=70.0)
    # The candidate's own contrast, as the session's calibration takes it (his first seconds seated).
    neutral = GazeNeutral(
        mouth_contrast=float(
            np.median([c for t, f in seen if 12 <= t <= 20 and (c := contrast(f)) is not None])
        )
    )
    covered = {t for t, f in seen if gaze.mouth_covered(contrast(f), neutral)}
    during = [t for t, _ in seen if CUP[0] <= t <= CUP[1] or HAND[0] <= t <= HAND[1]]
    assert len(during) >= 15
    missed = [t for t in during if t not in covered]
    assert len(missed) <= 0.2 * len(during), f"covered mouth missed at {missed}"
    # Everything else (arriving, looking down, smiling, talking, turned aside) is not covered; a
    # frame either side of each covering is transition.
    others = [
        t for t, _ in seen if not (CUP[0] - 0.3 <= t <= CUP[1] + 0.3 or HAND[0] - 0.3 <= t <= HAND[1] + 0.3)
    ]
    assert len(others) > 500
    assert sorted(covered.intersection(others)) == []


def test_hands_at_the_cheek_and_chin_speaking_and_leaning_leave_the_mouth_uncovered(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixtures_dir: Path
) -> None:
    """The honest laptop-webcam clip (speaking, leaning in and back, a hand rubbing the cheek at
    43.6-47.6 s, a chin rest at 47.7-51.6 s): lips darker than the cheeks throughout."""
    seen = analysed(face, clip(fixtures_dir, HONEST), stride=4, until=60.0)
    values = [(t, c) for t, f in seen if (c := contrast(f)) is not None]
    assert len(values) >= 0.9 * len(seen)
    assert [(t, c) for t, c in values if gaze.mouth_covered(c, GazeNeutral())] == []
    assert max(c for _, c in values) < -8.0  # well short of the covered mark (0)


def test_mouth_contrast_of_a_drawn_face() -> None:
    """The measure itself on a drawn face: dark lips on light cheeks read negative, lips painted
    over in the cheeks' grey read ~0, a white cup over them reads above 0; too small: None."""
    points = np.array(_IBUG_SKETCH, dtype=np.float64)
    gray = np.full((200, 200), 150, np.uint8)
    lips = np.zeros_like(gray)
    cv2.fillPoly(lips, [np.round(points[48:60]).astype(np.int32)], 1)
    gray[lips > 0] = 90
    assert mouth_contrast(gray, points) == pytest.approx(-60.0, abs=1.0)
    gray[lips > 0] = 150
    assert mouth_contrast(gray, points) == pytest.approx(0.0, abs=1.0)
    gray[lips > 0] = 230
    assert (mouth_contrast(gray, points) or 0.0) > 50.0
    assert mouth_contrast(gray, points * 0.05) is None


# A frontal face in iBUG 68 order, 200 x 200 px: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47,
# lips 48-67.
_IBUG_SKETCH = (
    [(30 + 140 * i / 16, 70 + 90 * np.sin(np.pi * i / 16)) for i in range(17)]
    + [(45 + 12 * i, 55) for i in range(5)]
    + [(107 + 12 * i, 55) for i in range(5)]
    + [(100, 65 + 10 * i) for i in range(4)]
    + [(88 + 6 * i, 108) for i in range(5)]
    + [(55, 75), (62, 71), (70, 71), (77, 75), (70, 78), (62, 78)]
    + [(123, 75), (130, 71), (138, 71), (145, 75), (138, 78), (130, 78)]
    + [(75, 135), (85, 128), (95, 126), (100, 127), (105, 126), (115, 128), (125, 135)]
    + [(115, 142), (105, 146), (100, 146), (95, 146), (85, 142)]
    + [(80, 135), (95, 132), (100, 132), (105, 132), (120, 135), (105, 138), (100, 138), (95, 138)]
)
