"""The risk engine: turns per-frame observations of conditions into debounced events and a risk score.

Pure logic over plain serialisable state, so the session store can keep the state in memory or in
Redis and tests can drive it frame by frame with any timestamps.

Each condition (phone visible, no face, ...) is observed per frame as True, False or None (unknown:
the frame could not tell, e.g. the object model is missing or a blink hid the eyes). A condition
becomes an event when it has held for ``min_duration_s`` over at least ``min_observations`` frames,
tolerating absences shorter than ``release_s`` and unknown spans shorter than ``max_gap_s``, with at
least ``min_positive_share`` of the run's known frames positive and frames never further apart than
``max_gap_s``.

Episodes, not repeats: one event per continuous episode of a condition. While it goes on the event's
``duration_s`` grows; a new event needs the condition seen cleared (False) for ``clear_s``. Conditions
of one cause (``causes`` in the config: a glance is both EYES_OFF_SCREEN and LOOKING_AWAY; a phone
flickers between phone and partial phone) share one episode: the first to fire opens it, the others
extend it (a more severe one upgrades the event in place, adding only the difference in risk).

Ongoing risk: an event with ``ongoing_risk_per_min`` keeps adding risk while its episode goes on,
once it has lasted ``ongoing_after_s``, for the time between consecutive frames that both saw it
(never across unknown spans or spans without frames): a second person sitting in for minutes, or a
phone held for minutes, is more than one brief appearance. The event's ``ongoing_risk`` says how much.

Between events the risk decays exponentially with ``half_life_s`` and it is clamped to 0..max_score.
Per condition the engine also keeps coverage: seconds observed, unknown, and without frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field

from integrity.core.enums import EventType, Severity, Verdict
from integrity.core.geometry import Box
from integrity.session.observation import Evidence, Observation
from integrity.session.risk.config import Consistency, EventRule, RiskConfig


class ConditionState(BaseModel):
    run_start: float | None = None  # first True of the current run
    last_true: float | None = None
    last_seen: float | None = None  # last observation of any value
    false_since: float | None = None  # start of the current absence inside a run
    run_frames: int = 0  # True observations in the current run
    run_known: int = 0  # known (True or False) observations in the current run
    run_kind: str | None = None  # the kind of the current run (a look down is not a look aside)
    run_box: Box | None = None  # where the run's last sighting was (events with a consistency rule)
    last_fired: float | None = None

    def reset_run(self) -> None:
        self.run_start = None
        self.false_since = None
        self.run_frames = 0
        self.run_known = 0
        self.run_kind = None
        self.run_box = None


def continuing(rule: Consistency, previous: Box, boxes: Iterable[Box]) -> Box | None:
    """The box among ``boxes`` at ``previous``'s place and size (the nearest such), or None."""
    best: tuple[float, Box] | None = None
    side = (previous.width + previous.height) / 2.0
    shift_tol = max(rule.max_shift * side, rule.min_px)
    px, py = previous.x + previous.width / 2.0, previous.y + previous.height / 2.0
    for box in boxes:
        shift = math.hypot(box.x + box.width / 2.0 - px, box.y + box.height / 2.0 - py)
        if shift > shift_tol:
            continue
        if any(
            abs(new - old) > max(rule.max_resize * old, rule.min_px)
            for new, old in ((box.width, previous.width), (box.height, previous.height))
        ):
            continue
        if best is None or shift < best[0]:
            best = (shift, box)
    return None if best is None else best[1]


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


