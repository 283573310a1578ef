"""Per-candidate calibration: the neutral gaze and head pose from the first steady seconds of a
session, refined from where the gaze dwells over the long run.

Gaze decisions are made relative to it, so a camera placed off-centre (the candidate's "straight at
the screen" reads as 15 or 35 degrees of yaw) does not make the candidate look away all session. It
cannot be gamed or misled by what the first seconds show: frames that cannot be a look at a screen
(turned beyond any plausible camera placement, pitched down at a keyboard, eyes far aside, lids
lowered or closed) are not taken, a stretch that wanders is not taken, and once calibrated the
neutral follows the place the candidate's gaze dwells at most of the time, within limits.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from pydantic import BaseModel, Field

from integrity.core.geometry import rotation_deg
from integrity.core.results import GazeAnalysis, GazeNeutral, NeutralSource
from integrity.session.behaviour.config import CalibrationConfig


class CalibrationSample(BaseModel):
    t: float = 0.0
    yaw: float
    pitch: float
    ear: float
    upper_lid: float | None = None
    lower_lid: float | None = None
    darkness: float | None = None
    mouth: float | None = None  # lips against the cheeks (grey levels)
    h: float | None = None
    v: float | None = None
    down: float | None = None  # eye blendshapes (Face Landmarker)
    up: float | None = None


class Dwell(BaseModel):
    """One second of attentive gaze (eyes open and read): the medians of its frames."""

    t: float
    yaw: float
    pitch: float
    h: float
    v: float


class CalibrationQuality(BaseModel):
    """How the neutral was found, for the reviewer and the frame's details."""

    samples: int = Field(0, description="frames the neutral was taken from")
    rejected: dict[str, int] = Field(default_factory=dict, description="frames not taken, by reason")
    restarts: int = Field(0, description="stretches dropped because the gaze wandered too much")
    spread_yaw_deg: float | None = None
    spread_pitch_deg: float | None = None
    spread_h: float | None = None
    refinements: int = Field(0, description="times the long-run dwell moved the neutral")
    shift_deg: float = Field(0.0, description="the refined neutral's distance from the calibrated one")


