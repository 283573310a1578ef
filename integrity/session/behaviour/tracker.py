"""The session's behaviour state and its per-frame update, run inside the session actor.

Per frame with a face it: offers the frame to the calibration, counts blinks (a closure shorter
than ``max_blink_s``), adds head motion to 1 s tallies (baseline over the first minute, rolling
window after), keeps a short window of samples for the lip and reading detectors, and turns the
gaze deployment's per-frame conditions into observations with evidence. The state is plain
pydantic, so the session store can keep it in memory or in Redis.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from integrity.core.enums import EventType
from integrity.core.results import GazeAnalysis, GazeNeutral
from integrity.session.behaviour.calibration import Calibration
from integrity.session.behaviour.config import BehaviourConfig
from integrity.session.behaviour.detectors import Sample, Tally, reading, stress, whispering
from integrity.session.observation import Observation

MAX_SAMPLES = 256
GAZE_EVENTS = (
    EventType.EYES_OFF_SCREEN,
    EventType.LOOKING_AWAY,
    EventType.WHISPERING,
    EventType.READING_PATTERN,
    EventType.STRESS_HIGH,
)


class BehaviourState(BaseModel):
    calibration: Calibration = Field(default_factory=Calibration)
    samples: list[Sample] = Field(default_factory=list)  # the last few seconds with a face
    closed_since: float | None = None  # eyes closed since (stream time)
    first_face_at: float | None = None
    baseline: Tally = Field(default_factory=Tally)
    baseline_done: bool = False
    recent: list[Tally] = Field(default_factory=list)  # 1 s tallies of the rolling window


class BehaviourSnapshot(BaseModel):
    """What the session knows of the candidate's behaviour, returned with every frame."""

    neutral: GazeNeutral
    calibration: str = Field(description="default, provisional or calibrated")
    blink_rate_per_min: float | None = None
    baseline_blink_rate_per_min: float | None = None
    head_jitter_deg_s: float | None = None
    baseline_head_jitter_deg_s: float | None = None


