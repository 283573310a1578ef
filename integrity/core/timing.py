"""Stopwatch helpers for the per-stage timings every result carries, and stream-time spans."""

from __future__ import annotations

import time


def ms_since(tick: float) -> float:
    """Milliseconds elapsed since ``tick`` (a ``time.perf_counter()`` reading)."""
    return (time.perf_counter() - tick) * 1000


def lasted(span_s: float, rule_s: float) -> bool:
    """``span_s`` (a difference of stream times) at least ``rule_s``, to the microsecond: frame times
    are float sums, and ten 0.04 s frames come to 0.39999... s."""
    return span_s >= rule_s - 1e-6
