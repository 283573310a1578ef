"""Each behaviour detector on synthetic landmark sequences, with the look-alikes it must ignore."""

from __future__ import annotations

import math

import numpy as np
import pytest

from integrity.core.enums import EventType, GazeDirection
from integrity.session.behaviour.config import StressConfig
from integrity.session.behaviour.detectors import Tally, stress
from tests.integrity.session.behaviour.conftest import Runner, timeline
from tests.synthetic_face import Pose

CALIBRATE = [(t, Pose()) for t in timeline(3.5, 15)]


def reading_lines(
    lines: int, start: float, fps: float = 15.0, sweep_s: float = 1.5, yaw_px: float = 0.0
) -> list[tuple[float, Pose]]:
    """Each line: the iris drifts from h 0.58 to 0.42 (toward image-left), then jumps back."""
    out = []
    t = start
    for _ in range(lines):
        for i in range(round(sweep_s * fps)):
            out.append((t, Pose(h=0.58 - 0.16 * i / (sweep_s * fps), yaw_px=yaw_px)))
            t += 1 / fps
    out.append((t, Pose(h=0.58, yaw_px=yaw_px)))
    return out


NOTES_ASIDE_PX = 14.0  # the head turned ~23 degrees toward notes beside the screen


# -- READING_PATTERN ---------------------------------------------------------------------------------
def test_reading_notes_beside_the_screen_raises_reading_pattern(run_sequence: Runner) -> None:
    run = run_sequence(CALIBRATE + reading_lines(4, start=3.5, yaw_px=NOTES_ASIDE_PX))
    fired = run.fired(EventType.READING_PATTERN)
    assert len(fired) == 1
    evidence = fired[0].evidence
    assert evidence["lines"] >= evidence["threshold_lines"] == 3
    assert evidence["sweep_toward"] == "image-left"
    assert evidence["mean_jump_deg"] >= evidence["threshold_jump_deg"]


def test_reading_the_question_on_the_screen_is_not_reading_pattern(run_sequence: Runner) -> None:
    run = run_sequence(CALIBRATE + reading_lines(6, start=3.5))
    assert run.fired(EventType.READING_PATTERN) == []
    assert run.fired(EventType.EYES_OFF_SCREEN) == []  # the sweeps stay on the screen
    last = run.observations[-2][EventType.READING_PATTERN]
    assert last.value is False and last.evidence["lines_on_screen"] >= 3


def test_one_glance_aside_and_back_is_not_reading(run_sequence: Runner) -> None:
    glance = [(t, Pose(h=0.3)) for t in timeline(4.0, 15, start=3.5)]
    back = [(t, Pose()) for t in timeline(4.0, 15, start=7.5)]
    run = run_sequence(CALIBRATE + glance + back)
    assert run.fired(EventType.READING_PATTERN) == []
    assert len(run.fired(EventType.EYES_OFF_SCREEN)) == 1


def test_smooth_back_and_forth_without_return_jumps_is_not_reading(run_sequence: Runner) -> None:
    wander = [(t, Pose(h=0.5 + 0.08 * math.sin(2 * math.pi * 0.4 * t))) for t in timeline(8.0, 15, start=3.5)]
    run = run_sequence(CALIBRATE + wander)
    assert run.fired(EventType.READING_PATTERN) == []


# -- WHISPERING ---------------------------------------------------------------------------------------
def lips(
    seconds: float, start: float, amplitude: float, mean: float, head_px: float = 0.0
) -> list[tuple[float, Pose]]:
    return [
        (
            t,
            Pose(
                mouth_open=max(0.0, mean + amplitude * math.sin(2 * math.pi * 3.0 * t)),
                yaw_px=head_px * math.sin(2 * math.pi * 0.7 * t),
            ),
        )
        for t in timeline(seconds, 15, start=start)
    ]


