"""The YAML files in configs/: read as a mapping and validated into frozen pydantic models."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict


def read_mapping(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return raw


class ConfigSection(BaseModel):
    """A frozen part of a config file: unknown keys are errors (a typo must not silently keep a default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class YamlConfig(ConfigSection):
    """A whole config file's model, loaded from its path."""

    @classmethod
    def load(cls, path: Path) -> Self:
        return cls.model_validate(read_mapping(path))
