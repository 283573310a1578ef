"""Session records over both stores: event ids, the record after the end (or expiry), reviews and
the reviewed verdict, retention."""

from __future__ import annotations

import asyncio
import time

import pytest

from integrity.core.enums import EventType, Verdict
from integrity.core.errors import EventNotFound, SessionNotFound
from integrity.core.results import GazeAnalysis
from integrity.session.manager import SessionManager
from integrity.session.record import RiskSeries
from integrity.session.risk.config import RiskConfig
from integrity.session.store import MemoryStore, SessionStore
from tests.integrity.session.conftest import FakeClock
from tests.integrity.session.test_manager import facts, play

RETENTION_S = 3600.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())  # near the real clock: Redis expires records on its own clock


@pytest.fixture
def manager(store: SessionStore, clock: FakeClock) -> SessionManager:
    return SessionManager(
        store,
        RiskConfig.load(),
        expire_seconds=60,
        clock=clock,
        record_retention_s=RETENTION_S,
        trust_client_time=True,  # the frames' own times drive the risk engine, as in a replay
    )


async def faces_then_nobody(manager: SessionManager) -> str:
    """One face, two faces for 2 s (MULTIPLE_FACES +25), nobody for 3 s (NO_FACE +20): SUSPICIOUS."""
    sid = (await manager.create("cand", {"role": "qa"}, timestamp=0.0)).session_id
    frames = [facts(i * 0.25, 1) for i in range(4)]
    frames += [facts(1 + i * 0.25, 2) for i in range(9)]
    frames += [facts(3.5 + i * 0.25, 0) for i in range(12)]
    raised = await play(manager, sid, frames)
    assert [e for _, e in raised] == [EventType.MULTIPLE_FACES, EventType.NO_FACE]
    return sid


async def test_the_record_outlives_the_session(manager: SessionManager, clock: FakeClock) -> None:
    sid = await faces_then_nobody(manager)
    live = await manager.record(sid)
    assert live.status == "active" and live.kept_until is None
    ended_at = clock.now + 5
    clock.now = ended_at
    outcome = await manager.end(sid)

    record = await manager.record(sid)
    assert record.status == "ended" and record.ended_at == ended_at
    assert record.kept_until == ended_at + RETENTION_S
    assert [(e.id, e.type) for e in record.events] == [
        ("ev0001", EventType.MULTIPLE_FACES),
        ("ev0002", EventType.NO_FACE),
    ]
    assert record.verdict is outcome.verdict is Verdict.SUSPICIOUS
    assert record.peak_risk_score == pytest.approx(outcome.summary.peak_risk_score)
    assert record.event_counts == {"MULTIPLE_FACES": 1, "NO_FACE": 1}
    assert record.metadata == {"role": "qa"} and record.frames_analyzed == 25
    assert set(record.models) == {"face", "gaze", "objects"}  # the frames reported none unavailable
    assert record.reviewed_verdict is None
    assert record.rules.suspicious_threshold == 30
    # the risk over time: zero, a jump to 25 at the first event, another of 20 at the second
    risks = [(p.t, p.risk) for p in record.risk_timeline]
    assert risks[0] == (0.0, 0.0)
    first = record.events[0]
    assert (first.timestamp, 0.0) in risks and (first.timestamp, 25.0) in risks
    assert max(r for _, r in risks) == pytest.approx(record.peak_risk_score, abs=0.01)


async def test_reviews_make_a_reviewed_verdict_beside_the_automatic_one(manager: SessionManager) -> None:
    sid = await faces_then_nobody(manager)
    # a review while the session is open is kept into the record
    await manager.review(sid, "ev0002", "confirmed", None, "key-a")
    await manager.end(sid)
    record = await manager.review(sid, "ev0001", "dismissed", "a photo on the wall", "key-b")
    assert record.verdict is Verdict.SUSPICIOUS  # the automatic verdict never changes
    assert record.reviewed_verdict is Verdict.CLEAN  # NO_FACE alone: peak 20 < 30
    assert record.reviewed_peak_risk_score == pytest.approx(20.0)
    assert "dismissed" in (record.reviewed_verdict_reason or "")

    again = await manager.record(sid)  # persisted
    assert {i: (r.decision, r.note, r.reviewer) for i, r in again.reviews.items()} == {
        "ev0001": ("dismissed", "a photo on the wall", "key-b"),
        "ev0002": ("confirmed", None, "key-a"),
    }
    # a later decision replaces the earlier one
    back = await manager.review(sid, "ev0001", "confirmed", None, "key-a")
    assert back.reviewed_verdict is Verdict.SUSPICIOUS
    with pytest.raises(EventNotFound):
        await manager.review(sid, "ev0099", "dismissed", None, "key-a")
    with pytest.raises(SessionNotFound):
        await manager.review("no-such-session", "ev0001", "dismissed", None, "key-a")


