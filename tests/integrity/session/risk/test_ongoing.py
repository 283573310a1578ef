"""Ongoing risk: a critical episode that goes on keeps adding risk, but only for time it was seen."""

from __future__ import annotations

from typing import Any

import pytest

from integrity.core.enums import EventType
from integrity.session.observation import Observation
from integrity.session.risk.config import RiskConfig
from integrity.session.risk.engine import RiskEngine
from integrity.session.risk.models import RiskState

YES = Observation(value=True)
NO = Observation(value=False)
UNKNOWN = Observation(value=None)
FACES = EventType.MULTIPLE_FACES


def config(half_life_s: float = 1e9, **faces: Any) -> RiskConfig:
    """Every event at +10, no decay to speak of; MULTIPLE_FACES +25, 60 per minute after 10 s."""
    events: dict[str, Any] = {t.value: {"severity": "high", "risk_increase": 10} for t in EventType}
    events[FACES.value] = {
        "severity": "critical",
        "risk_increase": 25,
        "ongoing_risk_per_min": 60,
        "ongoing_after_s": 10,
        **faces,
    }
    return RiskConfig.from_mapping(
        {
            "risk": {"half_life_s": half_life_s, "max_score": 1000, "cheating_threshold": 1000},
            "debounce": {"min_duration_s": 2.0, "max_gap_s": 3.0, "clear_s": 1.0},
            "events": events,
        }
    )


def play(engine: RiskEngine, state: RiskState, frames: list[tuple[float, Observation]]) -> None:
    for ts, observation in frames:
        engine.observe(state, ts, {FACES: observation})


def span(
    start: float, end: float, observation: Observation, step: float = 0.1
) -> list[tuple[float, Observation]]:
    return [(round(start + i * step, 3), observation) for i in range(round((end - start) / step))]


def ongoing(state: RiskState) -> float:
    return sum(e.ongoing_risk for e in state.timeline)


def test_an_episode_adds_its_rate_once_past_ongoing_after_s() -> None:
    engine, state = RiskEngine(config()), RiskState()
    play(engine, state, span(0.0, 20.0, YES))
    (event,) = state.timeline
    assert event.risk_increase == 25
    assert event.ongoing_risk == pytest.approx(9.9, abs=0.01)  # 10.0 .. 19.9 s at 1 per second
    assert event.ongoing_from == pytest.approx(10.0) and event.ongoing_to == pytest.approx(19.9)
    assert state.peak == pytest.approx(34.9, abs=0.01)


def test_a_brief_episode_adds_nothing_more() -> None:
    engine, state = RiskEngine(config()), RiskState()
    play(engine, state, span(0.0, 9.0, YES) + span(9.0, 30.0, NO))
    assert ongoing(state) == 0 and state.peak == pytest.approx(25)


def test_no_ongoing_risk_across_unknown_spans() -> None:
    engine, state = RiskEngine(config()), RiskState()
    play(engine, state, span(0.0, 15.0, YES) + span(15.0, 17.0, UNKNOWN) + span(17.0, 20.0, YES))
    assert ongoing(state) == pytest.approx(4.9 + 2.9, abs=0.01)  # 10..14.9 and 17.0..19.9


def test_no_ongoing_risk_across_spans_without_frames() -> None:
    engine, state = RiskEngine(config()), RiskState()
    play(engine, state, span(0.0, 15.0, YES) + span(16.4, 20.0, YES))  # 1.5 s without frames
    assert len(state.timeline) == 1  # one episode (within max_gap_s)
    assert ongoing(state) == pytest.approx(4.9 + 3.5, abs=0.01)


def test_events_without_a_rate_add_nothing_while_they_go_on() -> None:
    engine, state = RiskEngine(config(ongoing_risk_per_min=0)), RiskState()
    play(engine, state, span(0.0, 60.0, YES))
    assert ongoing(state) == 0 and state.peak == pytest.approx(25)


def test_the_replay_of_a_review_counts_the_ongoing_risk_too() -> None:
    engine, state = RiskEngine(config(half_life_s=120)), RiskState()
    play(engine, state, span(0.0, 120.0, YES))
    replayed = engine.replay(state.timeline)
    assert replayed.peak == pytest.approx(state.peak, abs=0.5)
    assert replayed.timeline[0].ongoing_risk == state.timeline[0].ongoing_risk


def test_shipped_rates() -> None:
    shipped = RiskConfig.load()
    faces, phone = shipped.events[EventType.MULTIPLE_FACES], shipped.events[EventType.PHONE_DETECTED]
    assert (faces.ongoing_risk_per_min, faces.ongoing_after_s) == (30.0, 30.0)
    assert (phone.ongoing_risk_per_min, phone.ongoing_after_s) == (30.0, 30.0)
    assert shipped.events[EventType.PHONE_PARTIAL_DETECTED].ongoing_risk_per_min == 0  # never by itself
    # Static background is learned before it would add ongoing risk.
    for learned in (EventType.MULTIPLE_FACES, EventType.SUSPICIOUS_OBJECT):
        rule = shipped.events[learned]
        assert rule.ongoing_risk_per_min == 0 or rule.ongoing_after_s > shipped.background.learn_s
