"""Frames of a recording, as a browser would show them (OpenCV applies the file's rotation tag),
with their time in the recording. Used by the offline analysis and the benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]

# What `integrity analyze FOLDER/` takes for a recording.
VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".gif"})


@dataclass(frozen=True, slots=True)
class VideoInfo:
    fps: float
    frames: int  # as the container says (may be 0 or approximate)

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.fps > 0 else 0.0


def video_info(video: Path) -> VideoInfo:
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise ValueError(f"cannot open video {video}")
        fps = capture.get(cv2.CAP_PROP_FPS) or 24.0
        return VideoInfo(fps=float(fps), frames=max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))))
    finally:
        capture.release()


def frames(video: Path, stride: int = 1) -> Iterator[tuple[float, Image]]:
    """Every ``stride``-th frame with its time (seconds from the start of the recording)."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise ValueError(f"cannot open video {video}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 24.0
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            if index % stride == 0:
                yield index / fps, np.asarray(frame, dtype=np.uint8)
            index += 1
    finally:
        capture.release()


def frames_at(video: Path, fps: float | None) -> Iterator[tuple[float, Image]]:
    """Frames at about ``fps`` per second of recording (every frame when None or above the file's rate)."""
    if not fps or fps <= 0:
        yield from frames(video)
        return
    step = 1.0 / fps
    due = 0.0
    for t, frame in frames(video):
        if t + 1e-6 >= due:
            yield t, frame
            due += step
            if due < t:  # fell behind (variable-rate file): take the next frame on time again
                due = t + step


def sampled_count(info: VideoInfo, fps: float | None) -> int:
    """How many frames ``frames_at`` will yield, about (for progress bars)."""
    if not fps or fps <= 0 or fps >= info.fps:
        return info.frames
    return max(1, round(info.duration_s * fps))
