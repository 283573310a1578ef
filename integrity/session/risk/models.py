"""The risk engine's state and what it records: plain serialisable models.

The session store keeps a :class:`RiskState` in memory or in Redis as JSON; the engine
(:mod:`integrity.session.risk.engine`) changes it frame by frame, the verdict
(:mod:`integrity.session.risk.verdict`) reads it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from integrity.core.enums import EventType, Severity
from integrity.core.geometry import Box
from integrity.session.observation import Evidence


class ConditionState(BaseModel):
    """One condition's current run (the debounce, :mod:`integrity.session.risk.debounce`)."""

    run_start: float | None = None  # first True of the current run
    last_true: float | None = None
    last_seen: float | None = None  # last observation of any value
    false_since: float | None = None  # start of the current absence inside a run
    run_frames: int = 0  # True observations in the current run
    run_known: int = 0  # known (True or False) observations in the current run
    run_kind: str | None = None  # the kind of the current run (a look down is not a look aside)
    run_box: Box | None = None  # where the run's last sighting was (events with a consistency rule)

    def reset_run(self) -> None:
        self.run_start = None
        self.false_since = None
        self.run_frames = 0
        self.run_known = 0
        self.run_kind = None
        self.run_box = None


class Episode(BaseModel):
    """One continuous episode of a cause (a condition, or conditions of one cause) and its event."""

    event_id: str
    type: EventType
    start: float
    last_true: float
    cleared_since: float | None = None  # first False frame after the last True one
    kind: str | None = None  # the kind that opened it: a look down after a look aside is a new look
    pending_risk: float = 0.0  # risk the event carries once the episode lasts risk_after_s
    risk_after_s: float | None = None
    no_risk: bool = False  # reported without risk (the interview's policy): no ongoing risk either


class Coverage(BaseModel):
    """How much of the session one condition could be judged: seconds observed, unknown, no frames."""

    observed_s: float = 0.0
    unknown_s: float = 0.0
    no_frames_s: float = 0.0
    unknown_because: dict[str, float] = Field(
        default_factory=dict,
        description="of unknown_s, seconds by the reason the frames gave (a person without a face, ...)",
    )

    @property
    def total_s(self) -> float:
        return self.observed_s + self.unknown_s + self.no_frames_s

    @property
    def observed_share(self) -> float | None:
        total = self.total_s
        return self.observed_s / total if total > 0 else None

    def rounded(self) -> Coverage:
        return Coverage(
            observed_s=round(self.observed_s, 2),
            unknown_s=round(self.unknown_s, 2),
            no_frames_s=round(self.no_frames_s, 2),
            unknown_because={k: round(v, 2) for k, v in sorted(self.unknown_because.items())},
        )


class EventRecord(BaseModel):
    """An event as it enters the session's timeline."""

    id: str = Field("", description="stable within the session: ev0001, ev0002, ... in the order raised")
    type: EventType
    severity: Severity
    risk_increase: float
    timestamp: float
    risk_after: float
    evidence: Evidence = Field(default_factory=dict)
    duration_s: float = Field(0.0, description="how long the episode has gone on (grows while it does)")
    ongoing_risk: float = Field(
        0.0, description="risk added while the episode went on, beyond risk_increase (ongoing_risk_per_min)"
    )
    ongoing_from: float | None = Field(None, description="stream time the ongoing risk began")
    ongoing_to: float | None = Field(None, description="stream time it was last added")


class RiskState(BaseModel):
    score: float = 0.0
    updated_at: float | None = None
    peak: float = 0.0
    peak_at: float | None = None
    conditions: dict[EventType, ConditionState] = Field(default_factory=dict)
    counts: dict[EventType, int] = Field(default_factory=dict)
    worst_severity: Severity | None = None
    timeline: list[EventRecord] = Field(default_factory=list)
    timeline_dropped: int = 0
    episodes: dict[str, Episode] = Field(default_factory=dict)  # open episodes by cause
    coverage: dict[EventType, Coverage] = Field(default_factory=dict)
    last_status: dict[EventType, bool] = Field(default_factory=dict)  # condition known at the last frame
    last_unknown: dict[EventType, str] = Field(default_factory=dict)  # ...why not, where it said
    last_frame: float | None = None  # the frames lane's last observation
    lane_last: dict[str, float] = Field(
        default_factory=dict, description="the other lanes' last observation (objects: the last result)"
    )

    def last_in(self, lane: str) -> float | None:
        return self.last_frame if lane == "frames" else self.lane_last.get(lane)

    def set_last(self, lane: str, ts: float) -> None:
        last = self.last_in(lane)
        if last is None or ts >= last:
            if lane == "frames":
                self.last_frame = ts
            else:
                self.lane_last[lane] = ts

    def event(self, event_id: str) -> EventRecord | None:
        """The timeline's event of this id (the latest first: an open episode's is near the end);
        None once the bounded timeline dropped it."""
        return next((r for r in reversed(self.timeline) if r.id == event_id), None)
