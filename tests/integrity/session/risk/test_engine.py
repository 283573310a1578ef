"""Unit tests of the risk engine: debounce, episodes, decay, clamping, verdicts, the config."""

from __future__ import annotations

import math
from typing import Any

import pytest

from integrity.core.enums import EventType, Severity, Treatment, Verdict
from integrity.session.observation import Observation
from integrity.session.risk.config import RiskConfig
from integrity.session.risk.engine import RiskEngine
from integrity.session.risk.models import RiskState
from integrity.session.risk.verdict import Judge

SEED_TABLE = {
    EventType.PHONE_DETECTED: (Severity.CRITICAL, 30),
    EventType.PHONE_PARTIAL_DETECTED: (Severity.HIGH, 20),
    EventType.MULTIPLE_FACES: (Severity.CRITICAL, 25),
    EventType.EYES_OFF_SCREEN: (Severity.HIGH, 15),
    EventType.LOOKING_AWAY: (Severity.MEDIUM, 10),
    EventType.NO_FACE: (Severity.HIGH, 20),
    EventType.SUSPICIOUS_OBJECT: (Severity.MEDIUM, 15),
    EventType.WHISPERING: (Severity.MEDIUM, 10),
    EventType.READING_PATTERN: (Severity.MEDIUM, 12),
    EventType.STRESS_HIGH: (Severity.LOW, 5),
}

LATER_EVENTS = {  # issues 24 and 25
    EventType.IDENTITY_CHANGED: (Severity.CRITICAL, 40),
    EventType.SECOND_VOICE: (Severity.HIGH, 20),
    EventType.TAB_SWITCH: (Severity.MEDIUM, 10),
    EventType.SECOND_SCREEN: (Severity.MEDIUM, 10),
    EventType.PASTE: (Severity.LOW, 0),
}

YES = Observation(value=True, evidence={"measured": 1})
NO = Observation(value=False)
UNKNOWN = Observation(value=None)


def make_config(**risk: Any) -> RiskConfig:
    """The seed's table with round debounce numbers, so the tests read plainly."""
    return RiskConfig.from_mapping(
        {
            "risk": {"half_life_s": 60, "suspicious_threshold": 30, "cheating_threshold": 60, **risk},
            "debounce": {
                "min_duration_s": 2.0,
                "min_observations": 2,
                "release_s": 1.0,
                "max_gap_s": 3.0,
                "clear_s": 1.0,
            },
            "events": {
                t.value: {"severity": s.value, "risk_increase": r}
                for t, (s, r) in (SEED_TABLE | LATER_EVENTS).items()
            },
        }
    )


def feed(
    engine: RiskEngine, state: RiskState, event: EventType, frames: list[tuple[float, Observation]]
) -> list[float]:
    """Observe ``event`` at each (time, observation); return the times at which it fired."""
    fired = []
    for ts, observation in frames:
        for record in engine.observe(state, ts, {event: observation}):
            assert record.type is event
            fired.append(ts)
    return fired


def judge_verdict(engine: RiskEngine, state: RiskState, ts: float) -> tuple[Verdict, str]:
    """The verdict on ``state`` with its risk as at ``ts``, as the session manager asks for it."""
    return Judge(engine.config).verdict(state, engine.score_at(state, ts))


def judge_cheating(engine: RiskEngine, state: RiskState, ts: float) -> bool:
    """The per-frame cheating flag at ``ts``."""
    return Judge(engine.config).is_cheating(state, engine.score_at(state, ts))


@pytest.fixture
def engine() -> RiskEngine:
    return RiskEngine(make_config())


def test_shipped_config_holds_the_seed_event_table() -> None:
    config = RiskConfig.load()
    shipped = (
        SEED_TABLE
        | {  # issue 11: a partial phone is at most medium; no risk without audio/baseline
            EventType.PHONE_PARTIAL_DETECTED: (Severity.MEDIUM, 20),
            EventType.WHISPERING: (Severity.LOW, 10),  # issue 25: with audio; the lips alone are reported
            EventType.STRESS_HIGH: (Severity.LOW, 0),
        }
        | LATER_EVENTS
    )
    whispering = config.events[EventType.WHISPERING].treatment("lips_only")
    assert whispering is not None and whispering.treatment is Treatment.REPORT
    assert {t: (r.severity, r.risk_increase) for t, r in config.events.items()} == shipped
    # NO_FACE is debounced for about two seconds, as the product asks.
    assert config.events[EventType.NO_FACE].min_duration_s == pytest.approx(2.0)


