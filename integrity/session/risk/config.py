"""Typed view of configs/risk_engine.yaml."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from integrity.core.config import ConfigSection, read_mapping
from integrity.core.enums import OBJECT_EVENTS, EventType, Severity, Treatment
from integrity.core.paths import RISK_CONFIG
from integrity.session.background import BackgroundConfig
from integrity.session.behaviour.config import BehaviourConfig
from integrity.session.browser import BrowserConfig


class Lane(StrEnum):
    """Who observes a condition, on its own schedule: every frame (faces, gaze), or the object
    analyses and identity checks, which are sampled and booked when they arrive (at their frame's
    time)."""

    FRAMES = "frames"
    OBJECTS = "objects"
    IDENTITY = "identity"

    @classmethod
    def of(cls, event_type: EventType) -> Lane:
        if event_type is EventType.IDENTITY_CHANGED:
            return cls.IDENTITY
        return cls.OBJECTS if event_type in OBJECT_EVENTS else cls.FRAMES


class RiskParams(ConfigSection):
    max_score: float = Field(100.0, gt=0)
    half_life_s: float = Field(120.0, gt=0)
    suspicious_threshold: float = Field(30.0, ge=0)
    cheating_threshold: float = Field(60.0, ge=0)
    verdict_basis: Literal["peak", "final"] = "peak"
    cheating_min_severity: Severity = Severity.HIGH
    corroborate_s: float = Field(5.0, ge=0, description="a critical episode held this long backs CHEATING")
    min_observed_share: float = Field(
        0.5, ge=0, le=1, description="below this share of the session judged, CLEAN becomes INCONCLUSIVE"
    )
    coverage_max_gap_s: float = Field(1.0, gt=0, description="frames further apart: time without frames")
    objects_fresh_s: float = Field(
        2.0,
        gt=0,
        description="an object analysis covers the session this long after its frame: object results "
        "further apart leave the time between them not watched for objects (object coverage)",
    )

    identity_fresh_s: float = Field(
        6.0,
        gt=0,
        description="identity checks run every few seconds (configs/identity.yaml interval_s): checks "
        "further apart leave the time between them not watched for identity",
    )

    @model_validator(mode="after")
    def _ordered(self) -> RiskParams:
        if not self.suspicious_threshold <= self.cheating_threshold <= self.max_score:
            raise ValueError("need suspicious_threshold <= cheating_threshold <= max_score")
        return self


class ClockConfig(ConfigSection):
    """The session's clock is the server's receipt time; a client timestamp is used within a tolerance."""

    tolerance_s: float = Field(
        0.25, ge=0, description="a client timestamp is used only this close to the server's clock"
    )
    reset_s: float = Field(1.0, gt=0, description="a client clock back by more than this was reset")
    gap_s: float = Field(5.0, gt=0, description="no frame for longer than this is a reported gap")


# Keys older configs carry that no longer do anything. Loading one is an error that says so (like any
# unknown key: a "cooldown_s: 60" that reads as a cooldown but is none must not load silently).
REMOVED_KEYS = {
    "cooldown_s": "an ongoing condition is one episode and one event; a new event needs the condition "
    "seen cleared for clear_s",
    "rearm_s": "it re-armed the cooldown_s that episodes replaced; a new event needs clear_s",
}


def _reject_removed(data: Any, where: str) -> Any:
    found = sorted(REMOVED_KEYS.keys() & data.keys()) if isinstance(data, dict) else []
    if found:
        raise ValueError(
            "; ".join(f"{where}.{key} was removed ({REMOVED_KEYS[key]}): delete it" for key in found)
        )
    return data


class Debounce(ConfigSection):
    min_duration_s: float = Field(1.0, ge=0)
    min_observations: int = Field(2, ge=1)
    release_s: float = Field(0.6, ge=0)
    max_gap_s: float = Field(3.0, gt=0)
    clear_s: float = Field(10.0, ge=0)
    min_positive_share: float = Field(0.6, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, data: Any) -> Any:
        return _reject_removed(data, "debounce")


class Consistency(ConfigSection):
    """Where a condition is seen must hold still enough over its run (an object's boxes): a phone
    held in the hand drifts a little from frame to frame; YOLO's "phone" on a hand at the face jumps
    between knuckles, fingers and palm, changing place and size."""

    max_shift: float = Field(
        0.5, ge=0, description="centre shift from the run's previous sighting, share of that box's mean side"
    )
    max_resize: float = Field(
        0.5, ge=0, description="width and height change from the previous sighting, share of each"
    )
    min_px: float = Field(4.0, ge=0, description="tolerances never below this many pixels (small boxes)")


class PolicyTreatment(ConfigSection):
    """An interview policy's treatment of an event (of one kind, or of all: ``kind`` None)."""

    treatment: Treatment
    because: str = Field(description="the allowance that asks for it (said in the event's evidence)")


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
    clear_s: float = Field(ge=0, description="a new event needs the condition seen cleared this long")
    min_positive_share: float = Field(
        ge=0, le=1, description="share of a run's known frames that must be positive before it fires"
    )
    min_duration_by_kind: dict[str, float] = Field(
        default_factory=dict,
        description="min_duration_s for observations of one kind (EYES_OFF_SCREEN's down: a look down)",
    )
    ongoing_risk_per_min: float = Field(
        0.0,
        ge=0,
        description="risk added per minute while the event's episode goes on (observed positive frame "
        "to frame, never across unknown or gap spans); 0: the event's risk_increase is all",
    )
    ongoing_after_s: float = Field(
        30.0, ge=0, description="...once the episode has lasted this long (a brief one costs its event only)"
    )
    end_after_unknown_s: float | None = Field(
        None,
        gt=0,
        description="an open episode whose condition nothing could tell for longer than this is over "
        "(the face gone for seconds: the look it began with cannot be said to go on); None: unknown "
        "spans neither end nor continue it",
    )
    consistency: Consistency | None = Field(
        None,
        description="observations that carry boxes: a run continues only through sightings at the "
        "same place and size (within this), else a new run starts; None: no such check",
    )
    risk_after_by_kind: dict[str, float] = Field(
        default_factory=dict,
        description="events of this kind are raised and reported at once, but carry their risk only "
        "once their episode has lasted this long (EYES_OFF_SCREEN's down: a glance at the keyboard)",
    )

    treatments: dict[str, PolicyTreatment] = Field(
        default_factory=dict,
        description="by kind ('' for every kind): reported without risk or not raised; the event "
        "table's own (WHISPERING's lips_only), then the interview's policy's over them "
        "(integrity/session/policy.py); absent: counted",
    )

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, data: Any) -> Any:
        where = f"events.{data.get('type')}" if isinstance(data, dict) else "events"
        return _reject_removed(data, where)

    def min_duration(self, kind: str | None) -> float:
        return self.min_duration_by_kind.get(kind or "", self.min_duration_s)

    def treatment(self, kind: str | None) -> PolicyTreatment | None:
        """The policy's treatment of this event of this kind; None: counted as the table says."""
        return self.treatments.get(kind or "") or self.treatments.get("")


