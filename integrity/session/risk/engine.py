"""The risk engine: turns per-frame observations of conditions into debounced events and a risk score.

Pure logic over plain serialisable state, so the session store can keep the state in memory or in
Redis and tests can drive it frame by frame with any timestamps.

Each condition (phone visible, no face, ...) is observed per frame as True, False or None (unknown:
the frame could not tell, e.g. the object model is missing or a blink hid the eyes). A condition
becomes an event when it has held for ``min_duration_s`` over at least ``min_observations`` frames,
tolerating absences shorter than ``release_s`` and unknown spans shorter than ``max_gap_s``. An
ongoing condition is counted again only after ``cooldown_s``. Between events the risk decays
exponentially with ``half_life_s`` and it is clamped to 0..max_score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field

from integrity.core.enums import EventType, Severity, Verdict
from integrity.session.observation import Evidence, Observation
from integrity.session.risk.config import EventRule, RiskConfig


class ConditionState(BaseModel):
    run_start: float | None = None  # first True of the current run
    last_true: float | None = None
    last_seen: float | None = None  # last observation of any value
    false_since: float | None = None  # start of the current absence inside a run
    run_frames: int = 0  # True observations in the current run
    last_fired: float | None = None

    def reset_run(self) -> None:
        self.run_start = None
        self.false_since = None
        self.run_frames = 0


class EventRecord(BaseModel):
    """An event as it enters the session's timeline."""

    id: str = Field("", description="stable within the session: ev0001, ev0002, ... in the order raised")
    type: EventType
    severity: Severity
    risk_increase: float
    timestamp: float
    risk_after: float
    evidence: Evidence = Field(default_factory=dict)


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


class RiskEngine:
    """Stateless rules applied to a :class:`RiskState`."""

    timeline_limit = 1000

    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        self._decay_per_s = math.log(2.0) / config.risk.half_life_s

    # -- score ------------------------------------------------------------------------------------
    def score_at(self, state: RiskState, ts: float) -> float:
        """The decayed risk at ``ts`` without changing the state."""
        if state.updated_at is None or ts <= state.updated_at:
            return state.score
        return state.score * math.exp(-self._decay_per_s * (ts - state.updated_at))

    def _advance(self, state: RiskState, ts: float) -> None:
        state.score = self.score_at(state, ts)
        if state.updated_at is None or ts > state.updated_at:
            state.updated_at = ts

    # -- observations -----------------------------------------------------------------------------
    def observe(
        self, state: RiskState, ts: float, observations: Mapping[EventType, Observation]
    ) -> list[EventRecord]:
        """Feed one frame's observations at stream time ``ts``; return the events it raised."""
        self._advance(state, ts)
        fired: list[EventRecord] = []
        for event_type, observation in observations.items():
            rule = self.config.events[event_type]
            condition = state.conditions.setdefault(event_type, ConditionState())
            evidence = self._track(rule, condition, ts, observation)
            if evidence is not None:
                fired.append(self._fire(state, rule, ts, evidence))
        return fired

    @staticmethod
    def _track(rule: EventRule, cond: ConditionState, ts: float, observation: Observation) -> Evidence | None:
        """Update one condition; return the event's evidence when it fires now."""
        if cond.last_seen is not None and ts - cond.last_seen > rule.max_gap_s:
            cond.reset_run()  # nothing seen for too long: we cannot claim it persisted
        cond.last_seen = ts if cond.last_seen is None else max(cond.last_seen, ts)

        if observation.value is None:
            # Unknown neither confirms nor breaks a run, unless it lasts longer than max_gap_s.
            if (
                cond.last_true is not None
                and cond.run_start is not None
                and ts - cond.last_true > rule.max_gap_s
            ):
                cond.reset_run()
            return None

        if observation.value is False:
            if cond.run_start is not None:
                if cond.false_since is None:
                    cond.false_since = ts
                if ts - cond.false_since >= rule.release_s:
                    cond.reset_run()
            return None

        cond.false_since = None
        if cond.run_start is None:
            cond.run_start = ts
        cond.run_frames += 1
        cond.last_true = ts
        held = ts - cond.run_start
        if held < rule.min_duration_s or cond.run_frames < rule.min_observations:
            return None
        if cond.last_fired is not None and ts - cond.last_fired < rule.cooldown_s:
            return None
        cond.last_fired = ts
        return {
            **observation.evidence,
            "held_s": round(held, 3),
            "frames": cond.run_frames,
            "min_duration_s": rule.min_duration_s,
        }

    def _fire(self, state: RiskState, rule: EventRule, ts: float, evidence: Evidence) -> EventRecord:
        params = self.config.risk
        state.score = min(params.max_score, max(0.0, state.score + rule.risk_increase))
        if state.score > state.peak:
            state.peak, state.peak_at = state.score, ts
        state.counts[rule.type] = state.counts.get(rule.type, 0) + 1
        if state.worst_severity is None or rule.severity.rank > state.worst_severity.rank:
            state.worst_severity = rule.severity
        record = EventRecord(
            id=f"ev{sum(state.counts.values()):04d}",
            type=rule.type,
            severity=rule.severity,
            risk_increase=rule.risk_increase,
            timestamp=ts,
            risk_after=round(state.score, 3),
            evidence=evidence,
        )
        if len(state.timeline) < self.timeline_limit:
            state.timeline.append(record)
        else:
            state.timeline_dropped += 1
        return record

    def replay(self, events: Iterable[EventRecord]) -> RiskState:
        """The risk state these events alone produce under the rules (reviews: without dismissed ones)."""
        state = RiskState()
        for event in sorted(events, key=lambda e: e.timestamp):
            self._advance(state, event.timestamp)
            self._fire(state, self.config.events[event.type], event.timestamp, event.evidence)
        return state

    # -- verdict ----------------------------------------------------------------------------------
    def _severe_enough(self, state: RiskState) -> bool:
        worst = state.worst_severity
        return worst is not None and worst.rank >= self.config.risk.cheating_min_severity.rank

    def is_cheating(self, state: RiskState, ts: float) -> bool:
        """The per-frame flag: current risk at the cheating threshold, backed by a severe event."""
        return self.score_at(state, ts) >= self.config.risk.cheating_threshold and self._severe_enough(state)

    def verdict(self, state: RiskState, ts: float) -> tuple[Verdict, str]:
        params = self.config.risk
        basis = state.peak if params.verdict_basis == "peak" else self.score_at(state, ts)
        label = f"{params.verdict_basis} risk {basis:.1f}"
        if basis >= params.cheating_threshold:
            if self._severe_enough(state):
                return Verdict.CHEATING, f"{label} >= {params.cheating_threshold:g}"
            return (
                Verdict.SUSPICIOUS,
                f"{label} >= {params.cheating_threshold:g} but no event of severity "
                f"{params.cheating_min_severity} or worse",
            )
        if basis >= params.suspicious_threshold:
            return Verdict.SUSPICIOUS, f"{label} >= {params.suspicious_threshold:g}"
        return Verdict.CLEAN, f"{label} < {params.suspicious_threshold:g}"