def test_config_rejects_a_missing_event_and_disordered_thresholds() -> None:
    table = SEED_TABLE | LATER_EVENTS
    raw = {"events": {t.value: {"severity": s.value, "risk_increase": r} for t, (s, r) in table.items()}}
    del raw["events"]["STRESS_HIGH"]
    with pytest.raises(ValueError, match="STRESS_HIGH"):
        RiskConfig.from_mapping(raw)
    with pytest.raises(ValueError, match="suspicious_threshold"):
        make_config(suspicious_threshold=70, cheating_threshold=60)


@pytest.mark.parametrize(
    ("section", "key"),
    [("debounce", "cooldown_s"), ("event", "cooldown_s"), ("event", "rearm_s"), ("debounce", "rearm_s")],
)
def test_config_refuses_the_removed_keys(section: str, key: str) -> None:
    """cooldown_s and rearm_s did nothing since episodes: an old config carrying them fails to load,
    naming the key, rather than reading as a cooldown that is not there."""
    raw: dict[str, Any] = {
        "debounce": {},
        "events": {
            t.value: {"severity": s.value, "risk_increase": r}
            for t, (s, r) in (SEED_TABLE | LATER_EVENTS).items()
        },
    }
    if section == "debounce":
        raw["debounce"][key] = 30.0
        where = f"debounce.{key}"
    else:
        raw["events"]["STRESS_HIGH"][key] = 60.0
        where = f"events.STRESS_HIGH.{key}"
    with pytest.raises(ValueError, match=rf"{where} was removed .*: delete it"):
        RiskConfig.from_mapping(raw)
    raw["debounce"].pop(key, None)
    raw["events"]["STRESS_HIGH"].pop(key, None)
    assert RiskConfig.from_mapping(raw).events[EventType.STRESS_HIGH].clear_s == 10.0


def test_condition_must_persist_before_it_becomes_an_event(engine: RiskEngine) -> None:
    state = RiskState()
    frames = [(t, YES) for t in (0.0, 0.5, 1.0, 1.5, 1.99, 2.0, 2.5)]
    assert feed(engine, state, EventType.NO_FACE, frames) == [2.0]
    assert state.counts == {EventType.NO_FACE: 1}
    assert state.peak == pytest.approx(20)


def test_a_single_frame_never_raises_an_event(engine: RiskEngine) -> None:
    # min_observations=2: one positive frame followed by silence is not evidence of anything.
    state = RiskState()
    assert feed(engine, state, EventType.PHONE_DETECTED, [(0.0, YES), (2.5, NO)]) == []
    assert state.score == 0


def test_short_absences_are_tolerated_long_ones_restart_the_run(engine: RiskEngine) -> None:
    state = RiskState()
    # One missed detection (False for < release_s) does not break the run...
    assert feed(engine, state, EventType.NO_FACE, [(0.0, YES), (0.5, NO), (1.0, YES), (2.0, YES)]) == [2.0]

    state = RiskState()
    # ...a second's absence does: the run restarts at 2.0 and needs 2 s more.
    frames = [(0.0, YES), (0.5, NO), (1.5, NO), (2.0, YES), (3.0, YES), (4.0, YES)]
    assert feed(engine, state, EventType.NO_FACE, frames) == [4.0]


def test_unknown_neither_confirms_nor_breaks_unless_it_lasts(engine: RiskEngine) -> None:
    state = RiskState()
    frames = [(0.0, YES), (0.7, UNKNOWN), (1.4, UNKNOWN), (2.1, YES)]
    assert feed(engine, state, EventType.MULTIPLE_FACES, frames) == [2.1]

    state = RiskState()
    # Unknown for longer than max_gap_s (3 s): we cannot claim the condition persisted.
    frames = [(0.0, YES), (1.0, UNKNOWN), (2.0, UNKNOWN), (3.5, UNKNOWN), (4.0, YES), (5.0, YES)]
    assert feed(engine, state, EventType.MULTIPLE_FACES, frames) == []


