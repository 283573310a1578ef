"""From one frame's facts to per-condition observations (True / False / None = unknown).

This is where "honest about what it knows" is decided: a condition the frame cannot judge (the
object model is missing, face-like candidates the face stage could not confirm) is observed as
unknown, which neither raises nor clears an event.
"""

from __future__ import annotations

from integrity.core.enums import OBJECT_EVENTS, PERSON_LABEL, EventType, GazeDirection
from integrity.core.results import GazeAnalysis
from integrity.session.observation import Observation
from integrity.session.state import FrameFacts


def persons_seen(facts: FrameFacts) -> int | None:
    """People the object model counted (None when it did not look)."""
    if not facts.objects.status.available:
        return None
    return sum(1 for o in facts.objects.objects if o.label == PERSON_LABEL)


def face_observations(facts: FrameFacts) -> dict[EventType, Observation]:
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
    count, unverified = facts.faces, facts.unverified
    evidence: dict[str, object] = {"faces": count, "unverified_candidates": unverified}
    persons = persons_seen(facts)
    if persons is not None:
        evidence["persons"] = persons

    unrefuted = count + unverified >= 2 or (persons or 0) >= 2
    multiple: bool | None = True if count >= 2 else (None if unrefuted else False)
    no_face: bool | None = False if count > 0 else (None if unverified else True)
    return {
        EventType.MULTIPLE_FACES: Observation(value=multiple, evidence={**evidence, "threshold": 2}),
        EventType.NO_FACE: Observation(value=no_face, evidence={**evidence, "threshold": 0}),
    }


def object_observations(facts: FrameFacts) -> dict[EventType, Observation]:
    """Object events: unknown while the object model is unavailable, never "no phone"."""
    if not facts.objects.status.available:
        return {}
    observations: dict[EventType, Observation] = {}
    for event_type in OBJECT_EVENTS:
        hits = [o for o in facts.objects.objects if o.event is event_type]
        best = max(hits, key=lambda o: o.confidence, default=None)
        evidence: dict[str, object] = {"objects": len(hits)}
        if best is not None:
            evidence |= {
                "label": best.label,
                "confidence": round(best.confidence, 3),
                "box": best.box.model_dump(),
            }
        observations[event_type] = Observation(value=bool(hits), evidence=evidence)
    return observations


def frame_observations(facts: FrameFacts) -> dict[EventType, Observation]:
    return {**face_observations(facts), **object_observations(facts)}


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
