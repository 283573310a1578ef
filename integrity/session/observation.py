"""What every condition check hands the risk engine: one frame's reading of one condition."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from integrity.core.geometry import Box

Evidence = dict[str, Any]


class Observation(BaseModel):
    """One frame's reading of one condition (True, False, or None = unknown), with its measurements."""

    model_config = ConfigDict(frozen=True)

    value: bool | None
    evidence: Evidence = Field(default_factory=dict)
    kind: str | None = Field(
        None, description="which kind of the condition this is, when its debounce depends on it"
    )
    since: float | None = Field(
        None,
        description="stream time the condition began, when only this frame could confirm it (a look "
        "down is told from a blink after the fact); never before the condition's last False frame",
    )
    boxes: tuple[Box, ...] = Field(
        (),
        description="where the condition was seen (an object's boxes): with the event's `consistency` "
        "rule, a run continues only while one of them stays where the run's last one was",
    )
    unknown_because: str | None = Field(
        None, description="why an unknown (None) reading is unknown, booked in the condition's coverage"
    )
