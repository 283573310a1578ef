"""Prometheus metrics of the ingress (exported by Ray with a ``ray_`` prefix on its metrics port)."""

from __future__ import annotations

from typing import Any

from ray.serve import metrics

_LATENCY_BOUNDARIES_MS = [
    5.0,
    10.0,
    20.0,
    30.0,
    50.0,
    75.0,
    100.0,
    150.0,
    250.0,
    500.0,
    1000.0,
    2000.0,
    5000.0,
]


def _tags(*keys: str) -> Any:
    """Ray annotates ``tag_keys`` as ``Tuple[str]`` although it takes any number of keys."""
    return keys


class ServiceMetrics:
    def __init__(self) -> None:
        self.frames = metrics.Counter(
            "iis_frames_total", description="Frames analysed.", tag_keys=_tags("transport")
        )
        self.frame_latency = metrics.Histogram(
            "iis_frame_latency_ms",
            description="End-to-end frame analysis time inside the ingress (ms).",
            boundaries=_LATENCY_BOUNDARIES_MS,
        )
        self.events = metrics.Counter(
            "iis_events_total",
            description="Events raised, by type.",
            tag_keys=_tags("event_type", "severity"),
        )
        self.errors = metrics.Counter(
            "iis_errors_total",
            description="Requests refused or failed, by error code.",
            tag_keys=_tags("code"),
        )
        self.sessions_started = metrics.Counter("iis_sessions_started_total", description="Sessions started.")
        self.sessions_ended = metrics.Counter(
            "iis_sessions_ended_total", description="Sessions ended, by verdict.", tag_keys=_tags("verdict")
        )
