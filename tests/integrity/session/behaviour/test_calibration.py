"""Per-candidate calibration: decisions are relative to the candidate's own neutral pose."""

from __future__ import annotations

from integrity.core.enums import EventType, GazeDirection
from tests.integrity.session.behaviour.conftest import Runner, timeline
from tests.synthetic_face import Pose

OFF_CENTRE = Pose(h=0.6, yaw_px=10)  # camera to one side: "straight at the screen" reads as turned


def test_off_centre_camera_is_calibrated_away(run_sequence: Runner) -> None:
    run = run_sequence((t, OFF_CENTRE) for t in timeline(15.0, 10))
    first = run.gazes[0]
    assert first.neutral is not None and first.neutral.source == "default"
    assert first.direction is GazeDirection.RIGHT and first.eyes_off_screen  # generic defaults
    calibrated_at = next(i for i, s in enumerate(run.snapshots) if s.calibration == "calibrated")
    assert calibrated_at <= 31  # 3 s of stream time at 10 fps
    neutral = run.snapshots[-1].neutral
    assert neutral.yaw > 10 and neutral.h_ratio > 0.55
    # Once a handful of frames are in, the provisional neutral already centres the gaze.
    assert all(g.direction is GazeDirection.CENTER for g in run.gazes[6:])
    assert run.events == []


def test_looking_away_after_calibration_is_judged_against_it(run_sequence: Runner) -> None:
    sequence = [(t, OFF_CENTRE) for t in timeline(4.0, 10)]
    sequence += [(t, Pose(h=0.35, yaw_px=10)) for t in timeline(4.0, 10, start=4.0)]
    run = run_sequence(sequence)
    fired = run.fired(EventType.EYES_OFF_SCREEN)
    assert len(fired) == 1 and 6.0 <= fired[0].timestamp <= 6.5
    evidence = fired[0].evidence
    assert evidence["calibration"] == "calibrated"
    assert evidence["gaze_yaw_deg"] <= -evidence["threshold_yaw_deg"]
    assert evidence["neutral_h_ratio"] > 0.55 and evidence["iris_h_ratio"] < 0.4
    assert {"timestamp", "held_s"} <= set(fired[0].model_dump()) | set(evidence)


def test_turned_and_blinking_frames_are_not_taken_as_neutral(run_sequence: Runner) -> None:
    sequence = [(t, Pose(yaw_px=-60)) for t in timeline(2.0, 10)]  # turned ~50 degrees at the start
    sequence += [(t, Pose(eye_open=0.1)) for t in timeline(0.5, 10, start=2.0)]  # eyes closed
    sequence += [(t, Pose()) for t in timeline(4.0, 10, start=2.5)]
    run = run_sequence(sequence)
    quality = run.state.calibration.quality
    assert quality.rejected == {"head_turned": 20, "eyes_closed_or_lowered": 5}
    neutral = run.snapshots[-1].neutral
    assert neutral.source == "calibrated"
    assert abs(neutral.yaw) < 5 and neutral.eye_aspect_ratio > 0.25
    # The turned start is judged against the generic default and reads as looking away.
    assert run.gazes[0].head_turned is True


def test_a_wandering_start_waits_for_a_steady_stretch(run_sequence: Runner) -> None:
    """Turned 30 degrees for 2 s (a plausible camera placement, but not where the face then stays),
    then frontal: the stretch is not steady, so the calibration waits and takes the frontal one."""
    sequence = [(t, Pose(yaw_px=20)) for t in timeline(2.0, 10)]
    sequence += [(t, Pose()) for t in timeline(5.0, 10, start=2.0)]
    run = run_sequence(sequence)
    quality = run.state.calibration.quality
    assert quality.restarts >= 1 and quality.rejected == {}
    neutral = run.snapshots[-1].neutral
    assert neutral.source == "calibrated" and abs(neutral.yaw) < 5


def test_a_one_fps_camera_is_calibrated_after_three_seconds(run_sequence: Runner) -> None:
    """Four frames at 0, 1, 2 and 3 s cover the calibration's 3 s: that is a neutral, though fewer
    than the five a faster camera must give."""
    run = run_sequence((t, OFF_CENTRE) for t in timeline(6.0, 1))
    calibration = [s.calibration for s in run.snapshots]
    assert calibration.index("calibrated") == 3, calibration
    assert run.snapshots[-1].neutral.yaw > 10 and run.events == []


def test_four_frames_within_a_moment_are_not_a_neutral(run_sequence: Runner) -> None:
    """Turned away for the first 3 s, then steady at 10 fps: four frames within 0.3 s do not cover
    the 3 s a sparse camera's four do, so the neutral waits for the fifth frame."""
    sequence = [(t, Pose(yaw_px=-60)) for t in timeline(3.0, 10)]
    sequence += [(t, Pose()) for t in timeline(1.0, 10, start=3.0)]
    run = run_sequence(sequence)
    calibration = [s.calibration for s in run.snapshots]
    assert calibration.index("calibrated") == 34, calibration  # the frame at 3.4 s
