"""The face and gaze analyzers as shipped (configs/face.yaml, configs/gaze.yaml), one per module."""

from __future__ import annotations

import pytest

from integrity.core.paths import REPO_ROOT, dlib_models_dir
from integrity.vision.face import FaceAnalyzer, FaceConfig
from integrity.vision.gaze import GazeAnalyzer, GazeConfig


@pytest.fixture(scope="module")
def face() -> FaceAnalyzer:
    analyzer = FaceAnalyzer(dlib_models_dir(), FaceConfig.load(REPO_ROOT / "configs" / "face.yaml"))
    analyzer.load()
    assert analyzer.status.available, analyzer.status.detail
    return analyzer


@pytest.fixture(scope="module")
def gaze() -> GazeAnalyzer:
    return GazeAnalyzer(GazeConfig.load(REPO_ROOT / "configs" / "gaze.yaml"))
