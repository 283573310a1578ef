"""Enums shared by the API, the risk engine and the vision library (and the deployments wrapping it)."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    PHONE_DETECTED = "PHONE_DETECTED"
    PHONE_PARTIAL_DETECTED = "PHONE_PARTIAL_DETECTED"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    EYES_OFF_SCREEN = "EYES_OFF_SCREEN"
    LOOKING_AWAY = "LOOKING_AWAY"
    NO_FACE = "NO_FACE"
    SUSPICIOUS_OBJECT = "SUSPICIOUS_OBJECT"
    WHISPERING = "WHISPERING"
    READING_PATTERN = "READING_PATTERN"
    STRESS_HIGH = "STRESS_HIGH"
    IDENTITY_CHANGED = "IDENTITY_CHANGED"
    SECOND_VOICE = "SECOND_VOICE"
    TAB_SWITCH = "TAB_SWITCH"
    SECOND_SCREEN = "SECOND_SCREEN"
    PASTE = "PASTE"


OBJECT_EVENTS = (EventType.PHONE_DETECTED, EventType.PHONE_PARTIAL_DETECTED, EventType.SUSPICIOUS_OBJECT)

# The object model's label for a person (COCO): counted beside the faces, never an event by itself.
PERSON_LABEL = "person"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class Treatment(StrEnum):
    """How an interview's policy has the risk engine treat an event (configs/policy.yaml)."""

    COUNT = "count"  # raised, with its risk (the event table's)
    REPORT = "report"  # raised for the reviewer, without risk; never backs an accusation
    OFF = "off"  # not raised at all


class Verdict(StrEnum):
    CLEAN = "CLEAN"
    SUSPICIOUS = "SUSPICIOUS"
    CHEATING = "CHEATING"
    INCONCLUSIVE = "INCONCLUSIVE"  # too little of the session could be observed to call it clean


class GazeDirection(StrEnum):
    """Directions in the image as displayed: "left" is the image's left edge."""

    CENTER = "center"
    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


class LidState(StrEnum):
    """What the eyelids do in one frame, relative to the candidate's neutral (configs/gaze.yaml)."""

    OPEN = "open"
    # The upper lid lowered (it follows the eye down) while the lower lid stays: a look down, or the
    # first or last frames of a blink. Only its duration tells them apart (the session does).
    LOWERED = "lowered"
    CLOSED = "closed"  # eyes (nearly) shut with the lids meeting: a blink, a wink or a squint


class FaceDetector(StrEnum):
    """The face detector that found a face (BlazeFace, run with LiteRT; configs/face.yaml picks one)."""

    BLAZEFACE_FULL_RANGE = "blazeface_full_range"  # 192 px input: small and far faces too (default)
    BLAZEFACE_SHORT_RANGE = "blazeface_short_range"  # 128 px input: faces within ~2 m of the camera


class LandmarkBackend(StrEnum):
    """What places the landmarks that head pose, lids, irises and gaze are read from (configs/face.yaml)."""

    # Google's Face Landmarker (Apache-2.0): 478-point mesh with irises and 52 blendshapes, LiteRT.
    FACE_LANDMARKER = "face_landmarker"
    # dlib's 68-point shape predictor (trained on iBUG 300-W: no commercial use) + the dark-area iris.
    DLIB_68 = "dlib_68"


class FaceCheck(StrEnum):
    """Independent checks a doubtful face candidate must pass (enough of them) to be counted."""

    LANDMARKS = "landmarks"  # FaceMesh's face-presence score on the aligned crop
    HOG = "hog"  # dlib's HOG detector on a crop around the candidate
    SHORT_RANGE = "short_range"  # BlazeFace short range on a close crop around the candidate