def test_frames_too_far_apart_do_not_prove_persistence(engine: RiskEngine) -> None:
    state = RiskState()
    # Two positive frames 10 s apart say nothing about the 10 s between them.
    assert feed(engine, state, EventType.NO_FACE, [(0.0, YES), (10.0, YES)]) == []
    assert feed(engine, state, EventType.NO_FACE, [(11.0, YES), (12.0, YES)]) == [12.0]


def test_an_ongoing_condition_is_one_episode_one_event(engine: RiskEngine) -> None:
    # Issue 11: no re-fire while it goes on (there is no cooldown); the event's duration grows instead.
    state = RiskState()
    frames = [(t / 2, YES) for t in range(0, 61)]  # 30 s of a phone in view, 2 frames per second
    fired = feed(engine, state, EventType.PHONE_DETECTED, frames)
    assert fired == [2.0]
    assert state.counts[EventType.PHONE_DETECTED] == 1
    assert state.timeline[0].duration_s == pytest.approx(30.0)


def test_a_new_event_needs_the_condition_cleared_for_clear_s(engine: RiskEngine) -> None:
    state = RiskState()
    frames = [(0.0, YES), (1.0, YES), (2.0, YES), (3.0, NO), (3.5, NO), (4.0, YES), (5.0, YES), (6.0, YES)]
    assert feed(engine, state, EventType.NO_FACE, frames) == [2.0]  # cleared 0.5 s < 1 s: same episode
    frames = [(7.0, NO), (8.5, NO), (9.0, YES), (10.0, YES), (11.0, YES)]
    assert feed(engine, state, EventType.NO_FACE, frames) == [11.0]  # cleared 1.5 s: a new one


def test_risk_decays_with_the_configured_half_life(engine: RiskEngine) -> None:
    state = RiskState()
    feed(engine, state, EventType.PHONE_DETECTED, [(0.0, YES), (2.0, YES)])
    assert engine.score_at(state, 2.0) == pytest.approx(30)
    assert engine.score_at(state, 62.0) == pytest.approx(15)  # one half-life (60 s) later
    assert engine.score_at(state, 122.0) == pytest.approx(7.5)
    # Observing without events advances the stored score the same way.
    engine.observe(state, 62.0, {EventType.PHONE_DETECTED: NO})
    assert state.score == pytest.approx(15)
    assert state.peak == pytest.approx(30)  # the peak is history, it does not decay


def test_decay_uses_stream_time_not_frame_count() -> None:
    engine = RiskEngine(make_config(half_life_s=10))
    state = RiskState()
    feed(engine, state, EventType.NO_FACE, [(0.0, YES), (2.0, YES)])
    # One frame 10 s later or many frames over the same 10 s give the same risk.
    sparse, dense = state.model_copy(deep=True), state.model_copy(deep=True)
    engine.observe(sparse, 12.0, {})
    for i in range(1, 101):
        engine.observe(dense, 2.0 + i / 10, {})
    assert sparse.score == pytest.approx(10.0)
    assert dense.score == pytest.approx(10.0)


def test_risk_is_clamped_to_the_maximum() -> None:
    engine = RiskEngine(make_config(half_life_s=1e6))  # no decay: 30 + 25 + 20 + 30 would be 105
    state = RiskState()
    t = 0.0
    for event in (
        EventType.PHONE_DETECTED,
        EventType.MULTIPLE_FACES,
        EventType.NO_FACE,
        EventType.PHONE_DETECTED,
    ):
        feed(engine, state, event, [(t, YES), (t + 2.0, YES), (t + 3.5, NO), (t + 5.0, NO)])
        t += 12.0  # cleared in between: the second phone is a new episode
    assert state.score <= 100.0
    assert state.peak == pytest.approx(100.0)
    assert state.counts[EventType.PHONE_DETECTED] == 2
    assert all(0 <= r.risk_after <= 100 for r in state.timeline)


