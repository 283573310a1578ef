"""Per-replica runtime settings shared by the model deployments."""

from __future__ import annotations

import cv2


def limit_threads(cv_threads: int | None) -> None:
    """OpenCV's own thread pool, per replica. On a small box several replicas share the cores, and
    OpenCV's default (one thread per core) makes each resize or colour conversion fan out and
    spin: one thread per replica costs less CPU per frame (docs/SCALING.md). None: OpenCV's default."""
    if cv_threads is not None:
        cv2.setNumThreads(cv_threads)
