"""Is the candidate enrolled at the start still the one in front of the camera (IDENTITY_CHANGED)?

The face descriptors (integrity/vision/identity.py) are biometric data: they live here, in the
session's state in the session store, and nowhere else. They are never in an answer, a summary, a
record, a report or a log (:class:`IdentitySummary` is what goes out), and they are deleted with
the session. Checks arrive off the frame's path, a few seconds apart (the ingress samples them);
each is booked at its frame's stream time:

* enrolment: the first ``enrol_samples`` usable checks, averaged, once they agree with each other
  (a set that does not, someone else in some of them, is started again);
* then each check's distance to the enrolment is judged SAME, UNSURE or DIFFERENT; the risk engine
  sees DIFFERENT as the condition, SAME as its absence and UNSURE as unknown, never as another
  person.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from integrity.core.enums import EventType
from integrity.core.identity import IdentityMatch, IdentityRules, distance, judge, mean_descriptor
from integrity.session.observation import Observation


class IdentityCheck(BaseModel):
    """One identity check of a frame, for the session (it carries the descriptor: never log it)."""

    timestamp: float = Field(description="the checked frame's stream time")
    usable: bool
    why: str | None = None
    descriptor: list[float] | None = Field(None, repr=False, exclude=True)
    face_px: int = 0
    crop_jpeg: bytes | None = Field(None, repr=False, exclude=True)

    def __str__(self) -> str:
        return f"IdentityCheck(t={self.timestamp:.2f}, usable={self.usable}, why={self.why})"


class IdentitySummary(BaseModel):
    """The session's identity watch in figures (answers, summary, record): no descriptor."""

    enrolled: bool
    enrolled_at: float | None = Field(None, description="stream time the enrolment was complete")
    enrol_samples: int = Field(description="usable checks gathered toward the enrolment so far")
    checks: int = Field(description="checks booked (enrolment included)")
    same: int = 0
    unsure: int = 0
    different: int = 0
    unusable: int = Field(
        0, description="checks that found the face unfit to describe (the service checks only fit ones)"
    )
    last_distance: float | None = None
    unsure_below: float
    unsure_above: float


class IdentityState(BaseModel):
    """Session state (the session store only)."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    samples: list[list[float]] = Field(default_factory=list, repr=False)
    enrolled: list[float] | None = Field(None, repr=False)
    enrolled_at: float | None = None
    enrol_crop: bytes | None = Field(None, repr=False, description="the enrolment's face crop (evidence)")
    checks: int = 0
    same: int = 0
    unsure: int = 0
    different: int = 0
    unusable: int = 0
    last_at: float | None = None
    last_distance: float | None = None

    def __repr_args__(self) -> Any:  # the descriptors never reach a log line
        return [(k, v) for k, v in super().__repr_args__() if k not in {"samples", "enrolled", "enrol_crop"}]

    def summary(self, config: IdentityRules) -> IdentitySummary:
        return IdentitySummary(
            enrolled=self.enrolled is not None,
            enrolled_at=self.enrolled_at,
            enrol_samples=len(self.samples) if self.enrolled is None else config.enrol_samples,
            checks=self.checks,
            same=self.same,
            unsure=self.unsure,
            different=self.different,
            unusable=self.unusable,
            last_distance=self.last_distance,
            unsure_below=config.unsure_below,
            unsure_above=config.unsure_above,
        )


class IdentityReading(BaseModel):
    """What one booked check found (for the session's answer; no descriptor)."""

    enrolled: bool
    match: IdentityMatch | None = None
    distance: float | None = None


def book_check(
    state: IdentityState, check: IdentityCheck, config: IdentityRules
) -> tuple[IdentityReading, dict[EventType, Observation]]:
    """Book one check: enrol with it, or judge it against the enrolment. Returns what it found and
    the IDENTITY_CHANGED observation for the risk engine (none while enrolling)."""
    if state.last_at is not None and check.timestamp < state.last_at:
        return IdentityReading(enrolled=state.enrolled is not None), {}  # older than one booked
    state.checks += 1
    state.last_at = check.timestamp
    if not check.usable or check.descriptor is None:
        state.unusable += 1
        if state.enrolled is None:
            return IdentityReading(enrolled=False), {}
        unknown = Observation(value=None, unknown_because=check.why or "face not usable")
        return IdentityReading(enrolled=True), {EventType.IDENTITY_CHANGED: unknown}
    if state.enrolled is None:
        _enrol(state, check, config)
        return IdentityReading(enrolled=state.enrolled is not None), {}
    gap = round(distance(state.enrolled, check.descriptor), 4)
    match = judge(gap, config)
    state.last_distance = gap
    evidence: dict[str, Any] = {
        "distance": gap,
        "threshold": config.threshold,
        "different_from": config.unsure_above,
        "same_below": config.unsure_below,
        "match": str(match),
        "face_px": check.face_px,
        "enrolled_at": state.enrolled_at,
    }
    if match is IdentityMatch.DIFFERENT:
        state.different += 1
        observation = Observation(value=True, evidence=evidence)
    elif match is IdentityMatch.SAME:
        state.same += 1
        observation = Observation(value=False, evidence=evidence)
    else:
        state.unsure += 1
        observation = Observation(value=None, evidence=evidence, unknown_because="unsure")
    reading = IdentityReading(enrolled=True, match=match, distance=gap)
    return reading, {EventType.IDENTITY_CHANGED: observation}


def _enrol(state: IdentityState, check: IdentityCheck, config: IdentityRules) -> None:
    assert check.descriptor is not None
    state.samples.append(list(check.descriptor))
    if state.enrol_crop is None:
        state.enrol_crop = check.crop_jpeg
    if len(state.samples) < config.enrol_samples:
        return
    mean = mean_descriptor(state.samples)
    if max(distance(mean, s) for s in state.samples) >= config.threshold:
        # The samples do not agree (two people in turn, a bad alignment): start again from the
        # latest, rather than enrol a mix that would match neither.
        state.samples = state.samples[-1:]
        state.enrol_crop = check.crop_jpeg
        return
    state.enrolled = mean
    state.enrolled_at = check.timestamp
    state.samples = []
