"""Stopwatch helpers for the per-stage timings every result carries."""

from __future__ import annotations

import time


def ms_since(tick: float) -> float:
    """Milliseconds elapsed since ``tick`` (a ``time.perf_counter()`` reading)."""
    return (time.perf_counter() - tick) * 1000
