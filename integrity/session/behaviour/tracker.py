"""The session's behaviour state and its per-frame update, run inside the session actor.

Per frame with a face it: offers the frame to the calibration, tells a look down from a blink
(lowered lids held ``min_down_s`` or longer; the per-frame gaze analysis sees one frame and
cannot), counts blinks (a closure shorter than ``max_blink_s``), adds head motion to 1 s tallies
(baseline over the first minute, rolling window after), keeps a short window of samples for the lip
and reading detectors and the recent looks down, and turns the per-frame conditions into
observations with evidence. The state is plain pydantic, so the session store can keep it in memory
or in Redis.
"""

from __future__ import annotations

import math
import statistics

from pydantic import BaseModel, Field

from integrity.core.enums import EventType, GazeDirection, LidState
from integrity.core.results import GazeAnalysis, GazeNeutral
from integrity.core.timing import lasted
from integrity.session.behaviour.calibration import Calibration, CalibrationQuality
from integrity.session.behaviour.config import BehaviourConfig
from integrity.session.behaviour.detectors import (
    Glance,
    Sample,
    Tally,
    either,
    glances_down,
    reading,
    stress,
    whispering,
)
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
    lowered_since: float | None = None  # lids lowered since (stream time), until the eyes reopen
    lowered_last: float | None = None  # the latest lowered frame of that run
    down_held: bool = False  # the run has lasted longer than a blink: a look down
    down_at_mouth: bool = False  # the mouth was covered during the run: eyes down at a cup, a hand
    look_from: float | None = None  # where the run's look off the screen counts from: the lids going
    # down, or the mouth uncovered again (eyes down at a cup are no look off the screen)
    glances: list[Glance] = Field(default_factory=list)  # recent looks down, ended
    first_face_at: float | None = None
    baseline: Tally = Field(default_factory=Tally)
    baseline_done: bool = False
    recent: list[Tally] = Field(default_factory=list)  # 1 s tallies of the rolling window
    pose_bin: list[tuple[float, float]] = Field(default_factory=list)  # (yaw, pitch) of the current bin
    pose_bin_index: int | None = None
    last_bin: tuple[float, float] | None = None  # median pose of the previous complete bin
    last_bin_index: int | None = None


class BehaviourSnapshot(BaseModel):
    """What the session knows of the candidate's behaviour, returned with every frame."""

    neutral: GazeNeutral
    calibration: str = Field(description="default, provisional or calibrated")
    blink_rate_per_min: float | None = None
    baseline_blink_rate_per_min: float | None = None
    head_jitter_deg_s: float | None = None
    baseline_head_jitter_deg_s: float | None = None
    calibration_quality: CalibrationQuality | None = None
    too_small: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="parts of the face too small to analyse this frame (eyes, mouth): width and minimum, px",
    )


