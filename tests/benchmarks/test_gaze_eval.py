"""The gaze evaluation script's verdict on the labelled clip, as recorded and degraded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.gaze_eval import CLIPS, VARIANTS, evaluate, label_at
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


def test_down_clip_labels_follow_the_manifest() -> None:
    assert label_at(3.0, "down_segments") is GazeDirection.DOWN
    assert label_at(8.0, "down_segments") is GazeDirection.DOWN
    assert label_at(6.2, "down_segments") is GazeDirection.CENTER
    assert label_at(1.7, "down_segments") is None and label_at(7.3, "down_segments") is None


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_looks_down_are_down_not_blinks(
    variant: str, analyzers: tuple[FaceAnalyzer, GazeAnalyzer], fixtures_dir: Path
) -> None:
    """>= 90 % per centre and down segment (vertical axis: the clip labels only that), blinks in the
    centre segments aside; one EYES_OFF_SCREEN (down) per look down and nothing else."""
    face, gaze = analyzers
    clip = CLIPS["down_segments"]
    result = asyncio.run(evaluate(variant, face, gaze, fixtures_dir / clip.file, clip="down_segments"))
    assert result.frames == clip.frames
    required = [s for s in result.scored if s.split(":")[1] in clip.required]
    assert len(required) == 5
    for segment in required:
        assert result.accuracy(segment, "vertical") >= 0.90, (variant, segment)
    off = [e for e in result.records if e.type is EventType.EYES_OFF_SCREEN]
    assert [e.evidence["direction"] for e in off] == ["down", "down"]
    assert 1.9 <= off[0].timestamp <= 5.5 and 7.1 <= off[1].timestamp <= 9.2
    assert [e for e in result.records if e.type is not EventType.EYES_OFF_SCREEN] == []
