"""Where the repository's own files are (configs/, models/), for defaults."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = REPO_ROOT / "configs"
MODELS = REPO_ROOT / "models"
RISK_CONFIG = CONFIGS / "risk_engine.yaml"
POLICY_CONFIG = CONFIGS / "policy.yaml"
IDENTITY_CONFIG = CONFIGS / "identity.yaml"


def dlib_models_dir() -> Path:
    """Folder of dlib's models in the ``face_recognition_models`` package, found without importing it
    (that needs pkg_resources, which current setuptools no longer ships)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"
