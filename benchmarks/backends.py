"""The face analyzer with a chosen landmark backend, for the evaluation scripts.

``configs/face.yaml``'s ``landmarks`` field (:class:`~integrity.core.enums.LandmarkBackend`) picks what
places the landmarks. Until ``FaceConfig`` has that field, dlib's 68 points are the only backend:
``dlib_68`` runs (and says so) and ``face_landmarker`` is reported as not available.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from integrity.core.enums import LandmarkBackend
from integrity.core.paths import REPO_ROOT
from integrity.vision.face import FaceAnalyzer, FaceConfig
from serve_app.settings import Settings

FACE_CONFIG = REPO_ROOT / "configs" / "face.yaml"


@dataclass(frozen=True)
class Backend:
    """A requested landmark backend: its loaded analyzer (None when it cannot run) and what ran."""

    requested: LandmarkBackend
    analyzer: FaceAnalyzer | None
    ran: str  # the backend that actually ran, or why none did


def parse_backends(value: str) -> list[LandmarkBackend]:
    """``face_landmarker,dlib_68`` -> the enum members, in order, without repeats."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    return list(dict.fromkeys(LandmarkBackend(name) for name in names))


def load_backend(requested: LandmarkBackend, config_path: Path = FACE_CONFIG) -> Backend:
    """A loaded face analyzer whose config asks for ``requested``."""
    config = FaceConfig.load(config_path)
    if "landmarks" in FaceConfig.model_fields:
        config = config.model_copy(update={"landmarks": requested})
        ran = str(config.model_dump()["landmarks"])
    elif requested is LandmarkBackend.DLIB_68:
        ran = f"{requested} (FaceConfig has no `landmarks` field yet: dlib's 68 points are the only backend)"
    else:
        return Backend(requested, None, "not available: FaceConfig has no `landmarks` field yet")
    analyzer = FaceAnalyzer(Settings().face_models_dir, config)
    analyzer.load()
    if not analyzer.status.available:
        return Backend(requested, None, f"face models unavailable: {analyzer.status.detail}")
    missing = [f"{name}: {s.detail}" for name, s in analyzer.statuses.items() if not s.available]
    if missing:
        ran += f" [unavailable: {'; '.join(missing)}]"
    return Backend(requested, analyzer, ran)
