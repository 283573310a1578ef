"""The risk engine's lanes (issue 22): object results observed on their own schedule, booked after
later frames at their own frame's time, never confused with the frames' lane."""

from __future__ import annotations

from integrity.core.enums import EventType
from integrity.core.geometry import Box
from integrity.session.object_watch import ObjectWatch
from integrity.session.observation import Observation
from integrity.session.risk.config import Lane, RiskConfig
from integrity.session.risk.engine import RiskEngine
from integrity.session.risk.models import RiskState

PHONE_BOX = Box(x=300, y=300, width=60, height=110)


def phone(seen: bool) -> dict[EventType, Observation]:
    boxes = (PHONE_BOX,) if seen else ()
    return {EventType.PHONE_DETECTED: Observation(value=seen, boxes=boxes)}


def face(count: int) -> dict[EventType, Observation]:
    return {
        EventType.NO_FACE: Observation(value=count == 0),
        EventType.MULTIPLE_FACES: Observation(value=count >= 2),
    }


def test_a_phone_seen_by_results_a_second_apart_raises_at_the_frames_time() -> None:
    engine, state = RiskEngine(RiskConfig.load()), RiskState()
    for ts in (0.0, 0.5, 1.0, 1.5):  # frames booked first ...
        assert engine.observe(state, ts, face(1), (Lane.FRAMES,)) == []
    assert engine.observe(state, 0.0, phone(True), (Lane.OBJECTS,)) == []  # ... object results after
    fired = engine.observe(state, 1.0, phone(True), (Lane.OBJECTS,))
    assert [(e.type, e.timestamp) for e in fired] == [(EventType.PHONE_DETECTED, 1.0)]
    assert fired[0].evidence["frames"] == 2 and fired[0].evidence["held_s"] == 1.0
    assert state.last_frame == 1.5 and state.lane_last == {"objects": 1.0}


def test_results_further_apart_than_the_gap_do_not_make_one_run() -> None:
    engine, state = RiskEngine(RiskConfig.load()), RiskState()
    assert engine.observe(state, 0.0, phone(True), (Lane.OBJECTS,)) == []
    assert engine.observe(state, 3.0, phone(True), (Lane.OBJECTS,)) == []  # max_gap_s 2.5: a new run
    assert len(engine.observe(state, 4.0, phone(True), (Lane.OBJECTS,))) == 1


def test_each_lane_books_its_own_coverage() -> None:
    config = RiskConfig.load()
    engine, state = RiskEngine(config), RiskState()
    for i in range(7):  # frames every 0.5 s for 3 s; object results every 1 s, then none for 3 s
        engine.observe(state, i * 0.5, face(1), (Lane.FRAMES,))
    for ts in (0.0, 1.0, 2.0, 5.0):
        engine.observe(state, ts, phone(False), (Lane.OBJECTS,))
    frames, objects = state.coverage[EventType.NO_FACE], state.coverage[EventType.PHONE_DETECTED]
    assert frames.observed_s == 3.0 and frames.no_frames_s == 0.0
    assert objects.observed_s == 2.0 and objects.no_frames_s == 3.0  # 2 -> 5: longer than objects_fresh_s
    assert config.max_gap(Lane.OBJECTS) == config.risk.objects_fresh_s == 2.0


def test_a_late_event_goes_into_the_timeline_in_stream_time_order() -> None:
    engine, state = RiskEngine(RiskConfig.load()), RiskState()
    for i in range(8):  # no face from 0 to 3.5 s: NO_FACE raised on the frames' lane
        engine.observe(state, i * 0.5, face(0), (Lane.FRAMES,))
    engine.observe(state, 0.0, phone(True), (Lane.OBJECTS,))
    engine.observe(state, 1.0, phone(True), (Lane.OBJECTS,))
    times = [e.timestamp for e in state.timeline]
    assert times == sorted(times) and {e.type for e in state.timeline} == {
        EventType.NO_FACE,
        EventType.PHONE_DETECTED,
    }


def test_object_coverage_is_the_share_of_session_time_a_fresh_result_covers() -> None:
    watch = ObjectWatch()
    for ts in (0.0, 1.0, 2.0, 6.0):  # 0-2 covered, 2-4 covered (fresh 2 s), 4-6 not, 6-7 covered
        assert watch.book(ts, 2.0)
    assert not watch.book(5.0, 2.0)  # older than the latest booked: not booked
    coverage = watch.coverage(0.0, 7.0, 2.0)
    assert coverage.covered_s == 5.0 and coverage.share == round(5 / 7, 4)
    assert coverage.analyses == 4 and coverage.mean_interval_s == 2.0
    assert watch.coverage(0.0, 0.0, 2.0).share is None  # no session time yet