def test_small_lip_movements_with_a_still_face_raise_whispering(run_sequence: Runner) -> None:
    run = run_sequence(CALIBRATE + lips(4.0, 3.5, amplitude=0.05, mean=0.06))
    fired = run.fired(EventType.WHISPERING)
    assert len(fired) == 1 and fired[0].timestamp >= 3.5 + 2.0
    evidence = fired[0].evidence
    assert evidence["mar_std"] >= evidence["threshold_mar_std"]
    assert evidence["lip_cycles"] >= evidence["threshold_cycles"]
    assert evidence["head_motion_deg"] <= evidence["threshold_head_motion_deg"]


def test_closed_mouth_moving_head_or_open_speech_is_not_whispering(run_sequence: Runner) -> None:
    for sequence in (
        lips(4.0, 3.5, amplitude=0.0, mean=0.0),  # still and silent
        lips(4.0, 3.5, amplitude=0.05, mean=0.06, head_px=8.0),  # lips move but so does the head
        lips(4.0, 3.5, amplitude=0.15, mean=0.4),  # wide openings: plain speech
    ):
        run = run_sequence(CALIBRATE + sequence)
        assert run.fired(EventType.WHISPERING) == []


# -- blinks and STRESS_HIGH ---------------------------------------------------------------------------
def behaviour(
    seconds: float, start: float, blink_every_s: float, jitter_px: float, seed: int
) -> list[tuple[float, Pose]]:
    """10 fps; a blink is two frames with the lids nearly shut; the head wobbles by ``jitter_px``."""
    rng = np.random.default_rng(seed)
    out = []
    for t in timeline(seconds, 10, start=start):
        phase = (t - start) % blink_every_s
        closed = phase < 0.15
        out.append((t, Pose(eye_open=0.1 if closed else 1.0, yaw_px=float(rng.normal(0, jitter_px)))))
    return out


@pytest.mark.slow
def test_blink_burst_and_jitter_above_own_baseline_raise_stress(run_sequence: Runner) -> None:
    baseline = behaviour(60.0, 0.0, blink_every_s=5.0, jitter_px=0.3, seed=1)
    burst = behaviour(30.0, 60.0, blink_every_s=1.5, jitter_px=3.0, seed=2)
    run = run_sequence(baseline + burst)
    assert all(g.direction is GazeDirection.UNKNOWN for g in run.gazes if g.blink)
    fired = run.fired(EventType.STRESS_HIGH)
    assert len(fired) == 1 and fired[0].timestamp > 60.0
    evidence = fired[0].evidence
    assert 10 <= evidence["baseline_blink_rate_per_min"] <= 14  # one blink every 5 s
    assert evidence["blink_rate_per_min"] >= evidence["threshold_blink_rate_per_min"]
    assert evidence["head_jitter_deg_s"] >= evidence["threshold_head_jitter_deg_s"]
    assert run.fired(EventType.EYES_OFF_SCREEN) == []  # closed eyes are unknown, not "off screen"


@pytest.mark.slow
def test_a_candidate_who_always_blinks_a_lot_is_not_stressed(run_sequence: Runner) -> None:
    """Same high rates from the start: the baseline is the candidate's own, not a population norm."""
    run = run_sequence(behaviour(90.0, 0.0, blink_every_s=1.5, jitter_px=3.0, seed=3))
    assert run.snapshots[-1].baseline_blink_rate_per_min is not None
    assert run.snapshots[-1].baseline_blink_rate_per_min > 30
    assert run.fired(EventType.STRESS_HIGH) == []


def test_stress_rule_needs_a_baseline_and_enough_window() -> None:
    cfg = StressConfig()
    high = Tally(observed_s=30.0, blinks=30, motion_deg=300.0)
    calm = Tally(observed_s=60.0, blinks=12, motion_deg=60.0)
    assert stress(high, None, cfg).value is None
    assert stress(Tally(observed_s=5.0, blinks=5, motion_deg=50.0), calm, cfg).value is None
    assert stress(high, calm, cfg).value is True
    blinks_only = Tally(observed_s=30.0, blinks=30, motion_deg=30.0)
    assert stress(blinks_only, calm, cfg).value is False
    assert stress(blinks_only, calm, cfg.model_copy(update={"require": "either"})).value is True
