"""Issue 11 scenarios: the real SessionManager and configs/risk_engine.yaml, driven in-process with a fake
server clock (the session's clock) and synthetic per-frame facts. Honest scenarios end CLEAN; cheating
ones SUSPICIOUS or CHEATING, or INCONCLUSIVE where nothing could be seen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest

from integrity.core.enums import EventType, Verdict
from integrity.core.results import Box, DetectedObject, ModelStatus, ObjectAnalysis
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
from integrity.session.state import EndOutcome, FrameFacts
from integrity.session.store import MemoryStore

FPS = 10.0


@dataclass
class FakeClock:
    now: float = 10_000.0

    def __call__(self) -> float:
        return self.now


def objects(*events: EventType) -> ObjectAnalysis:
    labels = {EventType.PHONE_DETECTED: "cell phone", EventType.PHONE_PARTIAL_DETECTED: "cell phone"}
    found = [
        DetectedObject(
            label=labels.get(e, "book"),
            confidence=0.8 if e is EventType.PHONE_DETECTED else 0.2,
            box=Box(x=200, y=300, width=80, height=60),
            partial=e is EventType.PHONE_PARTIAL_DETECTED,
            event=e,
        )
        for e in events
    ]
    return ObjectAnalysis(status=ModelStatus(available=True), objects=found)


Frame = tuple[float, float | None, int, ObjectAnalysis]  # server time offset, client stamp, faces, objects


async def run(frames: Sequence[Frame]) -> EndOutcome:
    clock = FakeClock()
    start = clock.now
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=600, clock=clock)
    sid = (await manager.create("scenario")).session_id
    for server_t, client_ts, faces, seen in frames:
        clock.now = start + server_t
        facts = FrameFacts(
            timestamp=client_ts if client_ts is not None else clock.now, faces=faces, objects=seen
        )
        await manager.record_frame(sid, facts)
    return await manager.end(sid)


def cheating(seconds: float, stamp: Callable[[int, float], float], start: float = 0.0) -> list[Frame]:
    """A phone and two faces, at FPS frames per second of server time, with the client's stamps."""
    seen = objects(EventType.PHONE_DETECTED)
    return [(start + i / FPS, stamp(i, start + i / FPS), 2, seen) for i in range(round(seconds * FPS))]


def honest(seconds: float, start: float = 0.0, faces: int = 1) -> list[Frame]:
    return [(start + i / FPS, start + i / FPS, faces, objects()) for i in range(round(seconds * FPS))]


def counts(outcome: EndOutcome, event: EventType) -> int:
    return outcome.summary.event_counts.get(str(event), 0)


CAUGHT = {Verdict.SUSPICIOUS, Verdict.CHEATING}


@pytest.mark.parametrize(
    "stamp",
    [
        pytest.param(lambda i, t: 1000.0, id="timestamps constant"),
        pytest.param(lambda i, t: 1000.0 - i / FPS, id="timestamps backwards"),
        pytest.param(lambda i, t: 3.0 * i, id="timestamps 3 s apart"),
    ],
)
async def test_client_timestamps_do_not_rule_time(stamp: Callable[[int, float], float]) -> None:
    outcome = await run(cheating(120.0, stamp))
    assert outcome.verdict in CAUGHT
    assert counts(outcome, EventType.MULTIPLE_FACES) == 1 and counts(outcome, EventType.PHONE_DETECTED) == 1
    clock = outcome.summary.clock
    assert clock is not None and sum(clock.anomalies.values()) > 0


async def test_timestamps_reset_on_reload() -> None:
    frames = honest(10.0) + cheating(55.0, lambda i, t: i / FPS, start=10.0)  # performance.now() restarts
    outcome = await run(frames)
    assert outcome.verdict in CAUGHT
    assert outcome.summary.clock is not None and outcome.summary.clock.anomalies.get("reset") == 1


async def test_steps_away_92_s() -> None:
    away = [(f[0], f[1], 0, f[3]) for f in honest(92.0, start=20.0)]
    outcome = await run(honest(20.0) + away + honest(20.0, start=112.0))
    assert counts(outcome, EventType.NO_FACE) == 1
    assert outcome.summary.timeline[0].duration_s == pytest.approx(92.0, abs=0.5)
    assert outcome.verdict is Verdict.CLEAN


async def test_photo_on_the_wall() -> None:
    outcome = await run(honest(61.5, faces=2))  # a framed photo with a face, behind the candidate
    assert counts(outcome, EventType.MULTIPLE_FACES) == 1  # one episode, not one per cooldown
    assert outcome.verdict is Verdict.CLEAN


async def test_phone_flicker() -> None:
    flicker = [EventType.PHONE_DETECTED, EventType.PHONE_PARTIAL_DETECTED]
    frames = [(i / FPS, i / FPS, 1, objects(flicker[i % 2])) for i in range(round(10 * FPS))]
    outcome = await run(frames)
    total = counts(outcome, EventType.PHONE_DETECTED) + counts(outcome, EventType.PHONE_PARTIAL_DETECTED)
    assert total == 1  # one object, one episode
    assert outcome.summary.peak_risk_score <= 30.0


async def test_one_frame_every_3_s() -> None:
    seen = objects(EventType.PHONE_DETECTED)
    outcome = await run([(3.0 * i, 3.0 * i, 2, seen) for i in range(100)])
    assert outcome.verdict in CAUGHT | {Verdict.INCONCLUSIVE}
    assert outcome.summary.coverage[str(EventType.NO_FACE)].no_frames_s >= 290


async def test_summary_carries_the_verdict_basis_and_coverage() -> None:
    outcome = await run(honest(30.0))
    basis = outcome.summary.verdict_basis
    assert basis is not None and basis.verdict is Verdict.CLEAN and basis.basis == "peak"
    assert basis.cheating_threshold == 60 and basis.counted_events == []
    assert outcome.summary.coverage[str(EventType.NO_FACE)].observed_s == pytest.approx(29.9, abs=0.2)
