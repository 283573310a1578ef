"""From one frame's facts to per-condition observations (True / False / None = unknown).

This is where "honest about what it knows" is decided: a condition the frame cannot judge (the
object model is missing, face-like candidates the face stage could not confirm) is observed as
unknown, which neither raises nor clears an event.

Static background (integrity/session/background.py: a photo on the wall, a bookshelf), once learned,
and the room (objects in view since the session's first seconds) are taken out of the counts before
the conditions are judged, unless the candidate's gaze goes to them; so are sure objects of a weak
class (a "tv" box) the candidate does not look at. The evidence lists what was, and why.
"""

from __future__ import annotations

from collections.abc import Sequence

from integrity.core.enums import OBJECT_EVENTS, PERSON_LABEL, EventType, GazeDirection
from integrity.core.results import Box, GazeAnalysis, ObjectAnalysis
from integrity.session.background import BackgroundLearner, BackgroundState, Looking, Suppressed
from integrity.session.observation import Observation
from integrity.session.state import FrameFacts


def persons_seen(facts: FrameFacts, background: Sequence[Box] = ()) -> int | None:
    """People the object model counted (None when it did not look), less one person box around each
    face in ``background`` (a photo's person is the photo's face, learned as static background).
    A frame booked without its own object analysis counts the latest fresh result's persons."""
    persons = person_boxes(facts)
    if persons is None:
        return None
    for face in background:
        around = next((p for p in persons if face.overlap(p) >= 0.5), None)
        if around is not None:
            persons.remove(around)
    return len(persons)


def person_boxes(facts: FrameFacts) -> list[Box] | None:
    """The person boxes the frame is judged with: its own object analysis's, else the carried ones."""
    if facts.objects is None:
        return None if facts.persons is None else list(facts.persons)
    if not facts.objects.status.available:
        return None
    return [o.box for o in facts.objects.objects if o.label == PERSON_LABEL]


def frame_objects(facts: FrameFacts) -> ObjectAnalysis | None:
    """The frame's own object analysis when the model looked (None: not analysed, or unavailable)."""
    if facts.objects is None or not facts.objects.status.available:
        return None
    return facts.objects


def looking(facts: FrameFacts) -> Looking | None:
    """Where the candidate looks: the gaze's direction from the candidate's face box; None when the
    frame cannot say (no placed face, no gaze, a gaze without a direction, or one judged before the
    candidate's neutral existed: a direction against generic defaults is a guess, not evidence)."""
    gaze = facts.gaze
    if gaze is None or not gaze.available or gaze.direction is GazeDirection.UNKNOWN:
        return None
    if gaze.neutral is None or gaze.neutral.source not in ("calibrated", "refined"):
        return None
    if not facts.face_boxes or len(facts.face_boxes) != facts.faces:
        return None
    primary = facts.primary_face
    if primary is None or not 0 <= primary < len(facts.face_boxes):
        primary = max(
            range(len(facts.face_boxes)), key=lambda i: facts.face_boxes[i].width * facts.face_boxes[i].height
        )
    return Looking(direction=gaze.direction, face=facts.face_boxes[primary])


def learn_background(
    learner: BackgroundLearner, state: BackgroundState, facts: FrameFacts, ts: float
) -> Suppressed:
    """Feed one frame's extra faces and objects to the background learner; what it suppresses."""
    analysis = frame_objects(facts)
    objects = analysis.objects if analysis is not None else None
    return learner.update(
        state, ts, facts.extra_face_boxes(), objects, facts.candidate_boxes(), looking(facts)
    )


def face_observations(facts: FrameFacts, static: Suppressed | None = None) -> dict[EventType, Observation]:
    """MULTIPLE_FACES and NO_FACE for this frame.

    Only verified faces count. Unverified candidates (face-like, but not confirmed by enough checks:
    a pet, a printed face, or a real face at an angle the checks cannot read) may be faces: they make
    a condition unknown, never true, so a dog beside the candidate raises nothing and a face that is
    hard to confirm for a few frames neither starts nor breaks a run. The object model's person count
    is a second signal: more people than faces (a second person turned away or half out of the
    frame) makes "one face" unable to refute MULTIPLE_FACES. It never raises the event by itself: a
    person box is weaker evidence than a face. Persistence is the debounce's job (1.5 s for
    MULTIPLE_FACES, configs/risk_engine.yaml).
    """
    suppressed = static.faces if static is not None else []
    doubtful = static.candidates if static is not None else []
    count = max(0, facts.faces - len(suppressed))
    unverified = max(0, facts.unverified - len(doubtful))
    evidence: dict[str, object] = {"faces": count, "unverified_candidates": unverified}
    if suppressed or doubtful:
        evidence["faces_detected"] = facts.faces
        evidence["unverified_detected"] = facts.unverified
        evidence["static_background"] = [hit.evidence() for hit in suppressed + doubtful]
    persons = persons_seen(facts, [hit.box for hit in suppressed + doubtful])
    if persons is not None:
        evidence["persons"] = persons

    unseen = max(0, (persons or 0) - count - unverified)  # people the face stage found no face of
    if unseen:
        evidence["persons_without_face"] = unseen
    unrefuted = count + unverified >= 2 or (persons or 0) >= 2
    multiple: bool | None = True if count >= 2 else (None if unrefuted else False)
    because = None
    if multiple is None:
        because = "face-like candidate" if count + unverified >= 2 else "person without a face"
    no_face: bool | None = False if count > 0 else (None if unverified else True)
    return {
        EventType.MULTIPLE_FACES: Observation(
            value=multiple, evidence={**evidence, "threshold": 2}, unknown_because=because
        ),
        EventType.NO_FACE: Observation(value=no_face, evidence={**evidence, "threshold": 0}),
    }