class VerdictBasis(BaseModel):
    """How the verdict was reached: the numbers and the events that counted (summary, docs/API.md)."""

    verdict: Verdict
    reason: str
    basis: str = Field(description="peak or final: which risk the thresholds are held against")
    score: float
    suspicious_threshold: float
    cheating_threshold: float
    corroboration: str | None = Field(
        None, description="what backs CHEATING: a critical episode held long enough, or two causes"
    )
    counted_events: list[str] = Field(default_factory=list, description="ids of events that carried risk")
    observed_share: float | None = Field(None, description="share of the session the face could be judged")
    min_observed_share: float


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
    last_frame: float | None = None


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

    def _add_risk(self, state: RiskState, amount: float, at: float) -> float:
        """Add ``amount`` (clamped to 0..max_score), keep the peak; return what was really added."""
        before = state.score
        state.score = min(self.config.risk.max_score, max(0.0, state.score + amount))
        if state.score > state.peak:
            state.peak, state.peak_at = state.score, at
        return state.score - before

    # -- observations -----------------------------------------------------------------------------
    def observe(
        self, state: RiskState, ts: float, observations: Mapping[EventType, Observation]
    ) -> list[EventRecord]:
        """Feed one frame's observations at stream time ``ts``; return the events it raised or upgraded."""
        self._advance(state, ts)
        previous = state.last_frame
        self._cover(state, ts, observations)
        fired: list[EventRecord] = []
        ready: list[tuple[EventRule, Evidence, str | None]] = []
        # One cause: a member seen now makes the others' "no" unknown (a phone read as a partial
        # phone in this frame is not evidence that the phone went away).
        present = {self.cause(t) for t, o in observations.items() if o.value is True}
        observations = {
            t: (o.model_copy(update={"value": None}) if o.value is False and self.cause(t) in present else o)
            for t, o in observations.items()
        }
        for event_type, observation in observations.items():
            rule = self.config.events[event_type]
            condition = state.conditions.setdefault(event_type, ConditionState())
            evidence = self._track(rule, condition, ts, observation)
            if evidence is not None:
                ready.append((rule, evidence, observation.kind))
        self._clear_episodes(state, ts, observations, previous)
        for rule, evidence, kind in ready:
            record = self._episode_event(state, rule, ts, evidence, kind)
            if record is not None:
                fired.append(record)
        return fired

    def _cover(self, state: RiskState, ts: float, observations: Mapping[EventType, Observation]) -> None:
        """Book the time since the last frame to what each condition was then: known, unknown, or
        no frames at all (frames further apart than ``coverage_max_gap_s``)."""
        if state.last_frame is not None and ts > state.last_frame:
            dt = ts - state.last_frame
            for event_type in self.config.events:
                if event_type not in state.coverage and event_type not in state.last_status:
                    continue  # never watched (an engine fed only some conditions)
                cov = state.coverage.setdefault(event_type, Coverage())
                if dt > self.config.risk.coverage_max_gap_s:
                    cov.no_frames_s += dt
                elif state.last_status.get(event_type, False):
                    cov.observed_s += dt
                else:
                    cov.unknown_s += dt
                    because = state.last_unknown.get(event_type)
                    if because is not None:
                        cov.unknown_because[because] = cov.unknown_because.get(because, 0.0) + dt
        if state.last_frame is None or ts >= state.last_frame:
            state.last_frame = ts
        watched = set(state.conditions) | set(observations)
        state.last_status = {
            t: (observations[t].value is not None if t in observations else False) for t in watched
        }
        state.last_unknown = {
            t: o.unknown_because
            for t, o in observations.items()
            if o.value is None and o.unknown_because is not None
        }

    def cause(self, event_type: EventType) -> str:
        for name, members in self.config.causes.items():
            if event_type in members:
                return name
        return str(event_type)

    def _clear_episodes(
        self,
        state: RiskState,
        ts: float,
        observations: Mapping[EventType, Observation],
        previous: float | None = None,
    ) -> None:
        """Extend open episodes while any of their conditions holds; close them once cleared long enough."""
        for key, episode in list(state.episodes.items()):
            members = [t for t in observations if self.cause(t) == key]
            # Another kind of the same condition (eyes aside during a look down) does not continue
            # the episode: for it, the look it began with has ended.
            values = [
                False
                if observations[t].value is True
                and episode.kind is not None
                and observations[t].kind != episode.kind
                else observations[t].value
                for t in members
            ]
            if any(v is True for v in values):
                positive = [t for t, v in zip(members, values, strict=True) if v is True]
                self._ongoing(state, episode, ts, previous, positive)
                episode.last_true = max(episode.last_true, ts)
                episode.cleared_since = None
                self._stretch(state, episode)
                self._pending(state, episode, ts)
            elif values:
                # Clearing starts at a frame that sees the condition gone; frames that cannot tell
                # (unknown) after it neither hold the episode open nor restart the clearing.
                if episode.cleared_since is None and all(v is False for v in values):
                    episode.cleared_since = ts
                    self._mark_background(state, episode, [observations[t] for t in members])
                clear_s = max(self.config.events[t].clear_s for t in members)
                if episode.cleared_since is not None and ts - episode.cleared_since >= clear_s:
                    del state.episodes[key]

    def _ongoing(
        self,
        state: RiskState,
        episode: Episode,
        ts: float,
        previous: float | None,
        positive: list[EventType],
    ) -> None:
        """Ongoing risk for the time since the previous frame, when that frame saw the episode too."""
        rules = [self.config.events[t] for t in positive]
        rule = max(rules, key=lambda r: r.ongoing_risk_per_min)
        if rule.ongoing_risk_per_min <= 0 or previous is None or episode.last_true != previous:
            return  # the previous frame did not see it (unknown, cleared) or this is its first frame
        if ts - previous > self.config.risk.coverage_max_gap_s:
            return  # no frames in between: nothing was seen going on
        begin = max(previous, episode.start + rule.ongoing_after_s)
        if ts <= begin:
            return
        added = self._add_risk(state, rule.ongoing_risk_per_min * (ts - begin) / 60.0, ts)
        record = next((r for r in reversed(state.timeline) if r.id == episode.event_id), None)
        if record is not None:
            record.ongoing_risk = round(record.ongoing_risk + added, 3)
            if record.ongoing_from is None:
                record.ongoing_from = begin
            record.ongoing_to = ts

    def _pending(self, state: RiskState, episode: Episode, ts: float) -> None:
        """An event raised without its risk (a look down shorter than its kind's risk_after_s)
        carries it once the episode has lasted that long."""
        if episode.pending_risk <= 0 or episode.risk_after_s is None:
            return
        if episode.last_true - episode.start < episode.risk_after_s:
            return
        self._add_risk(state, episode.pending_risk, ts)
        record = next((r for r in reversed(state.timeline) if r.id == episode.event_id), None)
        if record is not None:
            record.risk_increase = episode.pending_risk
            record.risk_after = round(state.score, 3)
            record.evidence = {**record.evidence, "risk_from_s": round(ts - record.timestamp, 3)}
        episode.pending_risk = 0.0

    @staticmethod
    def _mark_background(state: RiskState, episode: Episode, observations: list[Observation]) -> None:
        """An episode that ends because what raised it was learned as static background (a photo
        on the wall seen since the episode began) is marked so: it keeps its risk, but it never
        corroborates an accusation."""
        for observation in observations:
            learned = observation.evidence.get("static_background")
            if not isinstance(learned, list):
                continue
            since = [
                float(hit["seen_since"]) for hit in learned if isinstance(hit, dict) and "seen_since" in hit
            ]
            if any(seen <= episode.start + 1.0 for seen in since):
                for record in reversed(state.timeline):
                    if record.id == episode.event_id:
                        record.evidence = {**record.evidence, "became_static_background": True}
                        return

    @staticmethod
    def _stretch(state: RiskState, episode: Episode) -> None:
        for record in reversed(state.timeline):
            if record.id == episode.event_id:
                record.duration_s = round(episode.last_true - episode.start, 3)
                return

    def _episode_event(
        self, state: RiskState, rule: EventRule, ts: float, evidence: Evidence, kind: str | None = None
    ) -> EventRecord | None:
        """A debounced condition: a new event, or the open episode of its cause extended (upgraded)."""
        key = self.cause(rule.type)
        episode = state.episodes.get(key)
        if episode is None:
            start = ts - float(evidence.get("held_s", 0.0))
            risk_after = rule.risk_after_by_kind.get(kind or "")
            deferred = risk_after is not None and ts - start < risk_after
            if deferred:
                evidence = {**evidence, "risk_after_s": risk_after}
            new = self._fire(state, rule, ts, evidence, risk=0.0 if deferred else None)
            state.episodes[key] = Episode(
                event_id=new.id,
                type=rule.type,
                start=start,
                last_true=ts,
                kind=kind,
                pending_risk=rule.risk_increase if deferred else 0.0,
                risk_after_s=risk_after,
            )
            new.duration_s = round(ts - start, 3)
            return new
        episode.last_true = max(episode.last_true, ts)
        record = next((r for r in reversed(state.timeline) if r.id == episode.event_id), None)
        if record is None:
            return None
        if rule.type is not record.type and rule.severity.rank > record.severity.rank:
            return self._upgrade(state, record, episode, rule, evidence)
        seen = record.evidence.setdefault("also", [])
        if rule.type is not record.type and str(rule.type) not in seen:
            seen.append(str(rule.type))
        self._stretch(state, episode)
        return None

    def _upgrade(
        self, state: RiskState, record: EventRecord, episode: Episode, rule: EventRule, evidence: Evidence
    ) -> EventRecord:
        """One cause, one event: the episode's event becomes the more severe one, for the difference."""
        self._add_risk(state, max(0.0, rule.risk_increase - record.risk_increase), episode.last_true)
        state.counts[record.type] = max(0, state.counts.get(record.type, 1) - 1)
        if not state.counts[record.type]:
            del state.counts[record.type]
        state.counts[rule.type] = state.counts.get(rule.type, 0) + 1
        if state.worst_severity is None or rule.severity.rank > state.worst_severity.rank:
            state.worst_severity = rule.severity
        record.evidence = {**evidence, "upgraded_from": str(record.type)}
        record.type, record.severity, record.risk_increase = rule.type, rule.severity, rule.risk_increase
        record.risk_after = round(state.score, 3)
        episode.type = rule.type
        episode.pending_risk = 0.0  # the upgrade paid the difference against what the record carries
        self._stretch(state, episode)
        return record

    @staticmethod
    def _track(rule: EventRule, cond: ConditionState, ts: float, observation: Observation) -> Evidence | None:
        """Update one condition; return the evidence when its run meets the debounce now."""
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
                cond.run_known += 1
                if cond.false_since is None:
                    cond.false_since = ts
                if ts - cond.false_since >= rule.release_s:
                    cond.reset_run()
            return None

        cond.false_since = None
        if cond.run_start is not None and observation.kind != cond.run_kind:
            cond.reset_run()  # another kind of the condition: a new occurrence
        if rule.consistency is not None and observation.boxes:
            # A sure object seen somewhere else, or at another size, is not the one the run followed
            # (a "phone" jumping about on a hand at the face): the run starts again from it.
            same = None
            if cond.run_box is not None:
                same = continuing(rule.consistency, cond.run_box, observation.boxes)
            if same is None and cond.run_start is not None:
                cond.reset_run()
            cond.run_box = same if same is not None else observation.boxes[0]
        if cond.run_start is None:
            cond.run_kind = observation.kind
            cond.run_start = ts if observation.since is None else min(ts, observation.since)
        cond.run_frames += 1
        cond.run_known += 1
        cond.last_true = ts
        held = ts - cond.run_start
        needed = rule.min_duration(observation.kind)
        if held < needed or cond.run_frames < rule.min_observations:
            return None
        if cond.run_frames < rule.min_positive_share * cond.run_known:
            return None
        cond.last_fired = ts
        return {
            **observation.evidence,
            "held_s": round(held, 3),
            "frames": cond.run_frames,
            "min_duration_s": needed,
        }

    def _fire(
        self, state: RiskState, rule: EventRule, ts: float, evidence: Evidence, risk: float | None = None
    ) -> EventRecord:
        risk = rule.risk_increase if risk is None else risk
        self._add_risk(state, risk, ts)
        state.counts[rule.type] = state.counts.get(rule.type, 0) + 1
        if state.worst_severity is None or rule.severity.rank > state.worst_severity.rank:
            state.worst_severity = rule.severity
        record = EventRecord(
            id=f"ev{sum(state.counts.values()):04d}",
            type=rule.type,
            severity=rule.severity,
            risk_increase=risk,
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
        # (time, order, event to fire, or ongoing risk to add): an event's ongoing risk is spread
        # evenly, second by second, over the span it was added in.
        steps: list[tuple[float, int, EventRecord | None, float]] = []
        for event in events:
            steps.append((event.timestamp, len(steps), event, 0.0))
            if event.ongoing_risk > 0 and event.ongoing_from is not None and event.ongoing_to is not None:
                span = max(0.0, event.ongoing_to - event.ongoing_from)
                n = max(1, math.ceil(span))
                for i in range(1, n + 1):
                    steps.append(
                        (event.ongoing_from + span * i / n, len(steps), None, event.ongoing_risk / n)
                    )
        for ts, _, fired, ongoing in sorted(steps, key=lambda s: (s[0], s[1])):
            self._advance(state, ts)
            if fired is not None:
                # The risk the event carried (a look down shorter than its risk_after_s: none).
                rule = self.config.events[fired.type]
                record = self._fire(state, rule, ts, fired.evidence, risk=fired.risk_increase)
                record.duration_s = fired.duration_s
                record.ongoing_risk = fired.ongoing_risk
                record.ongoing_from, record.ongoing_to = fired.ongoing_from, fired.ongoing_to
                continue
            self._add_risk(state, ongoing, ts)
        return state

    # -- verdict ----------------------------------------------------------------------------------
    def _severe_enough(self, state: RiskState) -> bool:
        worst = state.worst_severity
        return worst is not None and worst.rank >= self.config.risk.cheating_min_severity.rank

    def corroboration(self, state: RiskState) -> str | None:
        """What backs an accusation: a critical event whose episode held ``corroborate_s``, or events
        of ``cheating_min_severity`` or worse from two independent causes. None: nothing does."""
        params = self.config.risk
        counted = [
            e
            for e in state.timeline
            if e.risk_increase > 0 and not e.evidence.get("became_static_background")
        ]
        for event in counted:
            if event.severity is Severity.CRITICAL and event.duration_s >= params.corroborate_s:
                return f"{event.type} ({event.id}) held {event.duration_s:g} s >= {params.corroborate_s:g} s"
        severe = [e for e in counted if e.severity.rank >= params.cheating_min_severity.rank]
        causes = sorted({self.cause(e.type) for e in severe})
        if len(causes) >= 2:
            return f"independent causes: {', '.join(causes)}"
        return None

    def observed_share(self, state: RiskState) -> float | None:
        """Share of the session the face could be judged (NO_FACE's coverage: known vs. not)."""
        cov = state.coverage.get(EventType.NO_FACE)
        return None if cov is None or cov.total_s <= 0 else cov.observed_share

    def is_cheating(self, state: RiskState, ts: float) -> bool:
        """The per-frame flag: current risk at the cheating threshold, backed by corroborated evidence."""
        return (
            self.score_at(state, ts) >= self.config.risk.cheating_threshold
            and self._severe_enough(state)
            and self.corroboration(state) is not None
        )

    def verdict(self, state: RiskState, ts: float) -> tuple[Verdict, str]:
        basis = self.basis(state, ts)
        return basis.verdict, basis.reason

    def basis(self, state: RiskState, ts: float) -> VerdictBasis:
        """The verdict with everything it rested on."""
        params = self.config.risk
        score = state.peak if params.verdict_basis == "peak" else self.score_at(state, ts)
        label = f"{params.verdict_basis} risk {score:.1f}"
        share = self.observed_share(state)
        corroborated = self.corroboration(state)
        if score >= params.cheating_threshold and not self._severe_enough(state):
            verdict, reason = (
                Verdict.SUSPICIOUS,
                f"{label} >= {params.cheating_threshold:g} but no event of severity "
                f"{params.cheating_min_severity} or worse",
            )
        elif score >= params.cheating_threshold and corroborated is None:
            verdict, reason = (
                Verdict.SUSPICIOUS,
                f"{label} >= {params.cheating_threshold:g} but not corroborated (no critical event held "
                f"{params.corroborate_s:g} s, nor two independent causes)",
            )
        elif score >= params.cheating_threshold:
            verdict, reason = Verdict.CHEATING, f"{label} >= {params.cheating_threshold:g}; {corroborated}"
        elif score >= params.suspicious_threshold:
            verdict, reason = Verdict.SUSPICIOUS, f"{label} >= {params.suspicious_threshold:g}"
        elif share is not None and share < params.min_observed_share:
            verdict, reason = (
                Verdict.INCONCLUSIVE,
                f"{label} < {params.suspicious_threshold:g} but the face could be judged only "
                f"{share:.0%} of the session (< {params.min_observed_share:.0%})",
            )
        else:
            verdict, reason = Verdict.CLEAN, f"{label} < {params.suspicious_threshold:g}"
        return VerdictBasis(
            verdict=verdict,
            reason=reason,
            basis=params.verdict_basis,
            score=round(score, 3),
            suspicious_threshold=params.suspicious_threshold,
            cheating_threshold=params.cheating_threshold,
            corroboration=corroborated,
            counted_events=[e.id for e in state.timeline if e.risk_increase > 0],
            observed_share=None if share is None else round(share, 3),
            min_observed_share=params.min_observed_share,
        )
