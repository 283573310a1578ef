"""Prometheus metrics of the ingress (exported by Ray with a ``ray_`` prefix on its metrics port)."""

from __future__ import annotations

from ray.serve import metrics

_LATENCY_BOUNDARIES_MS = [5, 10, 20, 30, 50, 75, 100, 150, 250, 500, 1000, 2000, 5000]


class ServiceMetrics:
    def __init__(self) -> None:
        self.frames = metrics.Counter(
            "iis_frames_total", description="Frames analysed.", tag_keys=("scan", "transport")
        )
        self.frame_latency = metrics.Histogram(
            "iis_frame_latency_ms",
            description="End-to-end frame analysis time inside the ingress (ms).",
            boundaries=_LATENCY_BOUNDARIES_MS,
            tag_keys=("scan",),
        )
        self.events = metrics.Counter(
            "iis_events_total", description="Events raised, by type.", tag_keys=("event_type", "severity")
        )
        self.errors = metrics.Counter(
            "iis_errors_total", description="Requests refused or failed, by error code.", tag_keys=("code",)
        )
        self.sessions_started = metrics.Counter("iis_sessions_started_total", description="Sessions started.")
        self.sessions_ended = metrics.Counter(
            "iis_sessions_ended_total", description="Sessions ended, by verdict.", tag_keys=("verdict",)
        )
