"""Static background: a photo on the wall or a bookshelf is learned and then not counted while unchanged;
live heads, phones and the candidate's own face never are."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from integrity.core.enums import EventType, FaceDetector
from integrity.core.results import (
    Box,
    DetectedFace,
    DetectedObject,
    FaceAnalysis,
    ModelStatus,
    ObjectAnalysis,
)
from integrity.session.background import (
    BackgroundConfig,
    BackgroundLearner,
    BackgroundState,
    Suppressed,
    iou,
)
from integrity.session.conditions import frame_observations, learn_background
from integrity.session.observation import Observation
from integrity.session.risk.config import RiskConfig
from integrity.session.state import FrameFacts, SessionState

FPS = 10.0
CONFIG = BackgroundConfig()  # the defaults are the shipped numbers (checked below)
PHOTO = Box(x=40, y=60, width=70, height=85)
CANDIDATE = Box(x=260, y=120, width=160, height=190)


def jitter(i: int) -> int:
    return i * 7 % 3 - 1  # -1, 0, 1: a detector's jitter on a still box


def still(box: Box, i: int) -> Box:
    return Box(
        x=box.x + jitter(i), y=box.y + jitter(i + 1), width=box.width + jitter(i + 2), height=box.height
    )


def sway(box: Box, i: int, px: float) -> Box:
    t = i / FPS
    return Box(
        x=box.x + round(px * math.sin(2 * math.pi * t / 6.0)), y=box.y, width=box.width, height=box.height
    )


def book(box: Box) -> DetectedObject:
    return DetectedObject(label="book", confidence=0.6, box=box, event=EventType.SUSPICIOUS_OBJECT)


def phone(box: Box) -> DetectedObject:
    return DetectedObject(label="cell phone", confidence=0.8, box=box, event=EventType.PHONE_DETECTED)


def play(
    learner: BackgroundLearner,
    state: BackgroundState,
    seconds: float,
    faces: Callable[[int], list[Box] | None],
    start: float = 0.0,
) -> list[Suppressed]:
    """Feed ``faces(i)`` (a list of extra-face boxes, or None) at FPS; the per-frame suppressions."""
    out = []
    for i in range(round(seconds * FPS)):
        n = round(start * FPS) + i
        out.append(learner.update(state, n / FPS, faces(n), None))
    return out


def test_shipped_config_is_the_default() -> None:
    assert RiskConfig.load().background == CONFIG


def test_iou() -> None:
    a = Box(x=0, y=0, width=10, height=10)
    assert iou(a, a) == 1.0
    assert iou(a, Box(x=5, y=0, width=10, height=10)) == pytest.approx(50 / 150)
    assert iou(a, Box(x=10, y=0, width=10, height=10)) == 0.0


def test_unchanged_tolerates_jitter_not_motion() -> None:
    learner = BackgroundLearner(CONFIG)
    assert all(learner.unchanged(PHOTO, still(PHOTO, i)) for i in range(10))
    side = (PHOTO.width + PHOTO.height) / 2  # 77.5 px: 5 % is ~3.9 px
    moved = Box(x=PHOTO.x + math.ceil(0.05 * side) + 1, y=PHOTO.y, width=PHOTO.width, height=PHOTO.height)
    assert not learner.unchanged(PHOTO, moved)
    grown = Box(x=PHOTO.x, y=PHOTO.y, width=PHOTO.width + 7, height=PHOTO.height)  # 10 % wider
    assert not learner.unchanged(PHOTO, grown)
    tiny = Box(x=0, y=0, width=20, height=20)  # 5 % of 20 px is 1 px: jitter_px (3) is the floor
    assert learner.unchanged(tiny, Box(x=1, y=0, width=22, height=20))  # centre 2 px, width 2 px
    assert not learner.unchanged(tiny, Box(x=4, y=0, width=20, height=20))


def test_a_photo_is_learned_after_learn_s_and_then_suppressed() -> None:
    learner, state = BackgroundLearner(CONFIG), BackgroundState()
    seen = play(learner, state, 30.0, lambda i: [still(PHOTO, i)])
    first = next(i for i, s in enumerate(seen) if s.faces)
    assert first / FPS == pytest.approx(CONFIG.learn_s, abs=0.15)
    assert all(s.faces for s in seen[first:])
    hit = seen[-1].faces[0]
    assert hit.kind == "face" and hit.seen_since == 0.0 and hit.static_since == pytest.approx(20.0)
    assert len(state.tracks) == 1


def test_a_live_head_is_never_learned() -> None:
    learner, state = BackgroundLearner(CONFIG), BackgroundState()
    seen = play(learner, state, 120.0, lambda i: [sway(PHOTO, i, 8.0)])
    assert not any(s.faces for s in seen)
    assert state.tracks[0].moves > 0


def test_detector_outliers_neither_stop_the_learning_nor_are_suppressed() -> None:
    """A frame now and then boxed off by a few pixels (noise, exposure) is not a move: the photo is
    still learned, stays learned, and that frame is the photo too."""
    learner, state = BackgroundLearner(CONFIG), BackgroundState()
    off = Box(x=PHOTO.x + 6, y=PHOTO.y - 3, width=PHOTO.width, height=PHOTO.height)

    def noisy(i: int) -> list[Box]:
        return [off if i % 37 == 5 else still(PHOTO, i)]

    seen = play(learner, state, 60.0, noisy)
    assert state.tracks[0].moves == 0 and state.tracks[0].static_since == pytest.approx(20.0)
    assert all(s.faces for s in seen[round(20.0 * FPS) :])


def test_rarely_seen_is_not_learned() -> None:
    """Seen in fewer than min_presence of the frames: not learned (a box that comes and goes)."""
    learner, state = BackgroundLearner(CONFIG), BackgroundState()
    seen = play(learner, state, 60.0, lambda i: [PHOTO] if i % 2 == 0 else [])
    assert not any(s.faces for s in seen)
    state = BackgroundState()
    seen = play(learner, state, 60.0, lambda i: [PHOTO] if i % 4 else [])  # 75 %: learned
    assert any(s.faces for s in seen)


def test_a_moved_photo_counts_until_learned_again() -> None:
    learner, state = BackgroundLearner(CONFIG), BackgroundState()
    play(learner, state, 30.0, lambda i: [still(PHOTO, i)])
    assert state.tracks[0].static_since is not None
    shifted = Box(x=PHOTO.x + 10, y=PHOTO.y, width=PHOTO.width, height=PHOTO.height)  # IoU ~0.75: same track
    seen = play(learner, state, 30.0, lambda i: [still(shifted, i)], start=30.0)
    assert seen[0].faces  # one frame off its place: could be an outlier
    assert not any(s.faces for s in seen[5:100])  # off for move_s (0.5 s): moved, counts again
    first = next(i for i, s in enumerate(seen) if i >= 5 and s.faces)
    assert first / FPS == pytest.approx(CONFIG.move_s + CONFIG.learn_s, abs=0.15)  # learned again there
    assert len(state.tracks) == 1 and state.tracks[0].moves == 1


def test_a_static_photo_hidden_for_a_while_is_still_known() -> None:
    learner, state = BackgroundLearner(CONFIG), BackgroundState()
    play(learner, state, 30.0, lambda i: [still(PHOTO, i)])
    play(learner, state, 60.0, lambda i: [], start=30.0)  # the candidate leans in front of it
    assert learner.update(state, 90.0, [PHOTO], None).faces
    play(learner, state, CONFIG.forget_s + 1, lambda i: [], start=90.1)  # taken down: forgotten
    assert not state.tracks


def test_a_learning_track_unseen_for_max_miss_s_is_dropped() -> None:
    learner, state = BackgroundLearner(CONFIG), BackgroundState()
    play(learner, state, 10.0, lambda i: [PHOTO])
    play(learner, state, CONFIG.max_miss_s + 0.5, lambda i: [], start=10.0)
    assert not state.tracks


def test_unplaced_faces_are_never_learned() -> None:
    learner, state = BackgroundLearner(CONFIG), BackgroundState()
    seen = play(learner, state, 60.0, lambda i: None)
    assert not any(s.faces for s in seen) and not state.tracks


def test_books_are_learned_phones_never() -> None:
    learner, state = BackgroundLearner(CONFIG), BackgroundState()
    shelf = Box(x=500, y=20, width=30, height=80)
    desk = Box(x=200, y=300, width=80, height=60)
    last = Suppressed()
    for i in range(round(40 * FPS)):
        last = learner.update(state, i / FPS, [], [phone(still(desk, i)), book(still(shelf, i))])
    assert list(last.objects) == [1]  # the book, by its index; the phone still counts
    assert all(t.label == "book" for t in state.tracks)


def test_tracks_are_bounded_learning_ones_evicted_first() -> None:
    config = BackgroundConfig(max_tracks=4)
    learner, state = BackgroundLearner(config), BackgroundState()
    play(learner, state, 30.0, lambda i: [still(PHOTO, i)])  # one static track
    for i in range(20):  # a flood of new boxes, each somewhere else
        learner.update(
            state, 30.0 + i / FPS, [Box(x=300 + 40 * (i % 8), y=20 * i, width=30, height=30)], None
        )
        assert len(state.tracks) <= 4
    assert any(t.static_since is not None for t in state.tracks)  # the photo is kept


def test_state_round_trips_mid_learning() -> None:
    learner, state = BackgroundLearner(CONFIG), BackgroundState()
    play(learner, state, 15.0, lambda i: [still(PHOTO, i)])
    state = BackgroundState.model_validate_json(state.model_dump_json())
    seen = play(learner, state, 10.0, lambda i: [still(PHOTO, i)], start=15.0)
    assert seen[-1].faces


def test_disabled_learns_nothing() -> None:
    learner, state = BackgroundLearner(BackgroundConfig(enabled=False)), BackgroundState()
    seen = play(learner, state, 30.0, lambda i: [PHOTO])
    assert not any(s.faces for s in seen) and not state.tracks


# -- the frame's facts and observations -----------------------------------------------------------


def face(box: Box) -> DetectedFace:
    return DetectedFace(box=box, score=0.9, detector=FaceDetector.BLAZEFACE_FULL_RANGE)


def analysis(*boxes: Box, primary: int | None = 0, unverified: list[Box] | None = None) -> FaceAnalysis:
    return FaceAnalysis(
        image_width=640,
        image_height=480,
        detector=FaceDetector.BLAZEFACE_FULL_RANGE,
        faces=[face(b) for b in boxes],
        primary=primary,
        unverified=unverified or [],
    )


def objects(*found: DetectedObject) -> ObjectAnalysis:
    return ObjectAnalysis(status=ModelStatus(available=True), objects=list(found))


def test_facts_carry_the_face_boxes_and_the_extra_faces() -> None:
    facts = FrameFacts.of(0.0, analysis(PHOTO, CANDIDATE, primary=1), None, objects())
    assert facts.face_boxes == [PHOTO, CANDIDATE] and facts.primary_face == 1
    assert facts.extra_face_boxes() == [PHOTO]  # never the candidate's (primary) face
    no_primary = FrameFacts.of(0.0, analysis(PHOTO, CANDIDATE, primary=None), None, objects())
    assert no_primary.extra_face_boxes() == [PHOTO]  # the largest is the candidate's
    old = FrameFacts(timestamp=0.0, faces=2, objects=objects())  # a count only: not placed
    assert old.extra_face_boxes() is None
    assert FrameFacts(timestamp=0.0, faces=0, objects=objects()).extra_face_boxes() == []


def learned_session(seconds: float = 25.0) -> tuple[BackgroundLearner, SessionState]:
    learner = BackgroundLearner(CONFIG)
    state = SessionState(session_id="s", candidate_id="c", created_at=0.0, last_activity=0.0)
    for i in range(round(seconds * FPS)):
        facts = FrameFacts.of(i / FPS, analysis(CANDIDATE, still(PHOTO, i)), None, objects())
        learn_background(learner, state.background, facts, i / FPS)
    return learner, state


def test_a_learned_photo_is_not_a_second_face_and_the_evidence_says_so() -> None:
    learner, state = learned_session()
    facts = FrameFacts.of(25.0, analysis(CANDIDATE, PHOTO), None, objects())
    static = learn_background(learner, state.background, facts, 25.0)
    obs = frame_observations(facts, static)
    multiple = obs[EventType.MULTIPLE_FACES]
    assert multiple.value is False
    assert multiple.evidence["faces"] == 1 and multiple.evidence["faces_detected"] == 2
    (hit,) = multiple.evidence["static_background"]
    assert hit["kind"] == "face" and hit["box"] == PHOTO.model_dump() and hit["static_since"] == 20.0
    assert obs[EventType.NO_FACE].value is False  # the candidate is never suppressed
    # A second person who walks in elsewhere still counts.
    facts = FrameFacts.of(
        25.1, analysis(CANDIDATE, PHOTO, Box(x=480, y=90, width=110, height=130)), None, objects()
    )
    obs = frame_observations(facts, learn_background(learner, state.background, facts, 25.1))
    assert obs[EventType.MULTIPLE_FACES].value is True
    assert obs[EventType.MULTIPLE_FACES].evidence["faces"] == 2


def test_the_photos_person_box_is_not_a_second_person() -> None:
    learner, state = learned_session()
    around = DetectedObject(label="person", confidence=0.7, box=Box(x=30, y=50, width=90, height=200))
    me = DetectedObject(label="person", confidence=0.9, box=Box(x=230, y=100, width=220, height=380))
    facts = FrameFacts.of(25.0, analysis(CANDIDATE, PHOTO), None, objects(around, me))
    obs = frame_observations(facts, learn_background(learner, state.background, facts, 25.0))
    assert obs[EventType.MULTIPLE_FACES].value is False  # not "unknown" because of the photo's person
    assert obs[EventType.MULTIPLE_FACES].evidence["persons"] == 1


def test_a_photo_that_flickers_between_verified_and_unverified_is_one_track() -> None:
    learner = BackgroundLearner(CONFIG)
    state = BackgroundState()
    facts = FrameFacts.of(0.0, analysis(CANDIDATE), None, objects())
    for i in range(round(25 * FPS) + 1):  # ends on an unverified frame
        if i % 2:
            face_analysis = analysis(CANDIDATE, still(PHOTO, i))
        else:
            face_analysis = analysis(CANDIDATE, unverified=[still(PHOTO, i)])
        facts = FrameFacts.of(i / FPS, face_analysis, None, objects())
        static = learn_background(learner, state, facts, i / FPS)
    obs = frame_observations(facts, static)
    assert facts.unverified == 1 and obs[EventType.MULTIPLE_FACES].value is False  # not unknown
    assert obs[EventType.MULTIPLE_FACES].evidence["unverified_candidates"] == 0
    assert len(state.tracks) == 1


def test_a_learned_book_is_not_a_suspicious_object() -> None:
    learner = BackgroundLearner(CONFIG)
    state = BackgroundState()
    shelf = Box(x=500, y=20, width=30, height=80)
    obs: dict[EventType, Observation] = {}
    for i in range(round(25 * FPS)):
        facts = FrameFacts.of(i / FPS, analysis(CANDIDATE), None, objects(book(still(shelf, i))))
        obs = frame_observations(facts, learn_background(learner, state, facts, i / FPS))
    suspicious = obs[EventType.SUSPICIOUS_OBJECT]
    assert suspicious.value is False and suspicious.evidence["objects"] == 0
    assert suspicious.evidence["static_background"][0]["label"] == "book"
    # A laptop put on the desk now is new: it counts.
    laptop = DetectedObject(
        label="laptop",
        confidence=0.7,
        box=Box(x=100, y=350, width=200, height=120),
        event=EventType.SUSPICIOUS_OBJECT,
    )
    facts = FrameFacts.of(25.0, analysis(CANDIDATE), None, objects(book(shelf), laptop))
    obs = frame_observations(facts, learn_background(learner, state, facts, 25.0))
    assert (
        obs[EventType.SUSPICIOUS_OBJECT].value is True
        and obs[EventType.SUSPICIOUS_OBJECT].evidence["label"] == "laptop"
    )
