"""Typed view of configs/risk_engine.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from integrity.core.config import ConfigSection, read_mapping
from integrity.core.enums import EventType, Severity
from integrity.core.paths import RISK_CONFIG
from integrity.session.behaviour.config import BehaviourConfig


class RiskParams(ConfigSection):
    max_score: float = Field(100.0, gt=0)
    half_life_s: float = Field(120.0, gt=0)
    suspicious_threshold: float = Field(30.0, ge=0)
    cheating_threshold: float = Field(60.0, ge=0)
    verdict_basis: Literal["peak", "final"] = "peak"
    cheating_min_severity: Severity = Severity.HIGH

    @model_validator(mode="after")
    def _ordered(self) -> RiskParams:
        if not self.suspicious_threshold <= self.cheating_threshold <= self.max_score:
            raise ValueError("need suspicious_threshold <= cheating_threshold <= max_score")
        return self


class Debounce(ConfigSection):
    min_duration_s: float = Field(1.0, ge=0)
    min_observations: int = Field(2, ge=1)
    release_s: float = Field(0.6, ge=0)
    max_gap_s: float = Field(3.0, gt=0)
    cooldown_s: float = Field(30.0, ge=0)


class EventRule(ConfigSection):
    """One row of the event table, with the debounce defaults filled in."""

    type: EventType
    severity: Severity
    risk_increase: float = Field(ge=0)
    description: str = ""
    min_duration_s: float = Field(ge=0)
    min_observations: int = Field(ge=1)
    release_s: float = Field(ge=0)
    max_gap_s: float = Field(gt=0)
    cooldown_s: float = Field(ge=0)


class RiskConfig(ConfigSection):
    risk: RiskParams = RiskParams()
    debounce: Debounce = Debounce()
    events: dict[EventType, EventRule]
    behaviour: BehaviourConfig = BehaviourConfig()

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> RiskConfig:
        debounce = Debounce.model_validate(raw.get("debounce", {}))
        events: dict[EventType, EventRule] = {}
        for name, row in (raw.get("events") or {}).items():
            event_type = EventType(name)
            events[event_type] = EventRule.model_validate(
                {**debounce.model_dump(), **(row or {}), "type": event_type}
            )
        missing = set(EventType) - set(events)
        if missing:
            raise ValueError(f"event table lacks {sorted(missing)}")
        return cls(
            risk=RiskParams.model_validate(raw.get("risk", {})),
            debounce=debounce,
            events=events,
            behaviour=BehaviourConfig.model_validate(raw.get("behaviour", {})),
        )

    @classmethod
    def load(cls, path: Path = RISK_CONFIG) -> RiskConfig:
        return cls.from_mapping(read_mapping(path))