class RiskConfig(ConfigSection):
    risk: RiskParams = RiskParams()
    debounce: Debounce = Debounce()
    events: dict[EventType, EventRule]
    behaviour: BehaviourConfig = BehaviourConfig()
    causes: dict[str, list[EventType]] = Field(
        default_factory=dict, description="conditions of one cause share one episode and one event"
    )
    clock: ClockConfig = ClockConfig()
    background: BackgroundConfig = BackgroundConfig()
    browser: BrowserConfig = BrowserConfig()

    def max_gap(self, lane: Lane) -> float:
        """Observations of one lane further apart than this leave the time between them unwatched."""
        if lane is Lane.IDENTITY:
            return self.risk.identity_fresh_s
        return self.risk.objects_fresh_s if lane is Lane.OBJECTS else self.risk.coverage_max_gap_s

    def cause(self, event_type: EventType) -> str:
        """The cause a condition belongs to (its own name when it shares none): one episode each."""
        for name, members in self.causes.items():
            if event_type in members:
                return name
        return str(event_type)

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
            causes={k: [EventType(e) for e in v] for k, v in (raw.get("causes") or {}).items()},
            clock=ClockConfig.model_validate(raw.get("clock", {})),
            background=BackgroundConfig.model_validate(raw.get("background", {})),
            browser=BrowserConfig.model_validate(raw.get("browser", {})),
        )

    @classmethod
    def load(cls, path: Path = RISK_CONFIG) -> RiskConfig:
        return cls.from_mapping(read_mapping(path))
