"""When a session's frame gets an object analysis (configs/objects.yaml, ``sampling``).

A phone, a book or a second laptop stays in view for seconds; faces and eyes change every frame. So
the frame's path never waits for the object model: each session's frames are sampled for objects at
most once per ``interval_s`` (a frame arriving up to ``jitter`` of it early still counts, so a 1 fps
camera is sampled on every frame), and at once, after the face stage, on a trigger that makes a phone
likely: a look down, a head turned away, a new face, eyes hidden (a hand at the face). A session has
at most one analysis in flight, and an ingress replica ``max_inflight`` in all; while the replica's
frames queue (``yield_share`` of its frame limit in flight) no new analysis starts. Beyond them the
analysis is shed (the frame still goes through, the session stays due), so under load the
per-session rate falls first and frames are refused only when the face path itself is full.

Pure logic over a monotonic clock the caller passes; the transport that runs the analyses is the
ingress's (serve_app/object_lane.py).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import Field

from integrity.core.config import ConfigSection
from integrity.core.enums import GazeDirection
from integrity.core.results import FaceAnalysis, GazeAnalysis


class Trigger(StrEnum):
    """Why a frame was analysed for objects sooner than its session's interval."""

    LOOK_DOWN = "look_down"
    HEAD_TURNED = "head_turned"
    NEW_FACE = "new_face"
    EYES_HIDDEN = "eyes_hidden"


class TriggerConfig(ConfigSection):
    look_down: bool = Field(True, description="the frame's gaze reads down (eyes at the lap, the hands)")
    head_turned: bool = Field(True, description="the head is beyond the yaw/pitch limit from neutral")
    new_face: bool = Field(True, description="more faces than in the session's previous frame")
    eyes_hidden: bool = Field(True, description="open eyes that show no iris (a hand at the face)")


class ObjectSamplingConfig(ConfigSection):
    """``sampling``: object analyses off the frame's path."""

    enabled: bool = Field(
        True,
        description="false: every frame waits for its own object analysis (offline replays, the former "
        "behaviour); true: analyses are sampled per session and booked when they arrive",
    )
    interval_s: float = Field(1.0, gt=0, description="at most one sampled analysis per this, per session")
    jitter: float = Field(
        0.2, ge=0, lt=1, description="a frame this share of the interval early still counts as due"
    )
    trigger_interval_s: float = Field(
        0.3, ge=0, description="a triggered analysis at most this soon after the session's previous one"
    )
    triggers: TriggerConfig = Field(default_factory=TriggerConfig)
    max_inflight: int = Field(
        2, ge=1, description="object analyses in flight per ingress replica; beyond it one is shed"
    )
    yield_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="frames first: while this share of the replica's MAX_INFLIGHT_FRAMES is in flight "
        "(the face path is queueing), a due analysis is shed and asked again at the session's next frame",
    )
    carry_s: float = Field(
        2.0,
        gt=0,
        description="the latest result is shown in answers and lends its person boxes to the frames "
        "for this long after its frame",
    )
    max_sessions: int = Field(10_000, ge=1, description="sessions tracked per ingress replica (LRU)")
    own_wait_s: float = Field(
        0.5,
        ge=0,
        description="a frame with no fresh result (a session's first) whose own analysis runs waits this "
        "long at most for it: its faces are counted with the person boxes, its objects shown (0: never)",
    )


def triggers(
    config: TriggerConfig, face: FaceAnalysis, gaze: GazeAnalysis | None, previous_faces: int | None
) -> list[Trigger]:
    """What in this frame's face stage makes a phone (or a helper) likely now."""
    found: list[Trigger] = []
    if config.new_face and previous_faces is not None and face.count > previous_faces:
        found.append(Trigger.NEW_FACE)
    if gaze is None or not gaze.available:
        return found
    if config.look_down and gaze.direction is GazeDirection.DOWN:
        found.append(Trigger.LOOK_DOWN)
    if config.head_turned and gaze.head_turned:
        found.append(Trigger.HEAD_TURNED)
    if config.eyes_hidden and gaze.unreadable_eyes:
        found.append(Trigger.EYES_HIDDEN)
    return found


@dataclass(slots=True)
class SessionSampling:
    """One session's sampling on this replica."""

    last_started: float | None = None  # monotonic time the latest analysis was started
    in_flight: bool = False
    faces: int | None = None  # the previous frame's face count
    shed: int = 0
    triggered: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class SamplerStats:
    started: int = 0
    shed: int = 0
    triggered: int = 0


class ObjectSampler:
    """Per session: is an object analysis due for this frame, may one start now (bounded LRU)."""

    def __init__(self, config: ObjectSamplingConfig) -> None:
        self.config = config
        self.in_flight = 0
        self.stats = SamplerStats()
        self._sessions: OrderedDict[str, SessionSampling] = OrderedDict()

    def session(self, session_id: str) -> SessionSampling:
        entry = self._sessions.get(session_id)
        if entry is None:
            entry = self._sessions[session_id] = SessionSampling()
            while len(self._sessions) > self.config.max_sessions:
                self._sessions.popitem(last=False)
        self._sessions.move_to_end(session_id)
        return entry

    def forget(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def due(self, session_id: str, now: float) -> bool:
        """The session's interval has passed (less the jitter) and it has no analysis in flight."""
        entry = self.session(session_id)
        if entry.in_flight:
            return False
        if entry.last_started is None:
            return True
        return now - entry.last_started >= self.config.interval_s * (1.0 - self.config.jitter)

    def trigger(
        self, session_id: str, now: float, face: FaceAnalysis, gaze: GazeAnalysis | None
    ) -> list[Trigger]:
        """The triggers of this frame that ask for an analysis now (none while one is in flight or
        the previous one started less than ``trigger_interval_s`` ago). Keeps the face count."""
        entry = self.session(session_id)
        found = triggers(self.config.triggers, face, gaze, entry.faces)
        entry.faces = face.count
        if not found or entry.in_flight:
            return []
        if entry.last_started is not None and now - entry.last_started < self.config.trigger_interval_s:
            return []
        return found

    def begin(
        self, session_id: str, now: float, why: list[Trigger] | None = None, frames_busy: bool = False
    ) -> bool:
        """Start an analysis for the session if the replica has room and its frames are not queueing
        (``frames_busy``); False: shed (counted), and the session stays due."""
        entry = self.session(session_id)
        if frames_busy or self.in_flight >= self.config.max_inflight:
            entry.shed += 1
            self.stats.shed += 1
            return False
        entry.in_flight = True
        entry.last_started = now
        self.in_flight += 1
        self.stats.started += 1
        if why:
            self.stats.triggered += 1
            for trigger in why:
                entry.triggered[trigger] = entry.triggered.get(trigger, 0) + 1
        return True

    def done(self, session_id: str) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        entry = self._sessions.get(session_id)
        if entry is not None:
            entry.in_flight = False

    def __len__(self) -> int:
        return len(self._sessions)
