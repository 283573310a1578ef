"""Typed view of the ``behaviour`` section of configs/risk_engine.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from integrity.core.config import ConfigSection


class CalibrationConfig(ConfigSection):
    """The first seconds with a face establish the candidate's neutral gaze and head pose; long-run
    behaviour refines it. Angles are the raw head pose (the Face Landmarker's own pose reads a face
    straight at the camera near 0 degrees; dlib's points through a generic face model about 0 to +17
    degrees of pitch) and iris positions in eye widths."""

    duration_s: float = Field(3.0, ge=0, description="stream time after the first face")
    min_samples: int = Field(5, ge=1)
    sparse_min_samples: int = Field(
        4, ge=1, description="...or this many covering duration_s: a 1 fps camera's frames at 0-3 s"
    )
    max_samples: int = Field(90, ge=1)
    # Plausible screen positions: a camera may sit well off to the side (the screen is then straight
    # ahead of a face turned toward it), but not above or below the screen by much, and a face
    # watching a screen turns with it: the eyes stay near the middle of their openings.
    max_yaw_deg: float = Field(40.0, gt=0)
    min_pitch_deg: float = Field(-8.0, description="raw pitch below this: looking down (keyboard, desk)")
    max_pitch_deg: float = Field(30.0)
    max_h_offset: float = Field(0.15, gt=0, description="iris offset from the eye's middle, eye widths")
    min_v: float = Field(-0.25, description="iris above the corner line by more than this: looking up")
    max_v: float = Field(0.0, description="iris lower than this: looking down")
    # A neutral needs a steady gaze: samples straying further than these from their median (75th
    # percentile) are a candidate looking around; the calibration then waits for a steadier stretch.
    max_spread_deg: float = Field(8.0, gt=0)
    max_h_spread: float = Field(0.08, gt=0)
    # Refinement: where the candidate's gaze dwells most over the long run is the screen.
    refine_every_s: float = Field(20.0, gt=0, description="stream time between refinement checks")
    refine_min_s: float = Field(30.0, gt=0, description="attentive seconds the check needs")
    refine_window_s: float = Field(180.0, gt=0, description="the most recent attentive seconds it looks at")
    refine_radius_deg: float = Field(6.0, gt=0, description="gazes this close dwell at one place")
    refine_min_share: float = Field(0.5, gt=0, le=1, description="share of attentive time at that place")
    refine_min_shift_deg: float = Field(5.0, ge=0, description="smaller differences leave the neutral")
    max_refine_deg: float = Field(30.0, ge=0, description="the most a refinement moves from the calibration")
    eyeball_radius: float = Field(0.4, gt=0, description="as configs/gaze.yaml: iris offset to eye rotation")
    # With the Face Landmarker's blendshapes (0..1, the same meaning on every face): a frame whose eyes
    # look aside or up, or close, is not a look at the screen either.
    max_side_score: float = Field(0.5, gt=0, le=1, description="eyeLookIn/Out toward one side")
    max_up_score: float = Field(0.5, gt=0, le=1, description="eyeLookUp")
    max_blink_score: float = Field(0.45, gt=0, le=1, description="eyeBlink (the more closed eye)")
    max_squint_score: float = Field(0.6, gt=0, le=1, description="eyeSquint (a grimace)")
    # Head pitch plus the eyes' pitch in the head (score_pitch_deg x (eyeLookUp - eyeLookDown)) is
    # where the eyes point whatever the person: a neutral taken while looking at the hands is none.
    score_pitch_deg: float = Field(50.0, gt=0, description="as configs/gaze.yaml blendshape_pitch_deg")
    min_gaze_pitch_deg: float = Field(-30.0, description="eyes pointing lower: not at a screen")
    max_gaze_pitch_deg: float = Field(25.0, description="...or higher")
    # Until the neutral exists no gaze event is raised (a frame's direction is reported, "pending");
    # a candidate who never gives a steady look at the screen is judged against the frontal default
    # after this long, so looking away from the start does not escape the rules.
    max_pending_s: float = Field(10.0, gt=0, description="stream time after the first face")


class WhisperConfig(ConfigSection):
    window_s: float = Field(1.5, gt=0)
    min_samples: int = Field(8, ge=3)
    min_mouth_width_px: float = Field(20.0, ge=0, description="smaller mouths give no reading")
    min_mar_std: float = Field(0.03, ge=0, description="mouth-aspect-ratio variation over the window")
    max_mean_mar: float = Field(0.3, gt=0, description="wider average openings are speech, not whispers")
    min_cycles: int = Field(2, ge=1, description="open/close cycles of the lips over the window")
    max_head_motion_deg: float = Field(2.5, ge=0, description="head yaw/pitch spread: the face stays still")


class ReadingConfig(ConfigSection):
    window_s: float = Field(8.0, gt=0)
    min_lines: int = Field(3, ge=1, description="sweeps with a return jump, all the same way")
    jump_min_deg: float = Field(10.0, gt=0, description="a return jump moves the gaze at least this far")
    jump_max_dt_s: float = Field(0.3, gt=0, description="...between two consecutive frames this close")
    sweep_min_deg: float = Field(5.0, gt=0, description="the gradual sweep before it covers this much")
    sweep_min_s: float = Field(0.5, gt=0)
    sweep_min_r2: float = Field(0.6, ge=0, le=1, description="how steadily the sweep drifts (R^2 of a line)")
    sweep_return_ratio: float = Field(0.4, ge=0, description="sweep at least this share of the jump")
    min_coverage: float = Field(0.6, ge=0, le=1, description="share of the window's frames with an iris")
    # Reading the question on the screen is what candidates do: only sweeps outside the screen area
    # (their mean gaze this far aside, or below it, from the calibrated neutral) count.
    screen_half_width_deg: float = Field(20.0, gt=0)
    screen_half_height_deg: float = Field(15.0, gt=0)


class LookingDownConfig(ConfigSection):
    """Lowered lids (configs/gaze.yaml) held longer than a blink are a look down."""

    min_down_s: float = Field(
        0.25,
        gt=0,
        description="a blink's lowered frames, before the lids meet, last ~0.1 s: shorter lowerings "
        "stay unknown",
    )
    max_gap_s: float = Field(1.0, gt=0, description="frames further apart break a lowered run")
    reopen_grace_s: float = Field(
        0.2,
        ge=0,
        description="a held look down read open for at most this long, then lowered again, is one "
        "look (a return to the screen and back takes longer): one glance, no new blink hold",
    )
    max_closed_s: float = Field(
        1.0,
        gt=0,
        description="eyes closed longer than a blink are not on the screen: EYES_OFF_SCREEN 'closed'",
    )


class GlanceConfig(ConfigSection):
    """READING_PATTERN from repeated looks down (notes on the desk, a phone in the lap)."""

    window_s: float = Field(20.0, gt=0)
    min_glances: int = Field(3, ge=1, description="looks down that ended with a return to the screen")
    min_glance_s: float = Field(0.4, ge=0, description="...each lowered this long at least")
    max_glance_s: float = Field(
        4.0, gt=0, description="longer looks are sustained (EYES_OFF_SCREEN's business), not glances"
    )


class StressConfig(ConfigSection):
    """Blink rate and head jitter against the candidate's own baseline, never a population norm."""

    baseline_s: float = Field(60.0, gt=0, description="stream time after the first face")
    baseline_min_observed_s: float = Field(30.0, gt=0, description="face time the baseline needs")
    window_s: float = Field(30.0, gt=0)
    min_window_observed_s: float = Field(15.0, gt=0)
    max_frame_gap_s: float = Field(0.5, gt=0, description="longer gaps are not observed time")
    # Head jitter on smoothed pose: medians over bin_s, motion between consecutive bins less a
    # deadband for landmark noise, so the figure does not grow with the frame rate.
    bin_s: float = Field(0.5, gt=0)
    min_bin_frames: int = Field(2, ge=1)
    deadband_deg: float = Field(3.0, ge=0)
    max_blink_s: float = Field(0.5, gt=0, description="longer closures are not blinks")
    blink_ratio: float = Field(2.0, ge=1)
    blink_min_increase_per_min: float = Field(6.0, ge=0)
    jitter_ratio: float = Field(2.0, ge=1)
    jitter_min_increase_deg_s: float = Field(2.0, ge=0)
    require: Literal["both", "either"] = "both"


class BehaviourConfig(ConfigSection):
    calibration: CalibrationConfig = CalibrationConfig()
    whispering: WhisperConfig = WhisperConfig()
    reading: ReadingConfig = ReadingConfig()
    looking_down: LookingDownConfig = LookingDownConfig()
    glances: GlanceConfig = GlanceConfig()
    stress: StressConfig = StressConfig()
