"""Gaze scenarios for the session engine: what a candidate's head, eyes, lids and mouth do, turned into
the gaze analyzer's measures (``GazeMeasures``), judged by the real ``GazeAnalyzer.judge`` against
the session's own neutral, and booked by the real ``SessionManager`` with configs/*.yaml.

Angles are degrees. Head angles are raw camera-frame pose: a face straight at the camera reads
about +10 of pitch with the generic face model, as the real fixtures do (0 to +17). Eye angles are
the eye's rotation in the head; ``lid_drop`` lowers the upper lid as the eye looking down does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from integrity.core.paths import REPO_ROOT
from integrity.core.results import EyeIris, HeadPose, ModelStatus, ObjectAnalysis
from integrity.session.manager import SessionManager
from integrity.session.policy import EffectivePolicy
from integrity.session.risk.config import RiskConfig
from integrity.session.state import EndOutcome, FrameFacts
from integrity.session.store import MemoryStore
from integrity.vision.gaze import EyeMeasure, GazeAnalyzer, GazeConfig, GazeMeasures
from tests.integrity.session.conftest import FakeClock

RADIUS = 0.4  # eyeball radius in eye widths (configs/gaze.yaml)
UPPER, LOWER = 0.24, 0.07  # this candidate's lids above/below the eye-corner line, eye widths
H0, V0 = 0.5, -0.1  # iris at rest
FRONTAL_PITCH = 10.0


@dataclass(frozen=True)
class Look:
    head_yaw: float = 0.0
    head_pitch: float = FRONTAL_PITCH
    eye_yaw: float = 0.0
    eye_pitch: float = 0.0
    lid_drop: float = 0.0  # degrees the upper lid is lowered (looking down)
    closed: bool = False
    mouth: float = 0.03  # inner-lip opening over mouth width
    eye_span_px: float = 40.0
    mouth_px: float = 60.0


SCREEN = Look()


def keyboard(head_yaw: float = 0.0) -> Look:
    """Eyes on the keyboard: head pitched ~20 degrees down, eyes and lids down."""
    return Look(head_yaw=head_yaw, head_pitch=FRONTAL_PITCH - 20, eye_pitch=-20, lid_drop=22)


def measures(look: Look, rng: np.random.Generator) -> GazeMeasures:
    """The measures a real face doing ``look`` gives, with landmark and iris noise."""
    drop = RADIUS * math.sin(math.radians(look.lid_drop))
    upper = 0.02 if look.closed else UPPER - drop + rng.normal(0, 0.004)
    lower = 0.02 if look.closed else LOWER + rng.normal(0, 0.003)
    hidden = look.closed or look.lid_drop >= 12  # a lowered lid covers most of the iris
    eyes = []
    for side in ("image_left", "image_right"):
        iris = None
        if not hidden:
            h = H0 + RADIUS * math.sin(math.radians(look.eye_yaw)) + rng.normal(0, 0.008)
            v = V0 - RADIUS * math.sin(math.radians(look.eye_pitch)) + rng.normal(0, 0.008)
            iris = EyeIris(side=side, h_ratio=h, v_ratio=v, confidence=0.8, center=(0.0, 0.0))
        readable = look.eye_span_px >= 12
        eyes.append(
            EyeMeasure(
                side=side,
                span_px=look.eye_span_px,
                upper=upper,
                lower=lower,
                aspect_ratio=upper + lower,
                darkness=0.5 if readable else None,
                iris=iris if readable else None,
            )
        )
    pose = HeadPose(
        yaw=look.head_yaw + rng.normal(0, 1.0), pitch=look.head_pitch + rng.normal(0, 1.0), roll=0.0
    )
    return GazeMeasures(pose=pose, eyes=eyes, mouth_aspect_ratio=look.mouth, mouth_width_px=look.mouth_px)


Script = list[tuple[float, Look]]


def hold(look: Look, seconds: float, start: float, fps: float) -> Script:
    return [(start + i / fps, look) for i in range(round(seconds * fps))]


def blinking(script: Script, every_s: float = 3.7, blink_s: float = 0.2) -> Script:
    """Natural blinks: eyes closed for ``blink_s`` every ``every_s``."""
    return [(t, replace(look, closed=True) if (t % every_s) < blink_s else look) for t, look in script]


def no_objects() -> ObjectAnalysis:
    return ObjectAnalysis(status=ModelStatus(available=True), objects=[])


ANALYZER = GazeAnalyzer(GazeConfig.load(REPO_ROOT / "configs" / "gaze.yaml"))


async def play(
    script: Iterable[tuple[float, Look | None]],
    objects: Callable[[float], ObjectAnalysis] = lambda t: no_objects(),
    seed: int = 7,
    policy: EffectivePolicy | None = None,
) -> EndOutcome:
    """Run the script through a real session (under ``policy``): plan (the neutral), judge, record, end."""
    clock = FakeClock()
    start = clock.now
    rng = np.random.default_rng(seed)
    manager = SessionManager(MemoryStore(), RiskConfig.load(), expire_seconds=3600, clock=clock)
    sid = (await manager.create("scenario", policy=policy)).session_id
    for t, look in script:
        clock.now = start + t
        plan = await manager.plan_frame(sid, None)
        gaze = None if look is None else ANALYZER.judge(measures(look, rng), plan.neutral)
        facts = FrameFacts(
            timestamp=plan.timestamp,
            received_at=plan.received_at,
            faces=0 if look is None else 1,
            gaze=gaze,
            objects=objects(t),
        )
        await manager.record_frame(sid, facts)
    return await manager.end(sid)