def test_verdict_thresholds_on_the_peak(engine: RiskEngine) -> None:
    state = RiskState()
    assert judge_verdict(engine, state, 0.0)[0] is Verdict.CLEAN

    feed(engine, state, EventType.PHONE_DETECTED, [(0.0, YES), (2.0, YES)])  # 30: suspicious
    assert judge_verdict(engine, state, 2.0)[0] is Verdict.SUSPICIOUS
    assert not judge_cheating(engine, state, 2.0)

    feed(engine, state, EventType.MULTIPLE_FACES, [(3.0, YES), (5.0, YES)])  # ~54.6
    assert judge_verdict(engine, state, 5.0)[0] is Verdict.SUSPICIOUS
    feed(engine, state, EventType.NO_FACE, [(6.0, YES), (8.0, YES)])  # ~73
    verdict, reason = judge_verdict(engine, state, 8.0)
    assert verdict is Verdict.CHEATING
    assert "peak risk" in reason
    assert judge_cheating(engine, state, 8.0)

    # Much later the current risk has decayed, but the session's verdict rests on its peak.
    assert not judge_cheating(engine, state, 600.0)
    assert judge_verdict(engine, state, 600.0)[0] is Verdict.CHEATING


def test_final_basis_and_weak_evidence_caps_at_suspicious() -> None:
    engine = RiskEngine(make_config(verdict_basis="final"))
    state = RiskState()
    feed(engine, state, EventType.PHONE_DETECTED, [(0.0, YES), (2.0, YES)])
    assert judge_verdict(engine, state, 2.0)[0] is Verdict.SUSPICIOUS
    assert judge_verdict(engine, state, 300.0)[0] is Verdict.CLEAN  # 30 halved five times

    # Only medium events: even at a high score the verdict stops at SUSPICIOUS.
    engine = RiskEngine(make_config())
    state = RiskState()
    t = 0.0
    for event in [EventType.LOOKING_AWAY, EventType.SUSPICIOUS_OBJECT, EventType.READING_PATTERN] * 3:
        feed(engine, state, event, [(t, YES), (t + 2.0, YES), (t + 3.5, NO), (t + 5.0, NO)])
        t += 5.0
    assert state.peak >= 60
    verdict, reason = judge_verdict(engine, state, t)
    assert verdict is Verdict.SUSPICIOUS
    assert "no event of severity high" in reason
    assert not judge_cheating(engine, state, t)


def test_event_records_carry_evidence_and_the_threshold(engine: RiskEngine) -> None:
    state = RiskState()
    records = []
    for ts in (0.0, 1.0, 2.0):
        records += engine.observe(
            state, ts, {EventType.NO_FACE: Observation(value=True, evidence={"faces": 0})}
        )
    (record,) = records
    assert record.timestamp == 2.0
    assert record.severity is Severity.HIGH
    assert record.risk_increase == 20
    assert record.evidence == {"faces": 0, "held_s": 2.0, "frames": 3, "min_duration_s": 2.0}


def test_timeline_is_bounded_but_counts_stay_exact(engine: RiskEngine) -> None:
    engine.timeline_limit = 3
    state = RiskState()
    t = 0.0
    for _ in range(5):
        feed(
            engine, state, EventType.PHONE_DETECTED, [(t, YES), (t + 2.0, YES), (t + 3.5, NO), (t + 5.0, NO)]
        )
        t += 20.0
    assert state.counts[EventType.PHONE_DETECTED] == 5
    assert len(state.timeline) == 3
    assert state.timeline_dropped == 2


def test_state_round_trips_through_json(engine: RiskEngine) -> None:
    state = RiskState()
    feed(engine, state, EventType.NO_FACE, [(0.0, YES), (1.0, YES)])
    restored = RiskState.model_validate_json(state.model_dump_json())
    assert feed(engine, restored, EventType.NO_FACE, [(2.0, YES)]) == [2.0]
    assert math.isclose(restored.score, 20)


def test_a_condition_confirmed_late_is_timed_from_when_it_began(engine: RiskEngine) -> None:
    """A look down is told from a blink only after a while; its run starts when the lids went down."""
    state = RiskState()
    late = Observation(value=True, since=0.0)
    frames = [(0.0, UNKNOWN), (0.5, UNKNOWN), (1.0, late), (1.5, late), (2.0, late)]
    assert feed(engine, state, EventType.EYES_OFF_SCREEN, frames) == [2.0]  # held 2 s since 0.0
    record = state.timeline[0]
    assert record.evidence["held_s"] == 2.0 and record.evidence["frames"] == 3


