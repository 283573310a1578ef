"""Issue 11 scenarios: the real SessionManager and configs/risk_engine.yaml, driven in-process with a fake
server clock (the session's clock) and synthetic per-frame facts. Honest scenarios end CLEAN; cheating
ones SUSPICIOUS or CHEATING, or INCONCLUSIVE where nothing could be seen."""

from __future__ import annotations

import math
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
    # Only sure objects carry an event (configs/objects.yaml); a partial phone is a sure one cut by
    # the frame's edge.
    found = [
        DetectedObject(
            label=labels.get(e, "book"),
            confidence=0.8,
            box=Box(x=0 if e is EventType.PHONE_PARTIAL_DETECTED else 200, y=300, width=80, height=60),
            partial=e is EventType.PHONE_PARTIAL_DETECTED,
            event=e,
        )
        for e in events
    ]
    return ObjectAnalysis(status=ModelStatus(available=True), objects=found)


Frame = tuple[float, float | None, int, ObjectAnalysis]  # server time offset, client stamp, faces, objects


async def run(frames: Sequence[Frame], boxes: Sequence[list[Box]] | None = None) -> EndOutcome:
    """Play the frames; ``boxes``: per frame, the faces' boxes (the candidate's first, the primary)."""
    clock = FakeClock()
    start = clock.now
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=600, clock=clock)
    sid = (await manager.create("scenario")).session_id
    for i, (server_t, client_ts, faces, seen) in enumerate(frames):
        clock.now = start + server_t
        placed = boxes[i] if boxes is not None else []
        facts = FrameFacts(
            timestamp=client_ts if client_ts is not None else clock.now,
            faces=faces,
            objects=seen,
            face_boxes=placed,
            primary_face=0 if placed else None,
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


# -- static background and ongoing risk ------------------------------------------------------------


def jitter(i: int, px: int = 1) -> int:
    """A detector's jitter on a still box: -px..px, deterministic."""
    return (i * 7 % 3 - 1) * px


def candidate(i: int) -> Box:
    """The candidate's face: close to the camera, moving a little as people do."""
    t = i / FPS
    return Box(
        x=260 + round(8 * math.sin(t / 2.3)), y=120 + round(4 * math.sin(t / 1.7)), width=160, height=190
    )


def still(box: Box, i: int) -> Box:
    """``box`` as a detector boxes a still thing: a pixel of jitter either way."""
    return Box(
        x=box.x + jitter(i), y=box.y + jitter(i + 1), width=box.width + jitter(i + 2), height=box.height
    )


def live(box: Box, i: int, sway: float) -> Box:
    """``box`` on a live head: swaying by up to ``sway`` px sideways (a third of it up and down)."""
    t = i / FPS
    return Box(
        x=box.x + round(sway * math.sin(2 * math.pi * t / 6.0)) + jitter(i),
        y=box.y + round(sway / 3 * math.sin(2 * math.pi * t / 4.0)),
        width=box.width + jitter(i + 2),
        height=box.height,
    )


PHOTO = Box(x=40, y=60, width=70, height=85)
SECOND = Box(x=470, y=100, width=110, height=130)


def scene(
    seconds: float, extra: Callable[[int], list[Box]], start: float = 0.0
) -> tuple[list[Frame], list[list[Box]]]:
    """The candidate plus ``extra(i)`` faces, frame by frame, placed (boxes given)."""
    n = round(seconds * FPS)
    first = round(start * FPS)
    boxes = [[candidate(first + i), *extra(first + i)] for i in range(n)]
    frames: list[Frame] = [(start + i / FPS, start + i / FPS, len(b), objects()) for i, b in enumerate(boxes)]
    return frames, boxes


def books(i: int) -> ObjectAnalysis:
    shelf = [Box(x=20 + 30 * k, y=20, width=25, height=70) for k in range(4)] + [
        Box(x=520, y=30, width=90, height=40)
    ]
    found = [
        DetectedObject(label="book", confidence=0.6, box=still(b, i + k), event=EventType.SUSPICIOUS_OBJECT)
        for k, b in enumerate(shelf)
    ]
    return ObjectAnalysis(status=ModelStatus(available=True), objects=found)


def ongoing(outcome: EndOutcome, event: EventType) -> float:
    return sum(e.ongoing_risk for e in outcome.summary.timeline if e.type is event)


def noisy_photo(i: int) -> list[Box]:
    """A photo as a real detector sees it: missed now and then, and a frame off by a few px."""
    if i % 10 == 3:
        return []
    if i % 41 == 7:
        return [Box(x=PHOTO.x + 5, y=PHOTO.y - 3, width=PHOTO.width + 4, height=PHOTO.height)]
    return [still(PHOTO, i)]


@pytest.mark.parametrize(
    "photo",
    [pytest.param(lambda i: [still(PHOTO, i)], id="jitter 1 px"), pytest.param(noisy_photo, id="noisy")],
)
async def test_photo_on_the_wall(photo: Callable[[int], list[Box]]) -> None:
    """A framed photo with a face behind the candidate, 5 min: learned in 20 s, then not counted."""
    frames, boxes = scene(300.0, photo)
    outcome = await run(frames, boxes)
    assert counts(outcome, EventType.MULTIPLE_FACES) <= 1  # at most the learning span's episode
    assert ongoing(outcome, EventType.MULTIPLE_FACES) == 0
    assert all(e.duration_s <= 25 for e in outcome.summary.timeline)
    assert outcome.verdict is Verdict.CLEAN
    (photo_track,) = outcome.summary.static_background
    assert photo_track.kind == "face" and photo_track.static_since == FakeClock().now + 20.0
    # The learning span's event keeps its risk but can never back an accusation.
    for event in outcome.summary.timeline:
        assert event.evidence.get("became_static_background") is True
    basis = outcome.summary.verdict_basis
    assert basis is not None and basis.corroboration is None


async def test_bookshelf() -> None:
    frames = [(i / FPS, i / FPS, 1, books(i)) for i in range(round(300 * FPS))]
    outcome = await run(frames, [[candidate(i)] for i in range(len(frames))])
    assert counts(outcome, EventType.SUSPICIOUS_OBJECT) == 0  # in view from the start: the room
    assert outcome.verdict is Verdict.CLEAN
    assert [t.label for t in outcome.summary.static_background] == ["book"] * 5
    assert all(t.room for t in outcome.summary.static_background)


@pytest.mark.parametrize("sway", [8.0, 30.0], ids=["sways 8 px", "sways 30 px"])
async def test_second_person_5_min(sway: float) -> None:
    """A real second person sitting in: one episode, but it keeps adding risk (ongoing_risk_per_min)."""
    frames, boxes = scene(300.0, lambda i: [live(SECOND, i, sway)])
    outcome = await run(frames, boxes)
    assert counts(outcome, EventType.MULTIPLE_FACES) == 1
    assert ongoing(outcome, EventType.MULTIPLE_FACES) > 0
    assert outcome.verdict is Verdict.CHEATING
    assert outcome.summary.static_background == []  # a live head is never learned


async def test_second_face_unplaced_5_min() -> None:
    """Faces given as a count only cannot be placed, so never learned as background: it counts."""
    outcome = await run(honest(300.0, faces=2))
    assert counts(outcome, EventType.MULTIPLE_FACES) == 1
    assert outcome.verdict is Verdict.CHEATING


async def test_person_leans_in_10_s() -> None:
    alone = scene(60.0, lambda i: [])
    leaning = scene(10.0, lambda i: [live(SECOND, i, 20.0)], start=60.0)
    after = scene(60.0, lambda i: [], start=70.0)
    outcome = await run(alone[0] + leaning[0] + after[0], alone[1] + leaning[1] + after[1])
    assert counts(outcome, EventType.MULTIPLE_FACES) == 1
    assert ongoing(outcome, EventType.MULTIPLE_FACES) == 0
    assert outcome.summary.peak_risk_score <= 30.0
    assert outcome.verdict is not Verdict.CHEATING


async def test_phone_held_for_minutes() -> None:
    seen = objects(EventType.PHONE_DETECTED)
    outcome = await run([(i / FPS, i / FPS, 1, seen) for i in range(round(240 * FPS))])
    assert counts(outcome, EventType.PHONE_DETECTED) == 1
    assert outcome.verdict is Verdict.CHEATING


async def test_moved_photo_is_learned_again() -> None:
    """A photo learned at one place, then moved (5 s) and hung elsewhere: it counts while it moves
    and until it is learned again at the new place, then not any more."""
    moved = Box(x=PHOTO.x + 300, y=PHOTO.y + 20, width=PHOTO.width, height=PHOTO.height)

    def carried(i: int) -> list[Box]:
        share = min(1.0, (i / FPS - 60.0) / 5.0)
        at = Box(
            x=PHOTO.x + round(300 * share),
            y=PHOTO.y + round(20 * share),
            width=PHOTO.width,
            height=PHOTO.height,
        )
        return [still(at, i)]

    hung = scene(60.0, lambda i: [still(PHOTO, i)])
    moving = scene(5.0, carried, start=60.0)
    rehung = scene(120.0, lambda i: [still(moved, i)], start=65.0)
    outcome = await run(hung[0] + moving[0] + rehung[0], hung[1] + moving[1] + rehung[1])
    events = [e for e in outcome.summary.timeline if e.type is EventType.MULTIPLE_FACES]
    assert len(events) == 2  # learned, then counted again once moved
    assert 61.5 <= events[1].timestamp - FakeClock().now <= 62.5  # after move_s (0.5 s) + 1.5 s
    assert events[1].duration_s <= 5.0 + 20.0 + 1.0  # the move, then relearning at the new place
    assert ongoing(outcome, EventType.MULTIPLE_FACES) == 0
    assert outcome.verdict is not Verdict.CHEATING
