"""Per-candidate calibration: the neutral gaze and head pose from the first seconds of a session.

Gaze decisions are made relative to it, so a camera placed off-centre (the candidate's "straight at
the screen" reads as 15 degrees of yaw) does not make the candidate look away all session.
"""

from __future__ import annotations

import statistics

from pydantic import BaseModel, Field

from integrity.core.results import GazeAnalysis, GazeNeutral, NeutralSource
from integrity.session.behaviour.config import CalibrationConfig


class CalibrationSample(BaseModel):
    yaw: float
    pitch: float
    ear: float
    upper_lid: float | None = None
    lower_lid: float | None = None
    darkness: float | None = None
    h: float | None = None
    v: float | None = None


class Calibration(BaseModel):
    started_at: float | None = None  # stream time of the first face
    done: bool = False
    samples: list[CalibrationSample] = Field(default_factory=list)
    rejected: int = 0
    result: GazeNeutral | None = None  # set when calibration is done

    def add(self, gaze: GazeAnalysis, ts: float, cfg: CalibrationConfig) -> None:
        """Offer one frame; frames that cannot be neutral (blinks and lowered lids against the
        neutral so far, an eye unreadable, turned, eyes aside) are skipped. The medians are then
        taken over the more open-eyed half, which leaves out what the neutral so far let through."""
        if self.done or gaze.head_pose is None or gaze.eye_aspect_ratio is None:
            return
        if self.started_at is None:
            self.started_at = ts
        pose, iris = gaze.head_pose, gaze.iris
        usable = (
            not gaze.blink
            and gaze.lids_open
            and not gaze.unreadable_eyes
            and abs(pose.yaw) <= cfg.max_yaw_deg
            and abs(pose.pitch) <= cfg.max_pitch_deg
            and (iris is None or abs(iris.h_ratio - 0.5) <= cfg.max_h_offset)
        )
        if usable and len(self.samples) < cfg.max_samples:
            self.samples.append(
                CalibrationSample(
                    yaw=pose.yaw,
                    pitch=pose.pitch,
                    ear=gaze.eye_aspect_ratio,
                    upper_lid=None if gaze.lids is None else gaze.lids.upper,
                    lower_lid=None if gaze.lids is None else gaze.lids.lower,
                    darkness=gaze.eye_darkness,
                    h=None if iris is None else iris.h_ratio,
                    v=None if iris is None else iris.v_ratio,
                )
            )
        elif not usable:
            self.rejected += 1
        if ts - self.started_at >= cfg.duration_s and len(self.samples) >= cfg.min_samples:
            self.result = self._median("calibrated")
            self.done = True
            self.samples = []  # the medians are all that is needed from here on

    def neutral(self, cfg: CalibrationConfig) -> GazeNeutral:
        if self.result is not None:
            return self.result
        if len(self.samples) >= cfg.min_samples:
            return self._median("provisional")
        return GazeNeutral()

    def _median(self, source: NeutralSource) -> GazeNeutral:
        """Head pose and iris: medians over the samples. Eye opening and lids: medians over the
        more open-eyed half of them, since blinks, winks, squints and looks down all narrow the
        eyes (judging each frame against a neutral still being made would be circular)."""
        default = GazeNeutral()
        cut = statistics.median(s.ear for s in self.samples)
        opened = [s for s in self.samples if s.ear >= cut]
        hs = [s.h for s in self.samples if s.h is not None]
        vs = [s.v for s in self.samples if s.v is not None]
        uppers = [s.upper_lid for s in opened if s.upper_lid is not None]
        lowers = [s.lower_lid for s in opened if s.lower_lid is not None]
        darks = [s.darkness for s in self.samples if s.darkness is not None]
        return GazeNeutral(
            yaw=round(statistics.median(s.yaw for s in self.samples), 2),
            pitch=round(statistics.median(s.pitch for s in self.samples), 2),
            h_ratio=round(statistics.median(hs), 4) if hs else default.h_ratio,
            v_ratio=round(statistics.median(vs), 4) if vs else default.v_ratio,
            eye_aspect_ratio=round(statistics.median(s.ear for s in opened), 4),
            upper_lid=round(statistics.median(uppers), 4) if uppers else default.upper_lid,
            lower_lid=round(statistics.median(lowers), 4) if lowers else default.lower_lid,
            eye_darkness=round(statistics.median(darks), 4) if darks else None,
            source=source,
            samples=len(self.samples),
        )