class Calibration(BaseModel):
    started_at: float | None = None  # stream time of the first face
    done: bool = False
    samples: list[CalibrationSample] = Field(default_factory=list)
    rejected: int = 0
    quality: CalibrationQuality = Field(default_factory=CalibrationQuality)
    result: GazeNeutral | None = None  # set when calibration is done
    calibrated: GazeNeutral | None = None  # the neutral as first calibrated (refinement's anchor)
    second: list[CalibrationSample] = Field(default_factory=list)  # this second's attentive frames
    dwell: list[Dwell] = Field(default_factory=list)
    refined_at: float | None = None

    def add(self, gaze: GazeAnalysis, ts: float, cfg: CalibrationConfig) -> None:
        """Offer one frame: a calibration sample until done, then a dwell sample for refinement."""
        if gaze.head_pose is None or gaze.eye_aspect_ratio is None:
            return
        if self.started_at is None:
            self.started_at = ts
        if self.done:
            self._dwell(gaze, ts, cfg)
            return
        reason = _unusable(gaze, cfg)
        if reason is not None:
            self.rejected += 1
            self.quality.rejected[reason] = self.quality.rejected.get(reason, 0) + 1
        else:
            pose, iris, lids = gaze.head_pose, gaze.iris, gaze.lids
            self.samples.append(
                CalibrationSample(
                    t=ts,
                    yaw=pose.yaw,
                    pitch=pose.pitch,
                    ear=gaze.eye_aspect_ratio,
                    upper_lid=None if lids is None else lids.upper,
                    lower_lid=None if lids is None else lids.lower,
                    darkness=gaze.eye_darkness,
                    mouth=gaze.mouth_contrast,
                    h=None if iris is None else iris.h_ratio,
                    v=None if iris is None else iris.v_ratio,
                    down=None if gaze.eye_scores is None else gaze.eye_scores.down,
                    up=None if gaze.eye_scores is None else gaze.eye_scores.up,
                )
            )
            self.samples = self.samples[-cfg.max_samples :]
        if ts - self.started_at < cfg.duration_s or not self._enough(cfg):
            return
        spread = _spread(self.samples)
        self.quality.spread_yaw_deg, self.quality.spread_pitch_deg, self.quality.spread_h = spread
        if (
            spread[0] > cfg.max_spread_deg
            or spread[1] > cfg.max_spread_deg
            or (spread[2] or 0.0) > cfg.max_h_spread
        ):
            # The gaze wandered: keep only the latest duration_s and wait for a steadier stretch.
            self.samples = [s for s in self.samples if ts - s.t < cfg.duration_s]
            self.quality.restarts += 1
            return
        self.result = self.calibrated = self._median("calibrated")
        self.quality.samples = len(self.samples)
        self.done = True
        self.samples = []  # the medians are all that is needed from here on
        self.refined_at = ts

    def _enough(self, cfg: CalibrationConfig) -> bool:
        """Enough samples for a neutral: ``min_samples``, or fewer from a slow camera as long as
        they cover ``duration_s`` (one frame a second has four by 3 s)."""
        n = len(self.samples)
        return n >= cfg.min_samples or (
            n >= cfg.sparse_min_samples and self.samples[-1].t - self.samples[0].t >= cfg.duration_s
        )

    def pending(self, ts: float, cfg: CalibrationConfig) -> bool:
        """No neutral yet, and not yet given up waiting for one (``max_pending_s``)."""
        return not self.done and (self.started_at is None or ts - self.started_at < cfg.max_pending_s)

    def neutral(self, cfg: CalibrationConfig) -> GazeNeutral:
        if self.result is not None:
            return self.result
        if len(self.samples) >= cfg.min_samples:
            return self._median("provisional")
        return GazeNeutral()

    # -- long-run refinement ----------------------------------------------------------------------
    def _dwell(self, gaze: GazeAnalysis, ts: float, cfg: CalibrationConfig) -> None:
        """Attentive frames (eyes open, iris read, the face within the plausible bounds) go into
        per-second medians; every ``refine_every_s`` the place the gaze dwells at most is checked."""
        pose, iris = gaze.head_pose, gaze.iris
        if self.second and math.floor(ts) != math.floor(self.second[0].t):
            self.dwell.append(
                Dwell(
                    t=math.floor(self.second[0].t),
                    yaw=statistics.median(s.yaw for s in self.second),
                    pitch=statistics.median(s.pitch for s in self.second),
                    h=statistics.median(s.h for s in self.second if s.h is not None),
                    v=statistics.median(s.v for s in self.second if s.v is not None),
                )
            )
            self.second = []
            self.dwell = [d for d in self.dwell if ts - d.t <= cfg.refine_window_s]
        attentive = (
            pose is not None
            and iris is not None
            and not gaze.blink
            and gaze.lids_open
            and not gaze.unreadable_eyes
            and abs(pose.yaw) <= cfg.max_yaw_deg
            and cfg.min_pitch_deg - cfg.max_refine_deg <= pose.pitch <= cfg.max_pitch_deg
        )
        if attentive and pose is not None and iris is not None:
            self.second.append(
                CalibrationSample(
                    t=ts, yaw=pose.yaw, pitch=pose.pitch, ear=0.0, h=iris.h_ratio, v=iris.v_ratio
                )
            )
        if self.refined_at is not None and ts - self.refined_at >= cfg.refine_every_s:
            self.refined_at = ts
            self._refine(cfg)

    def _refine(self, cfg: CalibrationConfig) -> None:
        """Move the neutral to where the gaze dwelt at least ``refine_min_share`` of the recent
        attentive time, when that is ``refine_min_shift_deg`` or more away, within the bounds and
        at most ``max_refine_deg`` from the calibration."""
        if len(self.dwell) < cfg.refine_min_s or self.result is None or self.calibrated is None:
            return
        anchor = self.calibrated
        totals = [self._total(d, anchor, cfg) for d in self.dwell]
        best: list[int] = []
        for yaw, pitch in totals:
            near = [
                j
                for j, (y, p) in enumerate(totals)
                if math.hypot(y - yaw, p - pitch) <= cfg.refine_radius_deg
            ]
            if len(near) > len(best):
                best = near
        if len(best) < cfg.refine_min_share * len(self.dwell):
            return  # no one place holds the gaze: keep the neutral
        place = [self.dwell[j] for j in best]
        yaw = statistics.median(d.yaw for d in place)
        pitch = statistics.median(d.pitch for d in place)
        h = statistics.median(d.h for d in place)
        v = statistics.median(d.v for d in place)
        current = self._total(
            Dwell(
                t=0,
                yaw=self.result.yaw,
                pitch=self.result.pitch,
                h=self.result.h_ratio,
                v=self.result.v_ratio,
            ),
            anchor,
            cfg,
        )
        target = self._total(Dwell(t=0, yaw=yaw, pitch=pitch, h=h, v=v), anchor, cfg)
        if math.hypot(target[0] - current[0], target[1] - current[1]) < cfg.refine_min_shift_deg:
            return
        shift = math.hypot(target[0] - anchor.yaw, target[1] - anchor.pitch)
        if shift > cfg.max_refine_deg:
            return  # too far from anything the calibration saw: not trusted as the screen
        bounded = (
            abs(yaw) <= cfg.max_yaw_deg
            and cfg.min_pitch_deg <= pitch <= cfg.max_pitch_deg
            and abs(h - 0.5) <= cfg.max_h_offset
            and cfg.min_v <= v <= cfg.max_v
        )
        if not bounded:
            return
        self.result = self.result.model_copy(
            update={
                "yaw": round(yaw, 2),
                "pitch": round(pitch, 2),
                "h_ratio": round(h, 4),
                "v_ratio": round(v, 4),
                "source": "refined",
            }
        )
        self.quality.refinements += 1
        self.quality.shift_deg = round(shift, 2)

    @staticmethod
    def _total(d: Dwell, anchor: GazeNeutral, cfg: CalibrationConfig) -> tuple[float, float]:
        """Head plus eye-in-head rotation (against the calibrated iris centre), degrees."""
        eye_yaw = rotation_deg(d.h - anchor.h_ratio, cfg.eyeball_radius)
        eye_pitch = -rotation_deg(d.v - anchor.v_ratio, cfg.eyeball_radius)
        return d.yaw + eye_yaw, d.pitch + eye_pitch

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
        mouths = [s.mouth for s in self.samples if s.mouth is not None]
        downs = [s.down for s in self.samples if s.down is not None]
        ups = [s.up for s in self.samples if s.up is not None]
        return GazeNeutral(
            yaw=round(statistics.median(s.yaw for s in self.samples), 2),
            pitch=round(statistics.median(s.pitch for s in self.samples), 2),
            h_ratio=round(statistics.median(hs), 4) if hs else default.h_ratio,
            v_ratio=round(statistics.median(vs), 4) if vs else default.v_ratio,
            eye_aspect_ratio=round(statistics.median(s.ear for s in opened), 4),
            upper_lid=round(statistics.median(uppers), 4) if uppers else default.upper_lid,
            lower_lid=round(statistics.median(lowers), 4) if lowers else default.lower_lid,
            eye_darkness=round(statistics.median(darks), 4) if darks else None,
            mouth_contrast=round(statistics.median(mouths), 2) if mouths else None,
            look_down=round(statistics.median(downs), 4) if downs else None,
            look_up=round(statistics.median(ups), 4) if ups else None,
            source=source,
            samples=len(self.samples),
        )


