"""Per-frame observations: what a frame can and cannot tell the risk engine."""

from __future__ import annotations

from integrity.core.enums import EventType
from integrity.core.results import Box, DetectedObject, ModelStatus, ObjectAnalysis
from integrity.session.conditions import face_observations, object_observations
from integrity.session.state import FrameFacts

NO_MODEL = ObjectAnalysis(status=ModelStatus(available=False, detail="no weights"))


def frame(ts: float, faces: int, **extra: object) -> FrameFacts:
    return FrameFacts(timestamp=ts, faces=faces, objects=extra.pop("objects", NO_MODEL), **extra)


def values(facts: FrameFacts) -> tuple[bool | None, bool | None]:
    obs = face_observations(facts)
    return obs[EventType.MULTIPLE_FACES].value, obs[EventType.NO_FACE].value


def test_plain_counts() -> None:
    assert values(frame(0, 1)) == (False, False)
    assert values(frame(0, 2)) == (True, False)
    assert values(frame(0, 0)) == (False, True)


def test_unverified_candidates_make_the_count_uncertain_never_positive() -> None:
    """A face-like candidate the checks did not confirm (A11's dog) may not raise anything."""
    assert values(frame(0, 1, unverified=1)) == (None, False)
    assert values(frame(0, 0, unverified=1)) == (False, None)
    assert values(frame(0, 0, unverified=2)) == (None, None)
    assert values(frame(0, 2, unverified=1)) == (True, False)  # two verified faces are two faces
    evidence = face_observations(frame(0, 1, unverified=1))[EventType.MULTIPLE_FACES].evidence
    assert evidence == {"faces": 1, "unverified_candidates": 1, "threshold": 2}


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

    assert values(frame(0, 1, objects=people(1))) == (False, False)
    assert values(frame(0, 1, objects=people(2))) == (None, False)  # unknown, never raised
    assert values(frame(0, 2, objects=people(2))) == (True, False)
    obs = face_observations(frame(0, 0, objects=people(1)))
    assert obs[EventType.NO_FACE].value is True and obs[EventType.NO_FACE].evidence["persons"] == 1
    # Without the object model there is no person count in the evidence at all.
    assert "persons" not in face_observations(frame(0, 1))[EventType.NO_FACE].evidence
