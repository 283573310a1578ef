"""Behaviour detectors over a short window of per-frame samples. Pure functions: easy to test.

Each returns an :class:`Observation` (True / False / None = cannot tell) with its evidence: the
measured values and the thresholds they were held against. The risk engine debounces them.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from integrity.core.timing import lasted
from integrity.session.behaviour.config import GlanceConfig, ReadingConfig, StressConfig, WhisperConfig
from integrity.session.observation import Observation


class Sample(BaseModel):
    """What one frame with a face leaves in the session's behaviour window."""

    t: float
    yaw: float  # raw head angles, degrees
    pitch: float
    gx: float | None = None  # iris-based gaze yaw relative to neutral, degrees (None: no iris)
    gy: float | None = None  # ...and gaze pitch (positive: up)
    mar: float | None = None  # mouth aspect ratio (None: mouth too small to read)


class Glance(BaseModel):
    """One look down (lowered lids held longer than a blink) that ended with a return to the screen."""

    start: float
    end: float


class Tally(BaseModel):
    """Blinks and head motion over some observed time (a 1 s bucket, a window or the baseline)."""

    start: float = 0.0
    observed_s: float = 0.0
    blinks: int = 0
    motion_deg: float = 0.0  # summed head rotation between consecutive frames

    def add(self, other: Tally) -> None:
        self.observed_s += other.observed_s
        self.blinks += other.blinks
        self.motion_deg += other.motion_deg

    @property
    def blink_rate(self) -> float:
        """Blinks per minute."""
        return 60.0 * self.blinks / self.observed_s if self.observed_s > 0 else 0.0

    @property
    def jitter(self) -> float:
        """Mean head angular speed, degrees per second."""
        return self.motion_deg / self.observed_s if self.observed_s > 0 else 0.0


def _crossings(values: Sequence[float], band: float) -> int:
    """Open/close transitions of a signal around its mean, with hysteresis ``band``."""
    mean = statistics.fmean(values)
    state = 0
    changes = 0
    for value in values:
        level = 1 if value > mean + band else (-1 if value < mean - band else 0)
        if level and level != state:
            if state:
                changes += 1
            state = level
    return changes


def whispering(window: Sequence[Sample], cfg: WhisperConfig) -> Observation:
    """Lips moving (mouth-aspect-ratio going up and down) while the head stays still."""
    mars = [s.mar for s in window if s.mar is not None]
    if len(mars) < cfg.min_samples:
        return Observation(value=None, evidence={"samples": len(mars), "min_samples": cfg.min_samples})
    spread = statistics.pstdev(mars)
    mean = statistics.fmean(mars)
    cycles = _crossings(mars, 0.5 * spread) / 2.0
    head = max(statistics.pstdev(s.yaw for s in window), statistics.pstdev(s.pitch for s in window))
    value = (
        spread >= cfg.min_mar_std
        and mean <= cfg.max_mean_mar
        and cycles >= cfg.min_cycles
        and head <= cfg.max_head_motion_deg
    )
    return Observation(
        value=value,
        evidence={
            "mar_std": round(spread, 4),
            "mar_mean": round(mean, 4),
            "lip_cycles": cycles,
            "head_motion_deg": round(head, 2),
            "window_s": cfg.window_s,
            "threshold_mar_std": cfg.min_mar_std,
            "threshold_mar_mean": cfg.max_mean_mar,
            "threshold_cycles": cfg.min_cycles,
            "threshold_head_motion_deg": cfg.max_head_motion_deg,
        },
    )


def _median3(values: Sequence[float]) -> list[float]:
    """Running median of three: removes single-frame noise, keeps the edges of real jumps."""
    if len(values) < 3:
        return list(values)
    inner = [sorted(values[i - 1 : i + 2])[1] for i in range(1, len(values) - 1)]
    return [values[0], *inner, values[-1]]


