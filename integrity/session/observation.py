"""What every condition check hands the risk engine: one frame's reading of one condition."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Evidence = dict[str, Any]


class Observation(BaseModel):
    """One frame's reading of one condition (True, False, or None = unknown), with its measurements."""

    model_config = ConfigDict(frozen=True)

    value: bool | None
    evidence: Evidence = Field(default_factory=dict)