async def test_an_expired_session_leaves_its_record(manager: SessionManager, clock: FakeClock) -> None:
    sid = await faces_then_nobody(manager)
    clock.now += 61
    assert await manager.expire_idle() == [sid]
    record = await manager.record(sid)
    assert record.status == "expired" and len(record.events) == 2


async def test_records_go_after_their_retention(store: SessionStore, clock: FakeClock) -> None:
    manager = SessionManager(
        store,
        RiskConfig.load(),
        expire_seconds=60,
        clock=clock,
        record_retention_s=1.0,
        trust_client_time=True,
    )
    sid = await faces_then_nobody(manager)
    await manager.end(sid)
    assert (await manager.record(sid)).status == "ended"
    if isinstance(store, MemoryStore):
        clock.now += 1.01
        await manager.expire_idle()  # the shard's periodic sweep
        assert not store.holds_records()
    else:
        await asyncio.sleep(1.1)  # Redis expires the key itself
    with pytest.raises(SessionNotFound):
        await manager.record(sid)


def test_the_risk_series_stays_small_and_keeps_its_jumps() -> None:
    series = RiskSeries()
    for i in range(5000):
        t = i * 0.5
        series.add(t, 10.0, jump_from=0.0 if i == 4321 else None)
    assert len(series.points) <= RiskSeries.limit
    assert series.interval_s > 1.0
    jump = [p for p in series.points if p[0] == 4321 * 0.5]
    assert jump == [(2160.5, 0.0), (2160.5, 10.0)]


async def test_end_summary_repeats_the_record(manager: SessionManager, clock: FakeClock) -> None:
    """The end's figures are the kept record's (built once): duration, attention, counts, risk, verdict."""
    sid = (await manager.create("cand", {"role": "qa"}, timestamp=1000.0)).session_id
    gaze = [GazeAnalysis(attention=80.0), GazeAnalysis(attention=55.0)]
    frames = [facts(1000.0 + i * 0.5, 2, gaze=gaze[i % 2]) for i in range(5)]  # attention 80, 55, 80, ...
    frames += [facts(1010.0 + i * 0.5, 0) for i in range(7)]
    await play(manager, sid, frames)
    clock.now += 30.0
    ended = await manager.end(sid)
    summary, record = ended.summary, await manager.record(sid)
    assert record.status == "ended"
    assert ended.duration_seconds == record.duration_seconds == pytest.approx(13.0)
    assert summary.average_attention == record.average_attention == pytest.approx(70.0)
    assert summary.event_counts == record.event_counts == {"MULTIPLE_FACES": 1, "NO_FACE": 1}
    assert ended.total_violations == sum(record.event_counts.values()) == 2
    assert summary.frames_analyzed == record.frames_analyzed == 12
    assert summary.timeline == list(record.events) and len(summary.timeline) == 2
    assert summary.timeline_truncated == record.events_truncated == 0
    assert summary.peak_risk_score == record.peak_risk_score and summary.peak_at == record.peak_at
    assert summary.final_risk_score == record.final_risk_score == round(ended.final_risk_score, 3)
    assert ended.verdict is record.verdict is Verdict.SUSPICIOUS
    assert summary.verdict_reason == record.verdict_reason
    assert summary.verdict_basis is not None and summary.verdict_basis.reason == record.verdict_reason
    assert (summary.started_at, summary.ended_at) == (record.started_at, record.ended_at)
    assert (summary.candidate_id, summary.metadata) == (record.candidate_id, record.metadata)
    assert summary.behaviour == record.behaviour

    # Without frames: the server's time since the start, no attention, no events.
    sid = (await manager.create("idle")).session_id
    clock.now += 4.0
    ended = await manager.end(sid)
    record = await manager.record(sid)
    assert ended.duration_seconds == record.duration_seconds == pytest.approx(4.0)
    assert ended.summary.average_attention is record.average_attention is None
    assert ended.summary.event_counts == record.event_counts == {} and ended.total_violations == 0
