"""SessionManager over both stores: lifecycle, errors, expiry, the per-frame risk update."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from integrity.core.enums import EventType, Verdict
from integrity.core.errors import SessionEnded, SessionExpired, SessionNotFound
from integrity.core.results import ModelStatus, ObjectAnalysis
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
from integrity.session.state import FrameFacts
from integrity.session.store import RedisStore, SessionStore
from tests.conftest import RedisServer
from tests.integrity.session.conftest import FakeClock

NO_OBJECTS = ObjectAnalysis(status=ModelStatus(available=False, detail="no weights"))


def facts(ts: float, faces: int, **extra: Any) -> FrameFacts:
    return FrameFacts(timestamp=ts, faces=faces, objects=NO_OBJECTS, **extra)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def manager(store: SessionStore, clock: FakeClock) -> SessionManager:
    return SessionManager(store, RiskConfig.load(), expire_seconds=60, clock=clock, trust_client_time=True)


async def play(manager: SessionManager, sid: str, frames: list[FrameFacts]) -> list[tuple[float, EventType]]:
    """Plan and record each frame as the ingress does; return (time, event) of every event raised."""
    raised = []
    for frame in frames:
        plan = await manager.plan_frame(sid, frame.timestamp)
        outcome = await manager.record_frame(sid, frame.model_copy(update={"timestamp": plan.timestamp}))
        raised += [(e.timestamp, e.type) for e in outcome.events]
    return raised


async def test_lifecycle_and_errors(manager: SessionManager) -> None:
    state = await manager.create("cand-1", {"role": "backend"})
    assert (await manager.get(state.session_id)).candidate_id == "cand-1"
    with pytest.raises(SessionNotFound):
        await manager.plan_frame("no-such-session", None)

    ended = await manager.end(state.session_id)
    assert ended.verdict is Verdict.CLEAN
    assert ended.summary.metadata == {"role": "backend"}
    for call in (manager.plan_frame(state.session_id, None), manager.end(state.session_id)):
        with pytest.raises(SessionEnded):
            await call


async def test_idle_sessions_expire_and_their_state_is_dropped(
    manager: SessionManager, store: SessionStore, clock: FakeClock
) -> None:
    idle = await manager.create("idle")
    busy = await manager.create("busy")
    clock.now += 40
    await manager.record_frame(busy.session_id, facts(1.0, 1))
    clock.now += 30  # idle: 70 s without activity; busy: 30 s
    assert await manager.expire_idle() == [idle.session_id]
    assert await store.load(idle.session_id) is None
    assert await manager.count() == 1
    with pytest.raises(SessionExpired):
        await manager.plan_frame(idle.session_id, None)
    # A session past the limit is refused even before the sweeper ran.
    clock.now += 61
    with pytest.raises(SessionExpired):
        await manager.get(busy.session_id)
    assert await manager.count() == 0


async def test_plan_gives_stream_time_and_the_candidates_neutral_pose(manager: SessionManager) -> None:
    sid = (await manager.create("c")).session_id
    plan = await manager.plan_frame(sid, 3.0)  # this fixture replays client time (trust_client_time)
    assert plan.timestamp == 3.0 and plan.client_timestamp == 3.0 and plan.received_at == manager.clock()
    assert plan.neutral.source == "default"
    await manager.record_frame(sid, facts(5.0, 1))
    assert (await manager.plan_frame(sid, 4.0)).timestamp == 5.0  # never backwards


async def test_a_recorded_frame_returns_the_next_frames_neutral_and_keeps_the_clock_rules(
    store: SessionStore, clock: FakeClock
) -> None:
    """One session call per frame: record_frame books at the ingress's receipt time (the plan's
    clock rules: the client's stamp within tolerance, anomalies counted) and returns the neutral."""
    manager = SessionManager(store, RiskConfig.load(), expire_seconds=60, clock=clock)
    sid = (await manager.create("c")).session_id
    received = clock.now
    out = await manager.record_frame(sid, facts(0.0, 1, received_at=received, client_timestamp=0.0))
    assert out.timestamp == received and out.neutral is not None and out.neutral.source == "default"
    out = await manager.record_frame(sid, facts(1.2, 1, received_at=received + 1.0, client_timestamp=1.2))
    assert out.timestamp == pytest.approx(received + 1.2)  # the client's stamp, within tolerance
    out = await manager.record_frame(sid, facts(60.0, 1, received_at=received + 2.0, client_timestamp=60.0))
    assert out.timestamp == received + 2.0  # far ahead: the server's time, and counted
    assert out.clock is not None and out.clock.anomalies == {"ahead": 1}
    assert out.neutral == manager.behaviour.neutral((await manager.get(sid)).behaviour)


