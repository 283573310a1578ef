"""Where the repository's own files are (configs/, models/), for defaults."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = REPO_ROOT / "configs"
MODELS = REPO_ROOT / "models"
RISK_CONFIG = CONFIGS / "risk_engine.yaml"