def test_debounce_per_kind_and_a_new_look_after_clearing() -> None:
    config = make_config()
    rule = config.events[EventType.EYES_OFF_SCREEN]
    config.events[EventType.EYES_OFF_SCREEN] = rule.model_copy(update={"min_duration_by_kind": {"down": 1.0}})
    engine = RiskEngine(config)
    state = RiskState()
    down = Observation(value=True, kind="down")
    # A look down needs 1 s, a sideways look the rule's 2 s.
    assert feed(engine, state, EventType.EYES_OFF_SCREEN, [(0.0, down), (0.5, down), (1.0, down)]) == [1.0]
    assert state.timeline[0].evidence["min_duration_s"] == 1.0
    # Back on the screen (cleared 1.1 s >= clear_s), then a new look: a new event.
    frames = [(1.5, NO), (2.6, NO), (3.0, YES), (4.0, YES), (5.0, YES)]
    assert feed(engine, state, EventType.EYES_OFF_SCREEN, frames) == [5.0]
    # The same look going on is one episode (issue 11): never counted again.
    assert feed(engine, state, EventType.EYES_OFF_SCREEN, [(t, YES) for t in range(6, 16)]) == []


def test_a_cleared_look_is_not_raised_again_from_the_run_that_raised_it() -> None:
    """clear_s shorter than release_s (EYES_OFF_SCREEN: 0.5 s against 0.6 s): the episode ends while
    the debounce still holds the old run; the next look needs a run of its own, not the old start."""
    config = make_config()
    rule = config.events[EventType.EYES_OFF_SCREEN]
    config.events[EventType.EYES_OFF_SCREEN] = rule.model_copy(update={"clear_s": 0.5, "release_s": 1.0})
    engine = RiskEngine(config)
    state = RiskState()
    look = [(t / 2, YES) for t in range(5)]  # 0-2 s: raised at 2 s
    assert feed(engine, state, EventType.EYES_OFF_SCREEN, look) == [2.0]
    back = [(2.2, NO), (2.8, NO)]  # cleared 0.6 s >= clear_s, absent < release_s
    again = [(3.0 + t / 2, YES) for t in range(6)]  # 3.0-5.5 s: a new look of 2 s at 5.0
    assert feed(engine, state, EventType.EYES_OFF_SCREEN, back + again) == [5.0]
    assert [r.timestamp for r in state.timeline] == [2.0, 5.0]
    assert state.timeline[1].duration_s == pytest.approx(2.5)


def test_a_look_ends_where_nothing_could_tell_for_end_after_unknown_s() -> None:
    """The face gone for seconds (leaning out of the frame): the look aside it began with does not
    stretch across into a later one. Without the rule the episode waits through unknown frames."""
    for ends, expected in ((3.0, [2.0, 10.0]), (None, [2.0])):
        config = make_config()
        rule = config.events[EventType.EYES_OFF_SCREEN]
        config.events[EventType.EYES_OFF_SCREEN] = rule.model_copy(update={"end_after_unknown_s": ends})
        engine = RiskEngine(config)
        state = RiskState()
        frames = [(t / 2, YES) for t in range(5)]  # raised at 2 s
        frames += [(2.5 + t / 2, UNKNOWN) for t in range(11)]  # 2.5-7.5 s: no face
        frames += [(8.0 + t / 2, YES) for t in range(5)]  # 8-10 s: off the screen again
        assert feed(engine, state, EventType.EYES_OFF_SCREEN, frames) == expected
        if ends is not None:
            assert state.timeline[0].duration_s == pytest.approx(2.0)  # ended at its last sighting


def test_two_conditions_of_one_cause_ready_in_one_frame_are_one_event() -> None:
    """LOOKING_AWAY and EYES_OFF_SCREEN (one cause, gaze, in the shipped config) confirmed by the
    same frame: the frame reports one event (EYES_OFF_SCREEN, the more severe), not it twice."""
    engine = RiskEngine(RiskConfig.load())
    state = RiskState()
    both = {EventType.LOOKING_AWAY: YES, EventType.EYES_OFF_SCREEN: YES}
    fired = [r for t in range(5) for r in engine.observe(state, t / 2, both)]
    assert [(r.type, r.timestamp) for r in fired] == [(EventType.EYES_OFF_SCREEN, 2.0)]
    assert len(state.timeline) == 1