def _drift(times: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """Least-squares displacement over the span, and R^2 (how steady the drift is)."""
    t, v = np.asarray(times), np.asarray(values)
    if t[-1] - t[0] <= 0:
        return 0.0, 0.0
    slope, intercept = np.polyfit(t, v, 1)
    residual = float(((v - (slope * t + intercept)) ** 2).sum())
    total = float(((v - v.mean()) ** 2).sum())
    r2 = 1.0 - residual / total if total > 0 else 0.0
    return float(slope * (t[-1] - t[0])), r2


def reading(window: Sequence[Sample], cfg: ReadingConfig) -> Observation:
    """Repeated steady horizontal sweeps, each ended by a quick jump back: eyes reading lines,
    outside the screen area (reading the question on the screen is what candidates do)."""
    points = [(s.t, s.gx, s.gy) for s in window if s.gx is not None]
    coverage = len(points) / len(window) if window else 0.0
    if len(points) < 6 or coverage < cfg.min_coverage:
        return Observation(
            value=None, evidence={"iris_coverage": round(coverage, 2), "min_coverage": cfg.min_coverage}
        )
    times = [t for t, _, _ in points]
    gaze = _median3([g for _, g, _ in points])
    lines: list[tuple[int, float, float]] = []  # (jump sign, sweep, jump)
    on_screen = 0
    start = 0
    for i in range(1, len(points)):
        jump = gaze[i] - gaze[i - 1]
        if times[i] - times[i - 1] > cfg.jump_max_dt_s or abs(jump) < cfg.jump_min_deg:
            continue
        sweep_t, sweep_g = times[start:i], gaze[start:i]
        start = i
        if len(sweep_t) < 4 or sweep_t[-1] - sweep_t[0] < cfg.sweep_min_s:
            continue
        sweep, steadiness = _drift(sweep_t, sweep_g)
        gradual = max(abs(b - a) for a, b in itertools.pairwise(sweep_g)) < cfg.jump_min_deg
        if (
            gradual
            and steadiness >= cfg.sweep_min_r2
            and sweep * jump < 0
            and abs(sweep) >= cfg.sweep_min_deg
            and abs(sweep) >= cfg.sweep_return_ratio * abs(jump)
        ):
            pitches = [p for _, _, p in points[i - len(sweep_t) : i] if p is not None]
            aside = abs(statistics.fmean(sweep_g)) >= cfg.screen_half_width_deg
            below = bool(pitches) and statistics.fmean(pitches) <= -cfg.screen_half_height_deg
            if aside or below:
                lines.append((1 if jump > 0 else -1, sweep, jump))
            else:
                on_screen += 1
    forward = sum(1 for sign, _, _ in lines if sign > 0)
    backward = len(lines) - forward
    count = max(forward, backward)
    evidence: dict[str, object] = {
        "pattern": "line_sweeps",
        "lines": count,
        "window_s": cfg.window_s,
        "threshold_lines": cfg.min_lines,
        "threshold_jump_deg": cfg.jump_min_deg,
        "threshold_sweep_deg": cfg.sweep_min_deg,
        "lines_on_screen": on_screen,
        "screen_half_width_deg": cfg.screen_half_width_deg,
    }
    if lines:
        chosen = [line for line in lines if (line[0] > 0) == (forward >= backward)]
        evidence |= {
            "mean_sweep_deg": round(statistics.fmean(abs(s) for _, s, _ in chosen), 2),
            "mean_jump_deg": round(statistics.fmean(abs(j) for _, _, j in chosen), 2),
            "sweep_toward": "image-left" if chosen[0][0] > 0 else "image-right",
        }
    return Observation(value=count >= cfg.min_lines, evidence=evidence)


def glances_down(glances: Sequence[Glance], now: float, cfg: GlanceConfig) -> Observation:
    """Repeated looks down with returns to the screen in between: glancing at notes or a phone."""
    recent = [
        g
        for g in glances
        if now - g.end <= cfg.window_s
        and lasted(g.end - g.start, cfg.min_glance_s)
        and g.end - g.start <= cfg.max_glance_s
    ]
    evidence: dict[str, object] = {
        "pattern": "glances_down",
        "glances": len(recent),
        "window_s": cfg.window_s,
        "threshold_glances": cfg.min_glances,
        "min_glance_s": cfg.min_glance_s,
        "max_glance_s": cfg.max_glance_s,
    }
    if recent:
        evidence["mean_glance_s"] = round(statistics.fmean(g.end - g.start for g in recent), 2)
        evidence["glances_at"] = [round(g.start, 2) for g in recent]
    return Observation(value=len(recent) >= cfg.min_glances, evidence=evidence)


def either(first: Observation, second: Observation) -> Observation:
    """One condition fed by two detectors: true when either is, unknown only when both are."""
    for observation in (first, second):
        if observation.value:
            return observation
    if first.value is None and second.value is None:
        return first
    return first if first.value is False else second


def stress(window: Tally, baseline: Tally | None, cfg: StressConfig) -> Observation:
    """Blink rate and head jitter against the candidate's own baseline."""
    if baseline is None:
        return Observation(value=None, evidence={"baseline": "not established"})
    if window.observed_s < cfg.min_window_observed_s:
        return Observation(
            value=None,
            evidence={"observed_s": round(window.observed_s, 2), "min_observed_s": cfg.min_window_observed_s},
        )
    blink_limit = max(
        cfg.blink_ratio * baseline.blink_rate, baseline.blink_rate + cfg.blink_min_increase_per_min
    )
    jitter_limit = max(cfg.jitter_ratio * baseline.jitter, baseline.jitter + cfg.jitter_min_increase_deg_s)
    blinks_high = window.blink_rate >= blink_limit
    jitter_high = window.jitter >= jitter_limit
    value = (blinks_high and jitter_high) if cfg.require == "both" else (blinks_high or jitter_high)
    return Observation(
        value=value,
        evidence={
            "blink_rate_per_min": round(window.blink_rate, 2),
            "baseline_blink_rate_per_min": round(baseline.blink_rate, 2),
            "threshold_blink_rate_per_min": round(blink_limit, 2),
            "head_jitter_deg_s": round(window.jitter, 2),
            "baseline_head_jitter_deg_s": round(baseline.jitter, 2),
            "threshold_head_jitter_deg_s": round(jitter_limit, 2),
            "window_s": cfg.window_s,
            "require": cfg.require,
        },
    )