async def test_multiple_faces_and_no_face_are_debounced(manager: SessionManager) -> None:
    sid = (await manager.create("c")).session_id
    frames = [facts(i * 0.5, 2) for i in range(5)]  # 2 faces for 2 s
    raised = await play(manager, sid, frames)
    assert raised == [(1.5, EventType.MULTIPLE_FACES)]  # MULTIPLE_FACES holds 1.5 s in the shipped table

    raised = await play(manager, sid, [facts(10 + i * 0.5, 0) for i in range(7)])  # no face for 3 s
    assert raised == [(12.0, EventType.NO_FACE)]


async def test_unverified_candidates_never_raise_but_do_not_break_a_run(manager: SessionManager) -> None:
    # The candidate and a dog the face checks did not confirm, for 3 s: nothing is raised.
    sid = (await manager.create("c")).session_id
    raised = await play(manager, sid, [facts(i * 0.5, 1, unverified=1) for i in range(7)])
    assert raised == []
    # Nor NO_FACE when only an unconfirmed candidate is left.
    raised = await play(manager, sid, [facts(10 + i * 0.5, 0, unverified=1) for i in range(7)])
    assert raised == []
    # A second person confirmed on some frames and unconfirmed on others still raises in time.
    sid2 = (await manager.create("d")).session_id
    frames = [facts(i * 0.25, 2) if i % 2 == 0 else facts(i * 0.25, 1, unverified=1) for i in range(9)]
    raised = await play(manager, sid2, frames)
    assert raised == [(1.5, EventType.MULTIPLE_FACES)]


async def test_stream_time_never_runs_backwards(manager: SessionManager) -> None:
    sid = (await manager.create("c")).session_id
    out = await manager.record_frame(sid, facts(100.0, 1))
    assert out.timestamp == 100.0
    out = await manager.record_frame(sid, facts(90.0, 1))  # late frame
    assert out.timestamp == 100.0
    assert (await manager.plan_frame(sid, 50.0)).timestamp == 100.0


async def test_end_summary(manager: SessionManager) -> None:
    sid = (await manager.create("cand", timestamp=1000.0)).session_id
    await play(manager, sid, [facts(1000.0 + i * 0.5, 2) for i in range(5)])
    await play(manager, sid, [facts(1010.0 + i * 0.5, 0) for i in range(7)])
    ended = await manager.end(sid)
    assert ended.total_violations == 2
    assert ended.summary.event_counts == {"MULTIPLE_FACES": 1, "NO_FACE": 1}
    assert ended.duration_seconds == pytest.approx(13.0)
    assert ended.summary.frames_analyzed == 12
    assert ended.summary.peak_risk_score == pytest.approx(ended.summary.timeline[-1].risk_after)
    assert [e.type for e in ended.summary.timeline] == [EventType.MULTIPLE_FACES, EventType.NO_FACE]
    assert ended.summary.models_unavailable == {}  # facts() carries no unavailable models
    assert ended.verdict is Verdict.SUSPICIOUS  # 25 + ~20: suspicious, not cheating


async def test_concurrent_frames_of_one_session_are_all_counted(manager: SessionManager) -> None:
    sid = (await manager.create("c")).session_id
    await asyncio.gather(*(manager.record_frame(sid, facts(float(i), 1)) for i in range(20)))
    assert (await manager.get(sid)).frames == 20


async def test_redis_state_survives_a_new_manager(redis_server: RedisServer, clock: FakeClock) -> None:
    """A restarted session actor (new manager, same Redis) carries on where the old one stopped."""
    config = RiskConfig.load()
    first = SessionManager(RedisStore(redis_server.url, 60), config, 60, clock=clock, trust_client_time=True)
    sid = (await first.create("c")).session_id
    await play(first, sid, [facts(i * 0.5, 2) for i in range(3)])  # 1.0 s of 2 faces: no event yet
    await first.store.close()

    second = SessionManager(RedisStore(redis_server.url, 60), config, 60, clock=clock, trust_client_time=True)
    raised = await play(second, sid, [facts(1.5, 2)])  # the run started under the first manager
    assert raised == [(1.5, EventType.MULTIPLE_FACES)]
    assert (await second.end(sid)).summary.frames_analyzed == 4
    await second.store.close()