LOOKED_AT = "looked_at"  # the observation's kind when only objects the candidate looks at count


def object_observations(
    facts: FrameFacts, static: Suppressed | None = None, allowed: frozenset[str] = frozenset()
) -> dict[EventType, Observation]:
    """Object events: unknown while the object model is unavailable, never "no phone".

    Only sure objects carry an event (configs/objects.yaml); of those, static background, the room
    and weak classes not looked at are left out. An observation carries its objects' boxes, so the
    risk engine follows one object through a run (``consistency``); it is of kind ``looked_at`` when
    it holds only because the candidate's gaze goes to background objects (their own debounce).
    Objects whose label the interview's policy allows (``allowed``: a book in an open-book
    interview) are not counted, and are named in the evidence.
    """
    analysis = frame_objects(facts)
    if analysis is None:
        return {}
    found = analysis.objects
    suppressed = static.objects if static is not None else {}
    ignored = static.not_counted if static is not None else {}
    looked = static.looked_at if static is not None else {}
    observations: dict[EventType, Observation] = {}
    for event_type in OBJECT_EVENTS:
        counted = [
            (i, o)
            for i, o in enumerate(found)
            if o.event is event_type and i not in suppressed and i not in ignored and o.label not in allowed
        ]
        counted.sort(key=lambda pair: pair[1].confidence, reverse=True)
        evidence: dict[str, object] = {"objects": len(counted)}
        background = [hit.evidence() for i, hit in sorted(suppressed.items()) if found[i].event is event_type]
        if background:
            evidence["static_background"] = background
        skipped = [hit.evidence() for i, hit in sorted(ignored.items()) if found[i].event is event_type]
        if skipped:
            evidence["not_counted"] = skipped
        permitted = sorted({o.label for o in found if o.event is event_type and o.label in allowed})
        if permitted:
            evidence["allowed_by_policy"] = permitted
        kind = None
        if counted:
            best = counted[0][1]
            evidence |= {
                "label": best.label,
                "confidence": round(best.confidence, 3),
                "box": best.box.model_dump(),
            }
            gazed = {i: looked[i] for i, _ in counted if i in looked}
            if gazed:
                evidence["looked_at"] = sorted(set(gazed.values()))
            if len(gazed) == len(counted):
                kind = LOOKED_AT
        observations[event_type] = Observation(
            value=bool(counted),
            evidence=evidence,
            kind=kind,
            boxes=tuple(o.box for _, o in counted),
        )
    return observations


def frame_observations(
    facts: FrameFacts, static: Suppressed | None = None, allowed: frozenset[str] = frozenset()
) -> dict[EventType, Observation]:
    """All face and object conditions of the frame; ``static``: its detections learned as background;
    ``allowed``: object labels the interview's policy allows."""
    return {**face_observations(facts, static), **object_observations(facts, static, allowed)}


PHONE_EVENTS = (EventType.PHONE_DETECTED, EventType.PHONE_PARTIAL_DETECTED)


def with_gaze(
    observations: dict[EventType, Observation], gaze: GazeAnalysis | None
) -> dict[EventType, Observation]:
    """Phone observations say where the candidate looked: a phone seen while the eyes are down
    (in the lap, in the hands) is stronger evidence than one lying on the desk."""
    if gaze is None:
        return observations
    down = gaze.direction is GazeDirection.DOWN
    note: dict[str, object] = {"gaze": str(gaze.direction), "looking_down": down}
    if down and gaze.lowered_s is not None:
        note["looking_down_s"] = gaze.lowered_s
    out = dict(observations)
    for event_type in PHONE_EVENTS:
        observation = observations.get(event_type)
        if observation is not None:
            out[event_type] = observation.model_copy(update={"evidence": {**observation.evidence, **note}})
    return out