class BehaviourTracker:
    def __init__(self, config: BehaviourConfig) -> None:
        self.config = config

    def neutral(self, state: BehaviourState) -> GazeNeutral:
        return state.calibration.neutral(self.config.calibration)

    def update(
        self, state: BehaviourState, gaze: GazeAnalysis | None, ts: float
    ) -> tuple[dict[EventType, Observation], BehaviourSnapshot]:
        cfg = self.config
        if gaze is None or not gaze.available or gaze.head_pose is None:
            # No face (or no pose): nothing to judge, and the next frame starts a fresh motion run.
            state.closed_since = None
            state.samples = [s for s in state.samples if ts - s.t <= self._keep_s]
            observations = {e: Observation(value=None, evidence={"reason": "no face"}) for e in GAZE_EVENTS}
            return observations, self.snapshot(state)

        if state.first_face_at is None:
            state.first_face_at = ts
        state.calibration.add(gaze, ts, cfg.calibration)
        previous = state.samples[-1] if state.samples else None
        sample = Sample(
            t=ts,
            yaw=gaze.head_pose.yaw,
            pitch=gaze.head_pose.pitch,
            gx=gaze.angles.gaze_yaw if gaze.angles is not None and gaze.iris is not None else None,
            mar=(
                gaze.mouth_aspect_ratio
                if (gaze.mouth_width_px or 0.0) >= cfg.whispering.min_mouth_width_px
                else None
            ),
        )
        self._tally(state, previous, sample, gaze.blink)
        state.samples = [s for s in state.samples if ts - s.t <= self._keep_s][-(MAX_SAMPLES - 1) :]
        state.samples.append(sample)

        whisper_window = [s for s in state.samples if ts - s.t <= cfg.whispering.window_s]
        reading_window = [s for s in state.samples if ts - s.t <= cfg.reading.window_s]
        window = _window(state)
        observations = {
            EventType.EYES_OFF_SCREEN: self._eyes_off(gaze),
            EventType.LOOKING_AWAY: self._looking_away(gaze),
            EventType.WHISPERING: whispering(whisper_window, cfg.whispering),
            EventType.READING_PATTERN: reading(reading_window, cfg.reading),
            EventType.STRESS_HIGH: stress(
                window, state.baseline if state.baseline_done else None, cfg.stress
            ),
        }
        return observations, self.snapshot(state)

    @property
    def _keep_s(self) -> float:
        return max(self.config.whispering.window_s, self.config.reading.window_s)

    # -- blinks and head motion ---------------------------------------------------------------------
    def _tally(self, state: BehaviourState, previous: Sample | None, sample: Sample, closed: bool) -> None:
        cfg = self.config.stress
        step = Tally(start=math.floor(sample.t))
        if previous is not None and 0 < sample.t - previous.t <= cfg.max_frame_gap_s:
            step.observed_s = sample.t - previous.t
            step.motion_deg = math.hypot(sample.yaw - previous.yaw, sample.pitch - previous.pitch)
        if closed and state.closed_since is None:
            state.closed_since = sample.t
        elif not closed and state.closed_since is not None:
            if sample.t - state.closed_since <= cfg.max_blink_s:
                step.blinks = 1
            state.closed_since = None

        assert state.first_face_at is not None
        if not state.baseline_done:
            state.baseline.add(step)
            elapsed = sample.t - state.first_face_at
            if elapsed >= cfg.baseline_s and state.baseline.observed_s >= cfg.baseline_min_observed_s:
                state.baseline_done = True
            return
        if state.recent and state.recent[-1].start == step.start:
            state.recent[-1].add(step)
        else:
            state.recent.append(step)
        state.recent = [t for t in state.recent if sample.t - t.start < cfg.window_s]

    # -- per-frame conditions from the gaze deployment ----------------------------------------------
    @staticmethod
    def _eyes_off(gaze: GazeAnalysis) -> Observation:
        angles, iris = gaze.angles, gaze.iris
        if gaze.eyes_off_screen is None or angles is None or iris is None:
            reason = "eyes closed" if gaze.blink else "no confident iris reading"
            return Observation(value=None, evidence={"reason": reason})
        neutral = gaze.neutral or GazeNeutral()
        return Observation(
            value=gaze.eyes_off_screen,
            evidence={
                "gaze_yaw_deg": angles.gaze_yaw,
                "gaze_pitch_deg": angles.gaze_pitch,
                "eye_yaw_deg": angles.eye_yaw,
                "eye_pitch_deg": angles.eye_pitch,
                "iris_h_ratio": iris.h_ratio,
                "neutral_h_ratio": neutral.h_ratio,
                "iris_confidence": iris.confidence,
                "threshold_yaw_deg": gaze.limits.get("eyes_off_yaw_deg"),
                "threshold_pitch_deg": gaze.limits.get("eyes_off_pitch_deg"),
                "threshold_eye_deg": gaze.limits.get("eyes_off_min_eye_deg"),
                "calibration": neutral.source,
            },
        )

    @staticmethod
    def _looking_away(gaze: GazeAnalysis) -> Observation:
        angles, pose = gaze.angles, gaze.head_pose
        if gaze.head_turned is None or angles is None or pose is None:
            return Observation(value=None, evidence={"reason": "no head pose"})
        neutral = gaze.neutral or GazeNeutral()
        return Observation(
            value=gaze.head_turned,
            evidence={
                "head_yaw_deg": angles.head_yaw,
                "head_pitch_deg": angles.head_pitch,
                "gaze_yaw_deg": angles.gaze_yaw,
                "raw_yaw_deg": pose.yaw,
                "neutral_yaw_deg": neutral.yaw,
                "threshold_yaw_deg": gaze.limits.get("head_yaw_deg"),
                "threshold_pitch_deg": gaze.limits.get("head_pitch_deg"),
                "calibration": neutral.source,
            },
        )

    def snapshot(self, state: BehaviourState) -> BehaviourSnapshot:
        neutral = self.neutral(state)
        snapshot = BehaviourSnapshot(neutral=neutral, calibration=neutral.source)
        if state.baseline_done:
            window = _window(state)
            snapshot.baseline_blink_rate_per_min = round(state.baseline.blink_rate, 2)
            snapshot.baseline_head_jitter_deg_s = round(state.baseline.jitter, 2)
            if window.observed_s > 0:
                snapshot.blink_rate_per_min = round(window.blink_rate, 2)
                snapshot.head_jitter_deg_s = round(window.jitter, 2)
        elif state.baseline.observed_s > 0:
            snapshot.blink_rate_per_min = round(state.baseline.blink_rate, 2)
            snapshot.head_jitter_deg_s = round(state.baseline.jitter, 2)
        return snapshot


def _window(state: BehaviourState) -> Tally:
    """The rolling window's blinks, motion and observed time: the sum of its 1 s tallies."""
    window = Tally()
    for tally in state.recent:
        window.add(tally)
    return window
