"""The pipeline's analyzers, two ways: over Serve DeploymentHandles (production) and in-process
(unit tests, benchmarks' floor). Both satisfy the protocols of ``serve_app.pipeline``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from integrity.core.geometry import Box
from integrity.core.paths import dlib_models_dir
from integrity.core.results import (
    EyePatch,
    FaceAnalysis,
    GazeAnalysis,
    GazeNeutral,
    HeadPose,
    MeshReading,
    ModelStatus,
    ObjectAnalysis,
)
from integrity.vision.face import FaceAnalyzer
from integrity.vision.gaze import GazeAnalyzer
from integrity.vision.identity import FaceDescriber, FaceDescription
from integrity.vision.object_mapping import PersonRelookConfig
from integrity.vision.objects import ObjectAnalyzer
from integrity.vision.person_faces import PersonFaceAnalyzer, persons_without_face
from serve_app.pipeline import Analyzers
from serve_app.remote import unwrap
from serve_app.spec import AppSpec

logger = logging.getLogger(__name__)


def _primary_inputs(
    face: FaceAnalysis,
) -> tuple[list[tuple[float, float]], int, int, EyePatch | None, MeshReading | None, float | None]:
    assert face.primary is not None, "gaze needs a face"
    main = face.faces[face.primary]
    return main.landmarks, face.image_width, face.image_height, face.eye_patch, main.mesh, main.mouth_contrast


# -- over Serve -------------------------------------------------------------------------------------
class RemoteFace:
    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def analyze(self, data: bytes) -> FaceAnalysis:
        result: FaceAnalysis = await unwrap(self.handle.analyze.remote(data))
        return result

    async def status(self) -> ModelStatus:
        result: ModelStatus = await unwrap(self.handle.status.remote())
        return result

    async def statuses(self) -> dict[str, ModelStatus]:
        result: dict[str, ModelStatus] = await unwrap(self.handle.statuses.remote())
        return result


class RemoteGaze:
    """Gaze over a deployment: the gaze deployment's ``analyze``/``status``, or the gaze model the
    face deployment holds (``GAZE_PLACEMENT=face``: its ``analyze_gaze``/``gaze_status``)."""

    def __init__(self, handle: Any, analyze: str = "analyze", status: str = "status") -> None:
        self.handle = handle
        self._analyze, self._status = analyze, status

    async def analyze(self, face: FaceAnalysis, neutral: GazeNeutral) -> GazeAnalysis:
        landmarks, width, height, patch, mesh, mouth = _primary_inputs(face)
        method = getattr(self.handle, self._analyze)
        result: GazeAnalysis = await unwrap(
            method.remote(landmarks, width, height, patch, neutral, mesh, mouth)
        )
        return result

    async def status(self) -> ModelStatus:
        result: ModelStatus = await unwrap(getattr(self.handle, self._status).remote())
        return result


class RemoteFaceGaze:
    """Face and gaze in one call to the face deployment (``GAZE_PLACEMENT=face``)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def analyze_with_gaze(
        self, data: bytes, neutral: GazeNeutral
    ) -> tuple[FaceAnalysis, GazeAnalysis | None]:
        result: tuple[FaceAnalysis, GazeAnalysis | None] = await unwrap(
            self.handle.analyze_with_gaze.remote(data, neutral)
        )
        return result