def _unusable(gaze: GazeAnalysis, cfg: CalibrationConfig) -> str | None:
    """Why a frame cannot be a look at the screen (None: it can)."""
    pose, iris = gaze.head_pose, gaze.iris
    assert pose is not None
    if gaze.unreadable_eyes:
        return "eyes_unreadable"
    if gaze.blink or not gaze.lids_open:
        return "eyes_closed_or_lowered"
    if abs(pose.yaw) > cfg.max_yaw_deg:
        return "head_turned"
    if not cfg.min_pitch_deg <= pose.pitch <= cfg.max_pitch_deg:
        return "head_pitched"
    if iris is not None and abs(iris.h_ratio - 0.5) > cfg.max_h_offset:
        return "eyes_aside"
    if iris is not None and not cfg.min_v <= iris.v_ratio <= cfg.max_v:
        return "eyes_up_or_down"
    scores = gaze.eye_scores
    if scores is not None:
        if scores.blink_one >= cfg.max_blink_score or scores.squint >= cfg.max_squint_score:
            return "eyes_closed_or_lowered"
        if max(scores.left, scores.right) >= cfg.max_side_score:
            return "eyes_aside"
        if scores.up >= cfg.max_up_score:
            return "eyes_up_or_down"
        pointing = pose.pitch + cfg.score_pitch_deg * (scores.up - scores.down)
        if not cfg.min_gaze_pitch_deg <= pointing <= cfg.max_gaze_pitch_deg:
            return "eyes_up_or_down"
    return None


def _deviation(values: Sequence[float]) -> float:
    """How far the samples stray from their median: the 75th percentile of the distances (a
    median absolute deviation would let up to half of them wander off)."""
    middle = statistics.median(values)
    distances = sorted(abs(v - middle) for v in values)
    return distances[min(len(distances) - 1, math.ceil(0.75 * len(distances)) - 1)]


def _spread(samples: Sequence[CalibrationSample]) -> tuple[float, float, float | None]:
    hs = [s.h for s in samples if s.h is not None]
    return (
        round(_deviation([s.yaw for s in samples]), 2),
        round(_deviation([s.pitch for s in samples]), 2),
        round(_deviation(hs), 4) if len(hs) >= 3 else None,
    )
