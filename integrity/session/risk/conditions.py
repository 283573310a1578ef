"""From one frame's facts to per-condition observations (True / False / None = unknown).

This is where "honest about what it knows" is decided: a condition the frame cannot judge (the
object model is missing, a fast pass that cannot refute what a recent deep scan saw, unverified
face candidates) is observed as unknown, which neither raises nor clears an event.
"""

from __future__ import annotations

from integrity.core.enums import OBJECT_EVENTS, PERSON_LABEL, EventType, ScanMode
from integrity.session.observation import Observation
from integrity.session.risk.config import FaceScanPolicy
from integrity.session.state import FaceMemory, FrameFacts

REJECTED_OVERLAP = 0.5


def unresolved_candidates(facts: FrameFacts, memory: FaceMemory) -> int:
    """Doubtful face candidates not already ruled out by the last deep scan."""
    ruled_out = [*memory.rejected, *facts.rejected]
    return sum(1 for box in facts.doubtful if not any(box.overlap(r) >= REJECTED_OVERLAP for r in ruled_out))


def persons_seen(facts: FrameFacts) -> int | None:
    """People the object model counted (None when it did not look)."""
    if not facts.objects.status.available:
        return None
    return sum(1 for o in facts.objects.objects if o.label == PERSON_LABEL)


def face_observations(
    facts: FrameFacts, memory: FaceMemory, policy: FaceScanPolicy
) -> dict[EventType, Observation]:
    """MULTIPLE_FACES and NO_FACE for this frame, judged against the session's face memory.

    The object model's person count is a second signal: more people than faces (a second person
    turned away or half out of the frame) makes "one face" unable to refute MULTIPLE_FACES.
    It never raises the event by itself: a person box is weaker evidence than a face.
    """
    count, ts = facts.faces, facts.timestamp
    recent_deep = memory.last_deep_at is not None and ts - memory.last_deep_at <= policy.deep_memory_s
    # Faces this frame may have missed: a fast pass that sees fewer faces than a recent deep scan
    # cannot tell whether a face left or merely turned beyond what HOG detects, and doubtful
    # candidates may be faces too. They make a condition unknown, never true.
    missed_by_fast = 0
    if facts.scan is ScanMode.FAST and recent_deep:
        missed_by_fast = max(0, memory.last_deep_count - count)
    maybe_missed = missed_by_fast + unresolved_candidates(facts, memory)
    evidence: dict[str, object] = {
        "faces": count,
        "scan": str(facts.scan),
        "unverified_candidates": len(facts.doubtful),
    }
    if recent_deep:
        evidence["last_deep_faces"] = memory.last_deep_count
    persons = persons_seen(facts)
    if persons is not None:
        evidence["persons"] = persons

    unrefuted = count + maybe_missed >= 2 or (persons or 0) >= 2
    multiple: bool | None = True if count >= 2 else (None if unrefuted else False)
    no_face: bool | None = False if count > 0 else (None if maybe_missed else True)
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


def frame_observations(
    facts: FrameFacts, memory: FaceMemory, policy: FaceScanPolicy
) -> dict[EventType, Observation]:
    return {**face_observations(facts, memory, policy), **object_observations(facts)}


def remember_faces(facts: FrameFacts, memory: FaceMemory) -> None:
    """Update the face memory after a frame, including whether it leaves doubt for the next one.

    Doubt (the face count changed, unverified candidates, fewer faces than the last deep scan saw)
    lasts until a deep scan has looked; that scan's own leftovers decide whether it goes on.
    """
    unresolved = unresolved_candidates(facts, memory) > 0
    if facts.scan is ScanMode.DEEP:
        memory.last_deep_at = facts.timestamp
        memory.last_deep_count = facts.faces
        memory.fine = facts.needs_fine
        memory.rejected = list(facts.rejected)
        memory.doubt = unresolved
    else:
        changed = memory.last_count is not None and facts.faces != memory.last_count
        fewer_than_deep = facts.faces < memory.last_deep_count
        memory.doubt = memory.doubt or changed or fewer_than_deep or unresolved
    memory.last_count = facts.faces