class RemoteObjects:
    """Objects over its deployment. Whether the deployment has a model is asked once per
    ``recheck_s`` (a redeployed replica may have the weights): a replica without one is not sampled
    at all, so no session counts analyses that could never look (and two sessions with the same
    frames count the same, whichever came first)."""

    def __init__(
        self, handle: Any, recheck_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.handle = handle
        self.recheck_s = recheck_s
        self.clock = clock
        self._model: ModelStatus | None = None
        self._checked = float("-inf")

    async def analyze(self, data: bytes) -> ObjectAnalysis:
        missing = await self.missing()
        if missing is not None:
            return ObjectAnalysis(status=missing)
        result: ObjectAnalysis = await unwrap(self.handle.analyze.remote(data))
        if not result.status.available:  # no model after all, or only this frame failed (not decodable)?
            await self._check()
        return result

    async def status(self) -> ModelStatus:
        result: ModelStatus = await unwrap(self.handle.status.remote())
        return result

    async def missing(self) -> ModelStatus | None:
        if self.clock() - self._checked >= self.recheck_s:
            await self._check()
        model = self._model
        return model if model is not None and not model.available else None

    async def _check(self) -> None:
        self._checked = self.clock()
        try:
            self._model = await self.status()
        except Exception:  # overloaded or restarting: unknown, so the frames are sampled as usual
            logger.warning("the objects deployment did not say whether it has a model", exc_info=True)
            self._model = None


class AbsentObjects:
    """No object model where the application was built (no weights there): no objects replica, and
    this answers for it as a replica without weights would (the same status and detail)."""

    def __init__(self, model: ModelStatus) -> None:
        self.model = model

    async def analyze(self, data: bytes) -> ObjectAnalysis:
        return ObjectAnalysis(status=self.model)

    async def status(self) -> ModelStatus:
        return self.model

    async def missing(self) -> ModelStatus:
        return self.model


class RemotePersonFaces:
    """The second look for faces in person boxes, in the face deployment (which holds the face
    models); asked only when a person box lacks a face, so most frames make no call."""

    def __init__(self, handle: Any, config: PersonRelookConfig) -> None:
        self.handle = handle
        self.config = config

    async def relook(self, data: bytes, face: FaceAnalysis, objects: ObjectAnalysis) -> FaceAnalysis:
        if not persons_without_face(face, objects, self.config):
            return face
        result: FaceAnalysis = await unwrap(self.handle.relook.remote(data, face, objects))
        return result


class RemoteIdentity:
    """The identity model over its deployment."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def describe(self, data: bytes, box: Box, pose: HeadPose | None) -> FaceDescription:
        result: FaceDescription = await unwrap(self.handle.describe.remote(data, box, pose))
        return result

    async def status(self) -> ModelStatus:
        result: ModelStatus = await unwrap(self.handle.status.remote())
        return result


def remote_analyzers(
    face: Any,
    gaze: Any | None,
    objects: Any,
    person_relook: PersonRelookConfig | None = None,
    identity: Any | None = None,
) -> Analyzers:
    """``gaze`` None: gaze runs inside the face deployment (one call for both). ``objects``: the
    objects deployment, or the object model's status where the builder found no weights (no replica
    then). ``person_relook`` (enabled): the second look for faces in person boxes, in the face
    deployment. ``identity``: the identity deployment (None: no identity watch)."""
    watched = AbsentObjects(objects) if isinstance(objects, ModelStatus) else RemoteObjects(objects)
    relook = (
        RemotePersonFaces(face, person_relook) if person_relook is not None and person_relook.active else None
    )
    watch = RemoteIdentity(identity) if identity is not None else None
    if gaze is None:
        return Analyzers(
            RemoteFace(face),
            RemoteGaze(face, "analyze_gaze", "gaze_status"),
            watched,
            RemoteFaceGaze(face),
            relook,
            watch,
        )
    return Analyzers(RemoteFace(face), RemoteGaze(gaze), watched, person_faces=relook, identity=watch)


# -- in-process -------------------------------------------------------------------------------------
class LocalFace:
    def __init__(self, analyzer: FaceAnalyzer) -> None:
        self.analyzer = analyzer

    async def analyze(self, data: bytes) -> FaceAnalysis:
        return await asyncio.to_thread(self.analyzer.analyze, data)

    async def status(self) -> ModelStatus:
        return self.analyzer.status

    async def statuses(self) -> dict[str, ModelStatus]:
        return self.analyzer.statuses


class LocalGaze:
    def __init__(self, analyzer: GazeAnalyzer) -> None:
        self.analyzer = analyzer

    async def analyze(self, face: FaceAnalysis, neutral: GazeNeutral) -> GazeAnalysis:
        result = self.analyzer.analyze_face(face, neutral)
        assert result is not None, "gaze needs a face"
        return result

    async def status(self) -> ModelStatus:
        return self.analyzer.status


class LocalObjects:
    def __init__(self, detector: ObjectAnalyzer) -> None:
        self.detector = detector

    async def analyze(self, data: bytes) -> ObjectAnalysis:
        if not self.detector.status.available:
            return ObjectAnalysis(status=self.detector.status)
        return await asyncio.to_thread(self.detector.analyze, data)

    async def status(self) -> ModelStatus:
        return self.detector.status

    async def missing(self) -> ModelStatus | None:
        return None if self.detector.status.available else self.detector.status


class LocalPersonFaces:
    """The second look for faces in person boxes, in this process (decodes the frame only when a
    person box lacks a face)."""

    def __init__(self, model: PersonFaceAnalyzer) -> None:
        self.model = model

    async def relook(self, data: bytes, face: FaceAnalysis, objects: ObjectAnalysis) -> FaceAnalysis:
        if not persons_without_face(face, objects, self.model.config):
            return face
        return await asyncio.to_thread(self.model.relook_frame, data, face, objects)


class LocalIdentity:
    def __init__(self, describer: FaceDescriber) -> None:
        self.describer = describer

    async def describe(self, data: bytes, box: Box, pose: HeadPose | None) -> FaceDescription:
        return await asyncio.to_thread(self.describer.describe_frame, data, box, pose)

    async def status(self) -> ModelStatus:
        return self.describer.status


def local_analyzers(
    face: FaceAnalyzer,
    gaze: GazeAnalyzer,
    objects: ObjectAnalyzer,
    person_faces: PersonFaceAnalyzer | None = None,
    identity: FaceDescriber | None = None,
) -> Analyzers:
    relook = LocalPersonFaces(person_faces) if person_faces is not None else None
    watch = LocalIdentity(identity) if identity is not None else None
    return Analyzers(
        LocalFace(face), LocalGaze(gaze), LocalObjects(objects), person_faces=relook, identity=watch
    )


def build_local_analyzers(spec: AppSpec) -> Analyzers:
    """The application's analyzers in this process: the same models, config files and settings the
    deployments get from the builder (the in-process service, offline analysis, benchmarks)."""
    face = FaceAnalyzer(*spec.face_models)
    face.load()
    gaze = GazeAnalyzer(spec.gaze_config)
    gaze.load()
    objects = ObjectAnalyzer(*spec.object_model)
    objects.load()
    relook = spec.relook
    person_faces = (
        PersonFaceAnalyzer.load(spec.settings.model_path, relook, face)
        if relook.active and face.status.available
        else None
    )
    identity = (
        FaceDescriber(dlib_models_dir(), spec.identity_config) if spec.identity_config.enabled else None
    )
    return local_analyzers(face, gaze, objects, person_faces, identity)
