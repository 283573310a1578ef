"""The face Serve deployment: one FaceAnalyzer per replica; resources come from the app builder."""

from __future__ import annotations

from pathlib import Path

from ray import serve

from integrity.core.results import FaceAnalysis, ModelStatus
from integrity.vision.face import FaceAnalyzer, FaceConfig


@serve.deployment(name="face", ray_actor_options={"num_cpus": 0.5})
class FaceDeployment:
    def __init__(self, models_dir: Path, config: FaceConfig) -> None:
        self.analyzer = FaceAnalyzer(models_dir, config)
        self.analyzer.load()

    def status(self) -> ModelStatus:
        return self.analyzer.status

    def analyze(self, data: bytes, deep: bool = False, fine: bool = False) -> FaceAnalysis:
        return self.analyzer.analyze(data, deep=deep, fine=fine)
