"""The face Serve deployment: one FaceAnalyzer per replica; resources come from the app builder."""

from __future__ import annotations

from pathlib import Path

from ray import serve

from integrity.core.results import FaceAnalysis, ModelStatus
from integrity.vision.face import FaceAnalyzer, FaceConfig


@serve.deployment(name="face", ray_actor_options={"num_cpus": 0.5})
class FaceDeployment:
    def __init__(self, landmarks_dir: Path, config: FaceConfig, models_dir: Path) -> None:
        # Missing or wrong model files do not stop the replica: it reports them (status, 503s).
        self.analyzer = FaceAnalyzer(landmarks_dir, config, models_dir)
        self.analyzer.load()

    def status(self) -> ModelStatus:
        return self.analyzer.status

    def statuses(self) -> dict[str, ModelStatus]:
        """Each model of the face stage (detector, landmarks, verifier) with file, SHA-256, runtime."""
        return self.analyzer.statuses

    def analyze(self, data: bytes) -> FaceAnalysis:
        return self.analyzer.analyze(data)