class BehaviourTracker:
    def __init__(self, config: BehaviourConfig) -> None:
        self.config = config

    def neutral(self, state: BehaviourState) -> GazeNeutral:
        return state.calibration.neutral(self.config.calibration)

    def update(
        self, state: BehaviourState, gaze: GazeAnalysis | None, ts: float
    ) -> tuple[dict[EventType, Observation], BehaviourSnapshot, GazeAnalysis | None]:
        """One frame: its observations, the session's view, and the frame's gaze as the session
        judges it (a lowered frame becomes a look down once the lowering outlasts a blink)."""
        cfg = self.config
        if gaze is None or not gaze.available or gaze.head_pose is None:
            # No face (or no pose): nothing to judge, and the next frame starts a fresh motion run.
            state.closed_since = None
            self._end_lowered(state)
            state.samples = [s for s in state.samples if ts - s.t <= self._keep_s]
            observations = {e: Observation(value=None, evidence={"reason": "no face"}) for e in GAZE_EVENTS}
            return observations, self.snapshot(state), gaze

        if state.first_face_at is None:
            state.first_face_at = ts
        state.calibration.add(gaze, ts, cfg.calibration)
        judged = self._lids(state, gaze, ts)
        sample = Sample(
            t=ts,
            yaw=gaze.head_pose.yaw,
            pitch=gaze.head_pose.pitch,
            gx=(
                gaze.angles.gaze_yaw
                if gaze.angles is not None and gaze.iris is not None and gaze.lids_open
                else None
            ),
            gy=(
                gaze.angles.gaze_pitch
                if gaze.angles is not None and gaze.iris is not None and gaze.lids_open
                else None
            ),
            mar=(
                gaze.mouth_aspect_ratio
                if (gaze.mouth_width_px or 0.0) >= cfg.whispering.min_mouth_width_px
                else None
            ),
        )
        self._tally(state, sample, gaze.blink)
        state.samples = [s for s in state.samples if ts - s.t <= self._keep_s][-(MAX_SAMPLES - 1) :]
        state.samples.append(sample)

        whisper_window = [s for s in state.samples if ts - s.t <= cfg.whispering.window_s]
        reading_window = [s for s in state.samples if ts - s.t <= cfg.reading.window_s]
        window = _window(state)
        state.glances = [g for g in state.glances if ts - g.end <= cfg.glances.window_s]
        pending = state.calibration.pending(ts, cfg.calibration)
        judged = judged.model_copy(update={"calibration": "pending" if pending else "done"})
        observations = {
            EventType.EYES_OFF_SCREEN: self._eyes_off(judged, state, ts),
            EventType.LOOKING_AWAY: self._looking_away(gaze),
            EventType.WHISPERING: whispering(whisper_window, cfg.whispering),
            EventType.READING_PATTERN: either(
                reading(reading_window, cfg.reading), glances_down(state.glances, ts, cfg.glances)
            ),
            EventType.STRESS_HIGH: stress(
                window, state.baseline if state.baseline_done else None, cfg.stress
            ),
        }
        if pending:
            # Directions against a neutral that does not exist yet are guesses: reported, never
            # raised (a frontal face read 20 degrees aside before its neutral was an accusation).
            waiting = Observation(value=None, evidence={"reason": "calibration pending"})
            for event in (EventType.EYES_OFF_SCREEN, EventType.LOOKING_AWAY, EventType.READING_PATTERN):
                observations[event] = waiting
        return observations, self.snapshot(state, gaze), judged

    @property
    def _keep_s(self) -> float:
        return max(self.config.whispering.window_s, self.config.reading.window_s)

    # -- lowered lids: a blink or a look down --------------------------------------------------------
    def _lids(self, state: BehaviourState, gaze: GazeAnalysis, ts: float) -> GazeAnalysis:
        """The frame's gaze with the duration rule applied: lowered lids held ``min_down_s`` are a
        look down (the gaze analysis's ``held_direction``); shorter ones may be a blink: unknown."""
        cfg = self.config.looking_down
        lids = gaze.lids
        if state.lowered_last is not None and ts - state.lowered_last > cfg.max_gap_s:
            self._end_lowered(state)  # too long unseen to call it one look
        if lids is None or lids.state is LidState.OPEN or gaze.unreadable_eyes:
            flicker = (
                lids is not None
                and state.down_held
                and state.lowered_last is not None
                and ts - state.lowered_last <= cfg.reopen_grace_s
            )
            if not flicker:  # a held look down survives a frame or two read open (noise, a twitch)
                self._end_lowered(state)
            return gaze
        if lids.state is LidState.CLOSED:
            if not state.down_held:
                self._end_lowered(state)  # the lids met: a blink, not a look down
                return gaze
            # A blink while looking down: the look goes on, this frame cannot tell where.
            assert state.lowered_since is not None
            return gaze.model_copy(update={"lowered_s": round(ts - state.lowered_since, 3)})
        if state.lowered_since is None:
            state.lowered_since = ts
        state.lowered_last = ts
        state.down_at_mouth = state.down_at_mouth or gaze.mouth_covered
        if gaze.mouth_covered:
            state.look_from = None
        elif state.look_from is None:
            state.look_from = ts
        held = ts - state.lowered_since
        state.down_held = state.down_held or lasted(held, cfg.min_down_s)
        limits = {**gaze.limits, "min_down_s": cfg.min_down_s}
        update: dict[str, object] = {"lowered_s": round(held, 3), "limits": limits}
        if state.down_held:
            update |= {
                "direction": lids.held_direction or GazeDirection.UNKNOWN,
                "eyes_off_screen": lids.held_eyes_off_screen,
                "blink": False,  # told apart: not a blink
            }
        return gaze.model_copy(update=update)

    @staticmethod
    def _end_lowered(state: BehaviourState) -> None:
        """The lowered run is over (eyes reopened, face lost, a gap): book it if it was a look down
        (not one at a cup or a hand in front of the mouth)."""
        held = state.down_held and not state.down_at_mouth
        if held and state.lowered_since is not None and state.lowered_last is not None:
            state.glances.append(Glance(start=state.lowered_since, end=state.lowered_last))
        state.lowered_since = state.lowered_last = state.look_from = None
        state.down_held = state.down_at_mouth = False

    # -- blinks and head motion ---------------------------------------------------------------------
    def _tally(self, state: BehaviourState, sample: Sample, closed: bool) -> None:
        """Blinks per frame; head motion between the medians of consecutive ``bin_s`` bins less a
        noise deadband (per-frame differences would grow with the frame rate and landmark noise)."""
        cfg = self.config.stress
        step = Tally(start=math.floor(sample.t))
        if closed and state.closed_since is None:
            state.closed_since = sample.t
        elif not closed and state.closed_since is not None:
            if sample.t - state.closed_since <= cfg.max_blink_s:
                step.blinks = 1
            state.closed_since = None
        index = math.floor(sample.t / cfg.bin_s)
        if state.pose_bin and index != state.pose_bin_index:
            assert state.pose_bin_index is not None
            pose: tuple[float, float] | None = None
            if len(state.pose_bin) >= cfg.min_bin_frames:
                pose = (
                    statistics.median(p[0] for p in state.pose_bin),
                    statistics.median(p[1] for p in state.pose_bin),
                )
            if (
                pose is not None
                and state.last_bin is not None
                and state.last_bin_index == state.pose_bin_index - 1
            ):
                moved = math.hypot(pose[0] - state.last_bin[0], pose[1] - state.last_bin[1])
                step.observed_s = cfg.bin_s
                step.motion_deg = max(0.0, moved - cfg.deadband_deg)
            state.last_bin, state.last_bin_index = pose, state.pose_bin_index
            state.pose_bin = []
        state.pose_bin.append((sample.yaw, sample.pitch))
        state.pose_bin_index = index

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
    def _eyes_off(self, gaze: GazeAnalysis, state: BehaviourState, ts: float) -> Observation:
        angles, iris, lids = gaze.angles, gaze.iris, gaze.lids
        neutral = gaze.neutral or GazeNeutral()
        closed_for = None if state.closed_since is None else ts - state.closed_since
        max_closed = self.config.looking_down.max_closed_s
        closed = gaze.blink and not gaze.unreadable_eyes and not state.down_held
        if closed and closed_for is not None and closed_for > max_closed:
            # Closed longer than any blink: not on the screen, and no longer "unknown". (Covered
            # eyes, which the landmarks may also close, stay unknown.)
            return Observation(
                value=True,
                kind="closed",
                since=state.closed_since,
                evidence={
                    "direction": "closed",
                    "closed_s": round(closed_for, 2),
                    "max_blink_s": max_closed,
                    "eye_aspect_ratio": gaze.eye_aspect_ratio,
                    "neutral_eye_aspect_ratio": neutral.eye_aspect_ratio,
                    "calibration": neutral.source,
                },
            )
        if gaze.mouth_covered and gaze.direction is GazeDirection.DOWN:
            # Drinking, a hand at the mouth: the eyes go down to what is in front of the mouth.
            reason = "mouth covered (a cup, a hand): eyes cast down at it are not a look off the screen"
            return Observation(value=None, evidence={"reason": reason, "mouth_contrast": gaze.mouth_contrast})
        if lids is not None and lids.state is LidState.LOWERED and angles is not None:
            if gaze.eyes_off_screen is None:
                reason = f"lids lowered {gaze.lowered_s or 0.0:.2f} s: a blink or the start of a look down"
                return Observation(value=None, evidence={"reason": reason})
            return Observation(
                value=gaze.eyes_off_screen,
                kind="down" if gaze.direction is GazeDirection.DOWN else None,
                since=state.look_from if gaze.eyes_off_screen else None,
                evidence={
                    "direction": str(gaze.direction),
                    "gaze_yaw_deg": angles.gaze_yaw,
                    "gaze_pitch_deg": angles.gaze_pitch,
                    "head_pitch_deg": angles.head_pitch,
                    "lid_pitch_deg": lids.pitch_deg,
                    "upper_lid": lids.upper,
                    "neutral_upper_lid": neutral.upper_lid,
                    "lower_lid_raise": lids.lower_raise,
                    "lowered_s": gaze.lowered_s,
                    "threshold_pitch_deg": gaze.limits.get("eyes_off_pitch_deg"),
                    "threshold_eye_deg": gaze.limits.get("eyes_off_min_eye_deg"),
                    "threshold_lid_deg": gaze.limits.get("lid_down_deg"),
                    "min_down_s": gaze.limits.get("min_down_s"),
                    "calibration": neutral.source,
                },
            )
        if gaze.eyes_off_screen is None or angles is None or iris is None:
            small = _too_small(gaze, self.config).get("eyes")
            if small is not None:
                reason = f"eyes too small to read: {small['px']:.1f} px wide, needs {small['min_px']:.0f} px"
            elif gaze.unreadable_eyes:
                reason = "no iris visible in an open eye (covered?)"
            elif gaze.blink:
                reason = "eyes closed"
            else:
                reason = "no confident iris reading"
            return Observation(value=None, evidence={"reason": reason})
        return Observation(
            value=gaze.eyes_off_screen,
            kind="down" if gaze.direction is GazeDirection.DOWN else None,
            evidence={
                "direction": str(gaze.direction),
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

    def snapshot(self, state: BehaviourState, gaze: GazeAnalysis | None = None) -> BehaviourSnapshot:
        neutral = self.neutral(state)
        snapshot = BehaviourSnapshot(
            neutral=neutral,
            calibration=neutral.source,
            calibration_quality=state.calibration.quality,
            too_small={} if gaze is None else _too_small(gaze, self.config),
        )
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


def _too_small(gaze: GazeAnalysis, config: BehaviourConfig) -> dict[str, dict[str, float]]:
    """Parts of the face below the size their analysis needs: reported, never silently unknown."""
    out: dict[str, dict[str, float]] = {}
    min_eye = gaze.limits.get("min_eye_span_px")
    if gaze.eye_span_px is not None and min_eye is not None and gaze.eye_span_px < min_eye:
        out["eyes"] = {"px": gaze.eye_span_px, "min_px": min_eye}
    min_mouth = config.whispering.min_mouth_width_px
    if gaze.mouth_width_px is not None and gaze.mouth_width_px < min_mouth:
        out["mouth"] = {"px": gaze.mouth_width_px, "min_px": min_mouth}
    return out
