"""Issue 11 gaze scenarios: honest interview behaviour ends CLEAN, cheating SUSPICIOUS or CHEATING.

Each scenario drives the real gaze judgement, behaviour tracker, risk engine and configuration
through a SessionManager on a server clock (tests/integrity/session/gaze_scenes.py).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from integrity.core.enums import EventType, Verdict
from integrity.session.risk.config import RiskConfig
from integrity.session.risk.engine import RiskEngine
from integrity.session.state import EndOutcome
from tests.integrity.session.gaze_scenes import (
    FRONTAL_PITCH,
    SCREEN,
    Look,
    Script,
    blinking,
    hold,
    keyboard,
    play,
)

CAUGHT = {Verdict.SUSPICIOUS, Verdict.CHEATING}


def fired(outcome: EndOutcome, event: EventType) -> int:
    return outcome.summary.event_counts.get(str(event), 0)


def on_screen(seconds: float, start: float, fps: float, base: Look = SCREEN, seed: int = 3) -> Script:
    """Working at the screen: eyes moving about it (within ~10 degrees), head swaying a little."""
    rng = np.random.default_rng(seed)
    out: Script = []
    target = (0.0, 0.0)
    for i in range(round(seconds * fps)):
        t = start + i / fps
        if i % max(1, round(0.7 * fps)) == 0:
            target = (float(rng.uniform(-10, 10)), float(rng.uniform(-6, 6)))
        sway = 2.5 * math.sin(2 * math.pi * 0.15 * t)
        look = replace(
            base, head_yaw=base.head_yaw + sway, eye_yaw=base.eye_yaw + target[0], eye_pitch=target[1]
        )
        out.append((t, look))
    return blinking(out)


def speaking(script: Script, seed: int = 5) -> Script:
    """Speech: the lips open and close 2-5 times a second, 0.10-0.28 of the mouth width."""
    rng = np.random.default_rng(seed)
    rate = 3.0
    out: Script = []
    for t, look in script:
        if rng.random() < 0.05:
            rate = float(rng.uniform(2.0, 5.0))
        opening = 0.10 + 0.18 * abs(math.sin(math.pi * rate * t))
        out.append((t, replace(look, mouth=opening)))
    return out


async def test_answers_aloud_150_s() -> None:
    fps = 10.0
    script = on_screen(5.0, 0.0, fps) + speaking(on_screen(150.0, 5.0, fps, seed=4))
    # Thinking while answering: a look up and aside for 1.2 s every 25 s.
    script = [
        (t, replace(look, eye_yaw=-15, eye_pitch=12) if t > 10 and (t % 25) < 1.2 else look)
        for t, look in script
    ]
    outcome = await play(script)
    assert outcome.verdict is Verdict.CLEAN
    assert outcome.summary.peak_risk_score == 0.0  # WHISPERING, if reported, carries no risk
    assert fired(outcome, EventType.EYES_OFF_SCREEN) == 0


async def test_reads_the_question_110_s() -> None:
    fps = 10.0
    script: Script = on_screen(5.0, 0.0, fps)
    t = 5.0
    while t < 115.0:  # lines of the question: a 2 s sweep across, then a jump back
        for i in range(round(2.0 * fps)):
            script.append((t, replace(SCREEN, eye_yaw=-12 + 24 * i / (2.0 * fps))))
            t += 1 / fps
    outcome = await play(blinking(script))
    assert outcome.verdict is Verdict.CLEAN
    assert fired(outcome, EventType.READING_PATTERN) == 0
    assert outcome.summary.peak_risk_score == 0.0


async def test_keyboard_during_calibration() -> None:
    fps = 5.0
    script = hold(keyboard(), 3.2, 0.0, fps) + on_screen(120.0, 3.2, fps)
    outcome = await play(script)
    assert outcome.verdict is Verdict.CLEAN
    # The 3.2 s look at the keyboard is itself one look down; nothing after it.
    assert [e.type for e in outcome.summary.timeline] in ([], [EventType.EYES_OFF_SCREEN])
    assert all(e.timestamp - outcome.summary.started_at < 4.0 for e in outcome.summary.timeline)
    behaviour = outcome.summary.behaviour
    assert behaviour is not None and behaviour.calibration in {"calibrated", "refined"}
    assert abs(behaviour.neutral.pitch - FRONTAL_PITCH) < 4  # the screen, not the keyboard
    quality = behaviour.calibration_quality
    assert quality is not None and sum(quality.rejected.values()) >= 15  # the keyboard frames


async def test_camera_35_degrees_aside() -> None:
    fps = 5.0
    aside = replace(SCREEN, head_yaw=35.0, eye_yaw=3.0)
    outcome = await play(on_screen(150.0, 0.0, fps, base=aside))
    assert outcome.verdict is Verdict.CLEAN and outcome.summary.peak_risk_score == 0.0
    behaviour = outcome.summary.behaviour
    assert behaviour is not None and behaviour.calibration in {"calibrated", "refined"}
    assert abs(behaviour.neutral.yaw - 35.0) < 4


async def test_notes_22_degrees_aside_from_the_start() -> None:
    fps = 5.0
    notes = replace(SCREEN, head_yaw=8.0, eye_yaw=14.0)
    script: Script = hold(notes, 4.0, 0.0, fps)
    t = 4.0
    while t < 300.0:  # answers from the screen, then the notes, for 5 minutes
        script += on_screen(6.0, t, fps, seed=int(t))
        script += hold(notes, 4.0, t + 6.0, fps)
        t += 10.0
    outcome = await play(blinking(script))
    assert outcome.verdict in CAUGHT
    assert fired(outcome, EventType.EYES_OFF_SCREEN) >= 10


async def test_phone_in_lap_eyes_lowered() -> None:
    fps = 5.0
    # Reading a phone in the lap: head a little down, lids lowered to ~0.65 of the calibrated
    # opening (a blink-like narrowing), the phone itself below the frame.
    lap = replace(SCREEN, head_pitch=FRONTAL_PITCH - 8, eye_pitch=-25, lid_drop=16)
    script = on_screen(10.0, 0.0, fps)
    t = 10.0
    while t < 190.0:
        script += hold(lap, 8.0, t, fps) + on_screen(12.0, t + 8.0, fps, seed=int(t))
        t += 20.0
    outcome = await play(script)
    assert outcome.verdict in CAUGHT
    timeline = [e for e in outcome.summary.timeline if e.type is EventType.EYES_OFF_SCREEN]
    assert len(timeline) >= 5 and all(e.evidence.get("direction") == "down" for e in timeline)
    assert all(e.risk_increase == 15 for e in timeline)  # 8 s looks: past the 4 s a look down needs


async def test_head_29_plus_eyes_11_for_5_min() -> None:
    fps = 5.0
    away = replace(SCREEN, head_yaw=29.0, eye_yaw=11.0)  # each under its own limit; 40 in all
    outcome = await play(on_screen(5.0, 0.0, fps) + blinking(hold(away, 300.0, 5.0, fps)))
    assert outcome.verdict in CAUGHT
    event = next(e for e in outcome.summary.timeline if e.type is EventType.EYES_OFF_SCREEN)
    assert event.evidence["gaze_yaw_deg"] >= 35 and event.duration_s is not None
    assert event.duration_s >= 290


async def test_eyes_too_small_are_reported() -> None:
    fps = 5.0
    far = replace(SCREEN, eye_span_px=9.0, mouth_px=15.0)
    outcome = await play(hold(far, 20.0, 0.0, fps))
    assert outcome.verdict is Verdict.CLEAN
    coverage = outcome.summary.coverage[str(EventType.EYES_OFF_SCREEN)]
    assert coverage.unknown_s >= 19 and coverage.observed_s <= 1


async def _jitter(fps: float, fidget: float, seed: int) -> float | None:
    """Head jitter the session reports after 90 s: smooth fidgeting of ``fidget`` degrees amplitude
    plus landmark noise, at ``fps``."""
    rng = np.random.default_rng(seed)
    script: Script = []
    for i in range(round(90 * fps)):
        t = i / fps
        yaw = fidget * math.sin(2 * math.pi * 0.4 * t) + rng.normal(0, 2.5)
        pitch = FRONTAL_PITCH + fidget * math.sin(2 * math.pi * 0.25 * t + 1) + rng.normal(0, 2.5)
        script.append((t, replace(SCREEN, head_yaw=yaw, head_pitch=pitch)))
    outcome = await play(script)
    assert outcome.summary.behaviour is not None
    return outcome.summary.behaviour.head_jitter_deg_s


async def test_stress_jitter_does_not_grow_with_the_frame_rate() -> None:
    still = [await _jitter(fps, 0.0, seed=1) for fps in (5.0, 15.0)]
    fidgeting = [await _jitter(fps, 12.0, seed=2) for fps in (5.0, 15.0)]
    noise = [j or 0.0 for j in still]
    slow, fast = (j or 0.0 for j in fidgeting)
    assert max(noise) < 0.25 * min(slow, fast), (noise, slow, fast)  # landmark noise is not motion
    assert 0.75 <= fast / slow <= 1.33, (slow, fast)


async def test_glances_at_the_keyboard_2_s_every_20_s() -> None:
    """Typing: three 2 s looks down at the keyboard, 20 s apart. Each is a look down (reported),
    none lasts the 4 s a look down needs to carry risk."""
    fps = 5.0
    script = on_screen(10.0, 0.0, fps)
    t = 10.0
    for k in range(3):
        script += hold(keyboard(), 2.0, t, fps) + on_screen(18.0, t + 2.0, fps, seed=k)
        t += 20.0
    outcome = await play(script + on_screen(30.0, t, fps))
    assert outcome.verdict is Verdict.CLEAN and outcome.summary.peak_risk_score == 0.0
    looks = [e for e in outcome.summary.timeline if e.type is EventType.EYES_OFF_SCREEN]
    assert len(looks) == 3 and all(e.risk_increase == 0 and e.evidence["risk_after_s"] == 4.0 for e in looks)
    # A review replays the events as they were: the glances stay at no risk.
    assert RiskEngine(RiskConfig.load()).replay(outcome.summary.timeline).peak == 0.0
