"""The risk engine: turns per-frame observations of conditions into events, episodes and a risk score.

Pure logic over plain serialisable state (:mod:`integrity.session.risk.models`), so the session store
can keep the state in memory or in Redis and tests can drive it frame by frame with any timestamps.
When a condition's observations become an event is the debounce's
(:mod:`integrity.session.risk.debounce`); what the state is judged to be is the verdict's
(:mod:`integrity.session.risk.verdict`).

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

from integrity.core.enums import EventType, Treatment
from integrity.session.observation import Evidence, Observation
from integrity.session.risk.config import EventRule, Lane, RiskConfig
from integrity.session.risk.debounce import track
from integrity.session.risk.models import ConditionState, Coverage, Episode, EventRecord, RiskState


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
        self,
        state: RiskState,
        ts: float,
        observations: Mapping[EventType, Observation],
        lanes: Iterable[Lane] = tuple(Lane),
    ) -> list[EventRecord]:
        """Feed one frame's observations at stream time ``ts``; return the events it raised or upgraded.

        ``lanes``: who observed now (every lane by default: a frame analysed whole). Each lane has
        its own last time, coverage and ongoing risk: object results are sampled and arrive after
        later frames were booked, at their own frame's time (``lanes=(Lane.OBJECTS,)``); frames
        booked without them (``(Lane.FRAMES,)``) say nothing about objects. A condition of an
        observing lane missing from ``observations`` is unknown at ``ts``."""
        fired: list[EventRecord] = []
        for lane in lanes:
            mine = {t: o for t, o in observations.items() if Lane.of(t) is lane}
            fired += self._observe_lane(state, ts, mine, lane)
        return fired

    def _observe_lane(
        self, state: RiskState, ts: float, observations: Mapping[EventType, Observation], lane: Lane
    ) -> list[EventRecord]:
        self._advance(state, ts)
        previous = state.last_in(lane)
        self._cover(state, ts, observations, lane)
        fired: list[EventRecord] = []
        ready: list[tuple[EventRule, Evidence, str | None]] = []
        # One cause: a member seen now makes the others' "no" unknown (a phone read as a partial
        # phone in this frame is not evidence that the phone went away).
        cause = self.config.cause
        present = {cause(t) for t, o in observations.items() if o.value is True}
        observations = {
            t: (o.model_copy(update={"value": None}) if o.value is False and cause(t) in present else o)
            for t, o in observations.items()
        }
        for event_type, observation in observations.items():
            rule = self.config.events[event_type]
            condition = state.conditions.setdefault(event_type, ConditionState())
            evidence = track(rule, condition, ts, observation)
            if evidence is not None:
                ready.append((rule, evidence, observation.kind))
        self._clear_episodes(state, ts, observations, previous, lane)
        for rule, evidence, kind in ready:
            record = self._episode_event(state, rule, ts, evidence, kind)
            # Two conditions of one cause ready in one frame (LOOKING_AWAY raised, EYES_OFF_SCREEN
            # upgrading it) are one event: the frame reports it once.
            if record is not None and all(r.id != record.id for r in fired):
                fired.append(record)
        return fired

    def _cover(
        self, state: RiskState, ts: float, observations: Mapping[EventType, Observation], lane: Lane
    ) -> None:
        """Book the time since the lane's last observation to what each of its conditions was then:
        known, unknown, or not watched at all (observations further apart than the lane's gap)."""
        last = state.last_in(lane)
        if last is not None and ts > last:
            dt = ts - last
            for event_type in self.config.events:
                if Lane.of(event_type) is not lane:
                    continue
                if event_type not in state.coverage and event_type not in state.last_status:
                    continue  # never watched (an engine fed only some conditions)
                cov = state.coverage.setdefault(event_type, Coverage())
                if dt > self.config.max_gap(lane):
                    cov.no_frames_s += dt
                elif state.last_status.get(event_type, False):
                    cov.observed_s += dt
                else:
                    cov.unknown_s += dt
                    because = state.last_unknown.get(event_type)
                    if because is not None:
                        cov.unknown_because[because] = cov.unknown_because.get(because, 0.0) + dt
        state.set_last(lane, ts)
        watched = {t for t in set(state.conditions) | set(observations) if Lane.of(t) is lane}
        for t in watched:
            state.last_status[t] = observations[t].value is not None if t in observations else False
            state.last_unknown.pop(t, None)
        for t, o in observations.items():
            if o.value is None and o.unknown_because is not None:
                state.last_unknown[t] = o.unknown_because

    def _clear_episodes(
        self,
        state: RiskState,
        ts: float,
        observations: Mapping[EventType, Observation],
        previous: float | None = None,
        lane: Lane = Lane.FRAMES,
    ) -> None:
        """Extend open episodes while any of their conditions holds; close them once cleared long enough."""
        for key, episode in list(state.episodes.items()):
            members = [t for t in observations if self.config.cause(t) == key]
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
                self._ongoing(state, episode, ts, previous, positive, lane)
                episode.last_true = max(episode.last_true, ts)
                episode.cleared_since = None
                self._stretch(state, episode)
                self._pending(state, episode, ts)
            elif values:
                # Clearing starts at a frame that sees the condition gone; frames that cannot tell
                # (unknown) after it neither hold the episode open nor restart the clearing...
                ends = [r for r in (self.config.events[t].end_after_unknown_s for t in members) if r]
                if ends and all(v is None for v in values) and ts - episode.last_true > min(ends):
                    del state.episodes[key]  # ...unless nothing could tell for too long
                    continue
                if episode.cleared_since is None and all(v is False for v in values):
                    episode.cleared_since = ts
                    self._mark_background(state, episode, [observations[t] for t in members])
                clear_s = max(self.config.events[t].clear_s for t in members)
                if episode.cleared_since is not None and ts - episode.cleared_since >= clear_s:
                    del state.episodes[key]
                    # The look is over: the run the debounce still holds for it (its release_s may
                    # outlast clear_s) must not raise it again at once, as a "new" look with the
                    # old start. A run of another kind (a look down begun meanwhile) goes on.
                    for t in members:
                        condition = state.conditions.get(t)
                        if condition is not None and condition.run_kind == episode.kind:
                            condition.reset_run()

    def _ongoing(
        self,
        state: RiskState,
        episode: Episode,
        ts: float,
        previous: float | None,
        positive: list[EventType],
        lane: Lane = Lane.FRAMES,
    ) -> None:
        """Ongoing risk for the time since the lane's previous observation, when it saw the episode too."""
        if episode.no_risk:
            return
        rules = [self.config.events[t] for t in positive]
        rule = max(rules, key=lambda r: r.ongoing_risk_per_min)
        if rule.ongoing_risk_per_min <= 0 or previous is None or episode.last_true != previous:
            return  # the previous frame did not see it (unknown, cleared) or this is its first frame
        if ts - previous > self.config.max_gap(lane):
            return  # no frames (object results) in between: nothing was seen going on
        begin = max(previous, episode.start + rule.ongoing_after_s)
        if ts <= begin:
            return
        added = self._add_risk(state, rule.ongoing_risk_per_min * (ts - begin) / 60.0, ts)
        record = state.event(episode.event_id)
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
        record = state.event(episode.event_id)
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
                record = state.event(episode.event_id)
                if record is not None:
                    record.evidence = {**record.evidence, "became_static_background": True}
                return

    @staticmethod
    def _stretch(state: RiskState, episode: Episode) -> None:
        """The episode's event lasts as long as the episode has."""
        record = state.event(episode.event_id)
        if record is not None:
            record.duration_s = round(episode.last_true - episode.start, 3)

    def _episode_event(
        self, state: RiskState, rule: EventRule, ts: float, evidence: Evidence, kind: str | None = None
    ) -> EventRecord | None:
        """A debounced condition: a new event, or the open episode of its cause extended (upgraded)."""
        key = self.config.cause(rule.type)
        episode = state.episodes.get(key)
        policy = rule.treatment(kind)
        if episode is None:
            if policy is not None and policy.treatment is Treatment.OFF:
                return None  # the interview allows it: not raised
            start = ts - float(evidence.get("held_s", 0.0))
            no_risk = policy is not None and policy.treatment is Treatment.REPORT
            risk_after = None if no_risk else rule.risk_after_by_kind.get(kind or "")
            deferred = risk_after is not None and ts - start < risk_after
            if deferred:
                evidence = {**evidence, "risk_after_s": risk_after}
            if no_risk and policy is not None and policy.because:
                evidence = {**evidence, "policy": f"{policy.because}: reported without risk"}
            new = self._fire(state, rule, ts, evidence, risk=0.0 if deferred or no_risk else None)
            state.episodes[key] = Episode(
                event_id=new.id,
                type=rule.type,
                start=start,
                last_true=ts,
                kind=kind,
                pending_risk=rule.risk_increase if deferred else 0.0,
                risk_after_s=risk_after,
                no_risk=no_risk,
            )
            new.duration_s = round(ts - start, 3)
            return new
        episode.last_true = max(episode.last_true, ts)
        record = state.event(episode.event_id)
        if record is None:
            return None
        upgrade = rule.type is not record.type and rule.severity.rank > record.severity.rank
        if upgrade and policy is None:  # one the policy reports or allows never upgrades the episode
            episode.no_risk = False
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
            # In stream-time order: an object result is booked after later frames (its own lane).
            at = len(state.timeline)
            while at > 0 and state.timeline[at - 1].timestamp > ts:
                at -= 1
            state.timeline.insert(at, record)
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
