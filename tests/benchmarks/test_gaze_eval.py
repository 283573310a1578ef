"""The gaze evaluation script's verdict on the labelled clip, as recorded and degraded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.gaze_eval import VARIANTS, evaluate, label_at
from integrity.core.enums import EventType, GazeDirection
from integrity.vision.face import FaceAnalyzer, FaceConfig
from integrity.vision.gaze import GazeAnalyzer, GazeConfig
from serve_app.settings import REPO_ROOT, Settings


@pytest.fixture(scope="module")
def analyzers() -> tuple[FaceAnalyzer, GazeAnalyzer]:
    face = FaceAnalyzer(Settings().face_models_dir, FaceConfig.load(REPO_ROOT / "configs" / "face.yaml"))
    face.load()
    return face, GazeAnalyzer(GazeConfig.load(REPO_ROOT / "configs" / "gaze.yaml"))


def test_labels_follow_the_manifest() -> None:
    assert label_at(2.0) is GazeDirection.CENTER
    assert label_at(8.0) is GazeDirection.LEFT
    assert label_at(12.0) is GazeDirection.CENTER
    assert label_at(5.6) is None and label_at(10.4) is None  # around the switches


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_gaze_accuracy_at_least_95_percent(
    variant: str, analyzers: tuple[FaceAnalyzer, GazeAnalyzer], fixtures_dir: Path
) -> None:
    face, gaze = analyzers
    video = fixtures_dir / "A_video_gaze_center_left_center.mp4"
    result = asyncio.run(evaluate(variant, face, gaze, video))
    assert result.frames == 368
    assert sum(len(hits) for hits in result.scored.values()) >= 330
    for segment in result.scored:
        assert result.accuracy(segment) >= 0.95, (variant, segment)
    off = [ts for event, ts in result.events if event is EventType.EYES_OFF_SCREEN]
    assert len(off) == 1 and 5.8 <= off[0] <= 10.3
    assert [e for e, _ in result.events if e is not EventType.EYES_OFF_SCREEN] == []
