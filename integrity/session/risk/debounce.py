"""The debounce: when per-frame observations of one condition become an event.

Each condition (phone visible, no face, ...) is observed per frame as True, False or None (unknown:
the frame could not tell, e.g. the object model is missing or a blink hid the eyes). A condition
becomes an event when it has held for ``min_duration_s`` over at least ``min_observations`` frames,
tolerating absences shorter than ``release_s`` and unknown spans shorter than ``max_gap_s``, with at
least ``min_positive_share`` of the run's known frames positive and frames never further apart than
``max_gap_s``. Another kind of the condition (a look down after a look aside) starts a new run, and
so does an object seen at another place or size (``consistency``).

What the event then becomes (a new episode, or one that goes on) is the engine's
(:mod:`integrity.session.risk.engine`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from integrity.core.geometry import Box
from integrity.session.observation import Evidence, Observation
from integrity.session.risk.config import Consistency, EventRule
from integrity.session.risk.models import ConditionState


def continuing(rule: Consistency, previous: Box, boxes: Iterable[Box]) -> Box | None:
    """The box among ``boxes`` at ``previous``'s place and size (the nearest such), or None."""
    best: tuple[float, Box] | None = None
    side = (previous.width + previous.height) / 2.0
    shift_tol = max(rule.max_shift * side, rule.min_px)
    px, py = previous.x + previous.width / 2.0, previous.y + previous.height / 2.0
    for box in boxes:
        shift = math.hypot(box.x + box.width / 2.0 - px, box.y + box.height / 2.0 - py)
        if shift > shift_tol:
            continue
        if any(
            abs(new - old) > max(rule.max_resize * old, rule.min_px)
            for new, old in ((box.width, previous.width), (box.height, previous.height))
        ):
            continue
        if best is None or shift < best[0]:
            best = (shift, box)
    return None if best is None else best[1]


def track(rule: EventRule, cond: ConditionState, ts: float, observation: Observation) -> Evidence | None:
    """Update one condition; return the evidence when its run meets the debounce now."""
    if cond.last_seen is not None and ts - cond.last_seen > rule.max_gap_s:
        cond.reset_run()  # nothing seen for too long: we cannot claim it persisted
    cond.last_seen = ts if cond.last_seen is None else max(cond.last_seen, ts)

    if observation.value is None:
        # Unknown neither confirms nor breaks a run, unless it lasts longer than max_gap_s.
        if cond.last_true is not None and cond.run_start is not None and ts - cond.last_true > rule.max_gap_s:
            cond.reset_run()
        return None

    if observation.value is False:
        if cond.run_start is not None:
            cond.run_known += 1
            if cond.false_since is None:
                cond.false_since = ts
            if ts - cond.false_since >= rule.release_s:
                cond.reset_run()
        return None

    cond.false_since = None
    if cond.run_start is not None and observation.kind != cond.run_kind:
        cond.reset_run()  # another kind of the condition: a new occurrence
    if rule.consistency is not None and observation.boxes:
        # A sure object seen somewhere else, or at another size, is not the one the run followed
        # (a "phone" jumping about on a hand at the face): the run starts again from it.
        same = None
        if cond.run_box is not None:
            same = continuing(rule.consistency, cond.run_box, observation.boxes)
        if same is None and cond.run_start is not None:
            cond.reset_run()
        cond.run_box = same if same is not None else observation.boxes[0]
    if cond.run_start is None:
        cond.run_kind = observation.kind
        cond.run_start = ts if observation.since is None else min(ts, observation.since)
    cond.run_frames += 1
    cond.run_known += 1
    cond.last_true = ts
    held = ts - cond.run_start
    needed = rule.min_duration(observation.kind)
    if held < needed or cond.run_frames < rule.min_observations:
        return None
    if cond.run_frames < rule.min_positive_share * cond.run_known:
        return None
    return {
        **observation.evidence,
        "held_s": round(held, 3),
        "frames": cond.run_frames,
        "min_duration_s": needed,
    }
