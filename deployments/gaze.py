"""The gaze Serve deployment: one stateless GazeAnalyzer per replica (the session holds calibration)."""

from __future__ import annotations

from ray import serve

from deployments.runtime import limit_threads
from integrity.core.results import EyePatch, GazeAnalysis, GazeNeutral, MeshReading, ModelStatus
from integrity.vision.gaze import GazeAnalyzer, GazeConfig


@serve.deployment(name="gaze", ray_actor_options={"num_cpus": 0.25})
class GazeDeployment:
    def __init__(self, config: GazeConfig, cv_threads: int | None = 1) -> None:
        limit_threads(cv_threads)
        self.analyzer = GazeAnalyzer(config)
        self.analyzer.load()

    def status(self) -> ModelStatus:
        return self.analyzer.status

    def analyze(
        self,
        landmarks: list[tuple[float, float]],
        image_width: int,
        image_height: int,
        eye_patch: EyePatch | None = None,
        neutral: GazeNeutral | None = None,
        mesh: MeshReading | None = None,
        mouth_contrast: float | None = None,
    ) -> GazeAnalysis:
        return self.analyzer.analyze(
            landmarks, image_width, image_height, eye_patch, neutral, mesh, mouth_contrast
        )
