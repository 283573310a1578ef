"""Per-replica runtime settings shared by the model deployments."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
from threadpoolctl import threadpool_limits


def limit_threads(cv_threads: int | None) -> None:
    """OpenCV's own thread pool and the BLAS's (numpy's matrix products: the identity ResNet), per
    replica. On a small box several replicas share the cores, and the libraries' default (one thread
    per core) makes each resize or matrix product fan out and spin: one thread per replica costs
    less CPU per frame (docs/SCALING.md). None: the libraries' defaults."""
    if cv_threads is not None:
        cv2.setNumThreads(cv_threads)
        threadpool_limits(limits=cv_threads, user_api="blas")


def lower_priority(nice: int) -> None:
    """Run this replica's process at a lower CPU priority (``nice``, 0: unchanged): a replica whose
    work may wait (object analyses, off the frame's path) yields the cores to the frame path.

    On Linux a nice value belongs to a thread, and a new thread inherits its creator's: every
    thread the process has now is lowered (the constructor may run on another thread than the one
    that later starts the inference threads), and those threads start theirs lowered."""
    if nice <= 0:
        return
    try:
        threads = [int(t.name) for t in Path("/proc/self/task").iterdir()]
    except OSError:  # not Linux: the process's own nice
        os.nice(nice)
        return
    for tid in threads:
        try:
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, current + nice))
        except OSError:  # the thread ended meanwhile
            continue
