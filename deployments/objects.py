"""Objects deployment: YOLO phone / book / laptop detection.

The weights (``YOLO_MODEL``, resolved under ``MODEL_PATH``) cannot be downloaded at run time, and
none ship with the repository. Until a model is loaded the deployment says so in every answer
(``status.available == False`` with the reason), so no response ever reads "no phone" when
nothing looked. The detector itself (ONNX export, onnxruntime inference, class-to-event mapping)
is not part of this version yet: with weights present it still reports itself unavailable.
"""

from __future__ import annotations

from pathlib import Path

from ray import serve

from deployments.results import ModelStatus, ObjectAnalysis


def resolve_weights(model_path: Path, model_name: str) -> Path:
    """``YOLO_MODEL`` as a path if it is one, else a file name under ``MODEL_PATH``."""
    candidate = Path(model_name).expanduser()
    if candidate.is_absolute() or candidate.parent != Path():
        return candidate
    return model_path / candidate


class ObjectDetector:
    def __init__(self, model_path: Path, model_name: str, confidence_threshold: float) -> None:
        self.weights = resolve_weights(model_path, model_name)
        self.confidence_threshold = confidence_threshold
        self._status = ModelStatus(available=False, detail="not loaded")

    def load(self) -> None:
        if not self.weights.is_file():
            self._status = ModelStatus(
                available=False,
                detail=f"no YOLO weights at {self.weights}: object detection (phones, books, laptops) "
                "is not performed",
            )
            return
        self._status = ModelStatus(
            available=False,
            detail=f"YOLO weights found at {self.weights}, but this version has no object inference yet",
        )

    @property
    def status(self) -> ModelStatus:
        return self._status

    def analyze(self, data: bytes) -> ObjectAnalysis:
        return ObjectAnalysis(status=self._status)


@serve.deployment(name="objects", ray_actor_options={"num_cpus": 0.25})
class ObjectDeployment:
    def __init__(self, model_path: Path, model_name: str, confidence_threshold: float) -> None:
        self.detector = ObjectDetector(model_path, model_name, confidence_threshold)
        self.detector.load()

    def status(self) -> ModelStatus:
        return self.detector.status

    def analyze(self, data: bytes) -> ObjectAnalysis:
        return self.detector.analyze(data)
