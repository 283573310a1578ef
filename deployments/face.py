"""The face Serve deployment: one FaceAnalyzer per replica; resources come from the app builder.

With a ``GazeConfig`` (``GAZE_PLACEMENT=face``, the default) the replica also holds a GazeAnalyzer
and ``analyze_with_gaze`` answers both in one call: the eye crop never leaves the replica and the
frame makes one hop less. Without one, gaze is its own deployment (``deployments/gaze.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NamedTuple, cast

from ray import serve

from deployments.runtime import limit_threads
from integrity.core.results import (
    EyePatch,
    FaceAnalysis,
    GazeAnalysis,
    GazeNeutral,
    MeshReading,
    ModelStatus,
    ObjectAnalysis,
)
from integrity.vision.face import FaceAnalyzer, FaceConfig
from integrity.vision.gaze import GazeAnalyzer, GazeConfig
from integrity.vision.object_mapping import PersonRelookConfig
from integrity.vision.person_faces import PersonFaceAnalyzer

logger = logging.getLogger(__name__)


class FaceArgs(NamedTuple):
    """What a face replica is built from (the builder binds these; inside the ingress, the ingress
    builds the same class from them: ``in_process``)."""

    landmarks_dir: Path
    config: FaceConfig
    models_dir: Path
    gaze_config: GazeConfig | None = None
    cv_threads: int | None = 1
    person_relook: PersonRelookConfig | None = None


@serve.deployment(name="face", ray_actor_options={"num_cpus": 0.5})
class FaceDeployment:
    def __init__(
        self,
        landmarks_dir: Path,
        config: FaceConfig,
        models_dir: Path,
        gaze_config: GazeConfig | None = None,
        cv_threads: int | None = 1,
        person_relook: PersonRelookConfig | None = None,
    ) -> None:
        limit_threads(cv_threads)
        # Missing or wrong model files do not stop the replica: it reports them (status, 503s).
        self.analyzer = FaceAnalyzer(landmarks_dir, config, models_dir)
        self.analyzer.load()
        self.person_faces: PersonFaceAnalyzer | None = None
        if person_relook is not None and person_relook.active and self.analyzer.status.available:
            try:
                self.person_faces = PersonFaceAnalyzer.load(models_dir, person_relook, self.analyzer)
            except Exception:  # not essential: the frames keep what the face stage found
                logger.exception("the second look for faces in person boxes could not load")
        self.gaze: GazeAnalyzer | None = None
        if gaze_config is not None:
            self.gaze = GazeAnalyzer(gaze_config)
            self.gaze.load()

    def status(self) -> ModelStatus:
        return self.analyzer.status

    def statuses(self) -> dict[str, ModelStatus]:
        """Each model of the face stage (detector, landmarks, verifier) with file, SHA-256, runtime."""
        return self.analyzer.statuses

    def analyze(self, data: bytes) -> FaceAnalysis:
        return self.analyzer.analyze(data)

    def analyze_with_gaze(
        self, data: bytes, neutral: GazeNeutral
    ) -> tuple[FaceAnalysis, GazeAnalysis | None]:
        """Faces, then the primary face's gaze (None without a face). The eye crop stays here: the
        answer carries no pixels. A gaze failure is the frame's gaze "unavailable", not an error."""
        face = self.analyzer.analyze(data)
        gaze = None
        if face.primary is not None:
            gaze = self._gaze(face, neutral)
        return face.model_copy(update={"eye_patch": None}), gaze

    def _gaze(self, face: FaceAnalysis, neutral: GazeNeutral) -> GazeAnalysis:
        assert face.primary is not None
        if self.gaze is None:
            return GazeAnalysis(available=False, failure="gaze is not placed in the face deployment")
        try:
            result = self.gaze.analyze_face(face, neutral)
            assert result is not None
            return result
        except Exception as exc:  # gaze is not essential: report it unavailable for this frame
            logger.exception("gaze analysis failed")
            return GazeAnalysis(available=False, failure=f"failed: {type(exc).__name__}")

    def relook(self, data: bytes, face: FaceAnalysis, objects: ObjectAnalysis) -> FaceAnalysis:
        """The second look for faces in the person boxes of ``objects`` that hold none."""
        if self.person_faces is None:
            return face
        return self.person_faces.relook_frame(data, face, objects)

    # -- gaze alone (health, and callers holding landmarks) ------------------------------------------
    def gaze_status(self) -> ModelStatus:
        if self.gaze is None:
            return ModelStatus(available=False, detail="gaze is not placed in the face deployment")
        return self.gaze.status

    def analyze_gaze(
        self,
        landmarks: list[tuple[float, float]],
        image_width: int,
        image_height: int,
        eye_patch: EyePatch | None = None,
        neutral: GazeNeutral | None = None,
        mesh: MeshReading | None = None,
        mouth_contrast: float | None = None,
    ) -> GazeAnalysis:
        if self.gaze is None:
            return GazeAnalysis(available=False, failure="gaze is not placed in the face deployment")
        return self.gaze.analyze(
            landmarks, image_width, image_height, eye_patch, neutral, mesh, mouth_contrast
        )


def in_process(args: FaceArgs) -> FaceDeployment:
    """The face deployment's class, built in this process (``FACE_PLACEMENT=ingress``)."""
    cls: type[FaceDeployment] = cast(Any, FaceDeployment).func_or_class  # the class under the decorator
    return cls(*args)
