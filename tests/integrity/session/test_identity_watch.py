"""The identity watch's bookkeeping and its risk lane (real descriptors and frames: tests/integration/
test_identity.py and tests/integrity/vision/test_identity.py). Descriptors here are points placed at
chosen distances from each other."""

from __future__ import annotations

import math

import pytest

from integrity.core.enums import EventType
from integrity.core.identity import IdentityRules
from integrity.session.identity_watch import IdentityCheck, IdentityState, book_check
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
from integrity.session.store import MemoryStore
from tests.integrity.session.conftest import FakeClock

RULES = IdentityRules(threshold=0.6, unsure_below=0.45, unsure_above=0.7, enrol_samples=3)


def point(offset: float, axis: int = 0) -> list[float]:
    """A 128-d descriptor ``offset`` away from the origin along ``axis``."""
    vector = [0.0] * 128
    vector[axis] = offset
    return vector


def check(t: float, descriptor: list[float] | None, why: str | None = None) -> IdentityCheck:
    return IdentityCheck(
        timestamp=t, usable=descriptor is not None, why=why, descriptor=descriptor, face_px=120
    )


def test_enrolment_averages_agreeing_checks_and_starts_again_on_a_mix() -> None:
    state = IdentityState()
    for t in (0.0, 0.5):
        reading, observed = book_check(state, check(t, point(0.05 * t)), RULES)
        assert not reading.enrolled and observed == {}
    book_check(state, check(1.0, point(0.9, axis=1)), RULES)  # someone else among the samples
    assert state.enrolled is None and len(state.samples) == 1  # started again from the latest
    for t in (1.5, 2.0):
        book_check(state, check(t, point(0.9, axis=1)), RULES)
    assert state.enrolled is not None and state.enrolled_at == 2.0 and state.samples == []


def test_judged_same_unsure_different_and_unusable() -> None:
    state = IdentityState(enrolled=point(0.0), enrolled_at=1.0)
    cases = [(0.3, False, "same"), (0.6, None, "unsure"), (0.8, True, "different")]
    for i, (gap, value, match) in enumerate(cases):
        reading, observed = book_check(state, check(2.0 + i, point(gap)), RULES)
        seen = observed[EventType.IDENTITY_CHANGED]
        assert reading.match == match and seen.value is value
        assert math.isclose(seen.evidence["distance"], gap, abs_tol=1e-4)
    _, observed = book_check(state, check(9.0, None, why="face 40 px < 60 px"), RULES)
    assert observed[EventType.IDENTITY_CHANGED].value is None
    assert observed[EventType.IDENTITY_CHANGED].unknown_because == "face 40 px < 60 px"
    summary = state.summary(RULES)
    assert (summary.same, summary.unsure, summary.different, summary.unusable) == (1, 1, 1, 1)


def test_the_state_never_shows_a_descriptor() -> None:
    state = IdentityState(samples=[point(0.123456789)], enrolled=point(0.987654321))
    shown = repr(state) + str(state) + state.summary(RULES).model_dump_json()
    assert "0.123456" not in shown and "0.987654" not in shown
    probe = check(1.0, point(0.55555555))
    assert "0.555555" not in repr(probe) + str(probe) + probe.model_dump_json()


@pytest.fixture
def manager() -> SessionManager:
    return SessionManager(
        MemoryStore(), RiskConfig.load(), expire_seconds=3600, clock=FakeClock(), identity=RULES
    )


async def test_two_sure_checks_raise_one_event_that_ends_when_the_candidate_is_back(
    manager: SessionManager,
) -> None:
    sid = (await manager.create("c")).session_id
    for t in (0.0, 0.5, 1.0):
        await manager.record_identity(sid, check(t, point(0.01 * t)))
    first = await manager.record_identity(sid, check(5.0, point(0.9)))
    assert first.events == [] and first.confirm  # sure it is someone else: check again at once
    second = await manager.record_identity(sid, check(5.2, point(0.9)))
    assert [e.type for e in second.events] == [EventType.IDENTITY_CHANGED] and not second.confirm
    assert second.enrol_crop is None or isinstance(second.enrol_crop, bytes)
    more = await manager.record_identity(sid, check(7.0, point(0.9)))
    assert more.events == [] and not more.confirm  # one episode, one event
    for t in (9.0, 11.0, 13.5):  # the enrolled candidate is back (4 s clear)
        await manager.record_identity(sid, check(t, point(0.0)))
    again = [await manager.record_identity(sid, check(t, point(0.9))) for t in (15.0, 15.2)]
    assert [e.type for o in again for e in o.events] == [EventType.IDENTITY_CHANGED]  # a new episode
    ended = await manager.end(sid)
    assert ended.summary.event_counts == {"IDENTITY_CHANGED": 2}
    assert ended.summary.identity is not None and ended.summary.identity.different == 5


async def test_unsure_checks_never_raise_and_the_session_state_stays_out_of_get(
    manager: SessionManager,
) -> None:
    sid = (await manager.create("c")).session_id
    for t in (0.0, 0.5, 1.0):
        await manager.record_identity(sid, check(t, point(0.0)))
    outcomes = [await manager.record_identity(sid, check(2.0 + t, point(0.65))) for t in range(10)]
    assert all(o.events == [] and not o.confirm for o in outcomes)
    state = await manager.get(sid)
    assert state.identity.enrolled is None and state.identity.samples == []  # stays in the store
