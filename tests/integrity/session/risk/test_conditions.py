"""Per-frame observations: what a frame can and cannot tell the risk engine."""

from __future__ import annotations

from integrity.core.enums import EventType, ScanMode
from integrity.core.results import Box, DetectedObject, ModelStatus, ObjectAnalysis
from integrity.session.risk.conditions import face_observations, object_observations, remember_faces
from integrity.session.risk.config import FaceScanPolicy
from integrity.session.state import FaceMemory, FrameFacts

POLICY = FaceScanPolicy(deep_interval_s=5, deep_min_interval_s=1, deep_memory_s=6)
NO_MODEL = ObjectAnalysis(status=ModelStatus(available=False, detail="no weights"))


def frame(ts: float, faces: int, scan: ScanMode = ScanMode.FAST, **extra: object) -> FrameFacts:
    return FrameFacts(timestamp=ts, faces=faces, scan=scan, objects=extra.pop("objects", NO_MODEL), **extra)


def values(facts: FrameFacts, memory: FaceMemory) -> tuple[bool | None, bool | None]:
    obs = face_observations(facts, memory, POLICY)
    return obs[EventType.MULTIPLE_FACES].value, obs[EventType.NO_FACE].value


def test_plain_counts() -> None:
    memory = FaceMemory()
    assert values(frame(0, 1), memory) == (False, False)
    assert values(frame(0, 2), memory) == (True, False)
    assert values(frame(0, 0, ScanMode.DEEP), memory) == (False, True)


def test_fast_pass_seeing_fewer_faces_than_a_recent_deep_scan_is_unknown() -> None:
    memory = FaceMemory()
    remember_faces(frame(0, 2, ScanMode.DEEP), memory)
    assert values(frame(1, 1), memory) == (None, False)
    remember_faces(frame(10, 1, ScanMode.DEEP), memory)
    assert values(frame(11, 0), memory) == (False, None)
    # Once the deep scan is older than deep_memory_s, the fast pass is believed.
    assert values(frame(17, 0), memory) == (False, True)


def test_unverified_candidates_make_the_count_uncertain_unless_ruled_out() -> None:
    candidate = Box(x=10, y=10, width=50, height=50)
    memory = FaceMemory()
    assert values(frame(0, 1, doubtful=[candidate]), memory) == (None, False)
    assert values(frame(0, 0, doubtful=[candidate]), memory) == (False, None)
    memory.rejected = [Box(x=12, y=8, width=52, height=54)]  # the last deep scan's MMOD said no
    assert values(frame(0, 1, doubtful=[candidate]), memory) == (False, False)


def test_doubt_lasts_until_a_deep_scan_looked() -> None:
    memory = FaceMemory()
    remember_faces(frame(0, 1, ScanMode.DEEP), memory)
    assert not memory.doubt
    remember_faces(frame(1, 0), memory)  # the face vanished in a fast pass
    assert memory.doubt
    remember_faces(frame(1.2, 0), memory)
    assert memory.doubt  # still unexplained
    remember_faces(frame(2, 0, ScanMode.DEEP), memory)
    assert not memory.doubt and memory.last_deep_count == 0


def test_objects_are_unknown_without_a_model_never_absent() -> None:
    assert object_observations(frame(0, 1)) == {}


def test_objects_with_a_model() -> None:
    phone = DetectedObject(
        label="cell phone",
        confidence=0.8,
        box=Box(x=1, y=2, width=3, height=4),
        event=EventType.PHONE_DETECTED,
    )
    cup = DetectedObject(label="cup", confidence=0.9, box=Box(x=0, y=0, width=5, height=5))
    objects = ObjectAnalysis(status=ModelStatus(available=True), objects=[phone, cup])
    obs = object_observations(frame(0, 1, objects=objects))
    assert obs[EventType.PHONE_DETECTED].value is True
    assert obs[EventType.PHONE_DETECTED].evidence["label"] == "cell phone"
    assert obs[EventType.PHONE_PARTIAL_DETECTED].value is False
    assert obs[EventType.SUSPICIOUS_OBJECT].value is False


def test_more_people_than_faces_cannot_refute_a_second_person() -> None:
    def people(n: int) -> ObjectAnalysis:
        box = Box(x=0, y=0, width=50, height=120)
        return ObjectAnalysis(
            status=ModelStatus(available=True),
            objects=[DetectedObject(label="person", confidence=0.8, box=box) for _ in range(n)],
        )

    memory = FaceMemory()
    assert values(frame(0, 1, objects=people(1)), memory) == (False, False)
    assert values(frame(0, 1, objects=people(2)), memory) == (None, False)  # unknown, never raised
    assert values(frame(0, 2, objects=people(2)), memory) == (True, False)
    obs = face_observations(frame(0, 0, objects=people(1)), memory, POLICY)
    assert obs[EventType.NO_FACE].value is True and obs[EventType.NO_FACE].evidence["persons"] == 1
    # Without the object model there is no person count in the evidence at all.
    assert "persons" not in face_observations(frame(0, 1), memory, POLICY)[EventType.NO_FACE].evidence
