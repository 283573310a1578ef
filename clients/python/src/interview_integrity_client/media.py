"""Frames from OpenCV: numpy images as JPEG, a paced webcam loop and a paced video-file replay.

Needs OpenCV (``pip install "interview-integrity-client[video]"``: the headless build). Frames are
paced, never queued: when the service answers slower than ``fps``, frames are skipped, and each
frame carries its own timestamp (video time for files, seconds since the start for a camera), so
debounce and durations come out right at any rate.

This module sits below the clients: it never imports them. The loops take any client whose
``stream()`` opens a WebSocket stream (:class:`~interview_integrity_client.InterviewClient` does).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from interview_integrity_client.models import AnalyzeFrameResponse, AudioFeatures, EndSessionResponse

if TYPE_CHECKING:
    from numpy.typing import NDArray


def audio_features(samples: Sequence[float] | NDArray[Any], sample_rate: int) -> AudioFeatures:
    """``audio`` for one frame from the microphone samples since the previous one (mono, -1..1):
    the RMS level in dBFS and how likely speech was (the share of the signal's energy in the
    300-3400 Hz voice band, gated by the level). A WAV file read in frame-sized chunks, or a
    microphone array's buffer, goes in as it is; nothing of the sound itself is sent."""
    import numpy as np

    values = np.asarray(samples, dtype=np.float64).ravel()
    if values.size == 0:
        return {"rms_dbfs": -160.0, "speech_prob": 0.0}
    rms = float(np.sqrt(np.mean(values**2)))
    dbfs = max(-160.0, 20.0 * math.log10(rms)) if rms > 0 else -160.0
    spectrum = np.abs(np.fft.rfft(values * np.hanning(values.size))) ** 2
    freqs = np.fft.rfftfreq(values.size, 1.0 / sample_rate)
    total = float(spectrum[freqs >= 80].sum())
    voice = float(spectrum[(freqs >= 300) & (freqs <= 3400)].sum())
    share = voice / total if total > 0 else 0.0
    gate = min(1.0, max(0.0, (dbfs + 70.0) / 20.0))  # silence below -70 dBFS, full from -50
    return {"rms_dbfs": round(dbfs, 2), "speech_prob": round(min(1.0, share) * gate, 3)}


def wav_features(path: str | Path, fps: float) -> Iterator[AudioFeatures]:
    """``audio`` for each frame of a stream at ``fps`` from a WAV file (PCM 8/16/32-bit, any
    channels, mixed to mono): one :func:`audio_features` per 1/fps of sound."""
    import wave

    import numpy as np

    with wave.open(str(path), "rb") as wav:
        rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
        kinds = {1: (np.uint8, 128.0, 128.0), 2: (np.int16, 0.0, 32768.0), 4: (np.int32, 0.0, 2147483648.0)}
        if width not in kinds:
            raise ValueError(f"{path}: {8 * width}-bit samples are not supported (8, 16 or 32-bit PCM)")
        dtype, offset, scale = kinds[width]
        per_frame = max(1, round(rate / fps))
        while True:
            raw = wav.readframes(per_frame)
            if not raw:
                return
            samples = (np.frombuffer(raw, dtype=dtype).astype(np.float64) - offset) / scale
            yield audio_features(samples.reshape(-1, channels).mean(axis=1), rate)


class FrameStream(Protocol):
    """What the loops need of a WebSocket stream (:class:`~interview_integrity_client.InterviewStream`)."""

    def start(
        self, candidate_id: str, metadata: dict[str, Any] | None = None, timestamp: float | None = None
    ) -> object: ...

    def send_frame(
        self, frame: bytes, timestamp: float | None = None, *, binary: bool = False
    ) -> AnalyzeFrameResponse: ...

    def end(self) -> EndSessionResponse: ...

    def __enter__(self) -> FrameStream: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class StreamingClient(Protocol):
    """A client that opens WebSocket streams (:class:`~interview_integrity_client.InterviewClient`)."""

    def stream(self) -> FrameStream: ...


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise ImportError(
            "this helper needs OpenCV: pip install 'interview-integrity-client[video]' "
            "(or opencv-python-headless)"
        ) from exc
    return cv2


def encode_array(image: NDArray[Any], quality: int = 85, max_width: int | None = None) -> bytes:
    """JPEG-encode a BGR (or grayscale) uint8 image, as OpenCV returns them; optionally scaled down
    to ``max_width``."""
    cv2 = _cv2()
    if not 0 <= quality <= 100:
        raise ValueError(f"quality must be 0..100, not {quality}")
    if max_width and image.shape[1] > max_width:
        scale = max_width / image.shape[1]
        image = cv2.resize(image, (max_width, round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("OpenCV could not encode this array as JPEG (expected HxW or HxWx3 uint8)")
    data: bytes = buf.tobytes()
    return data


@dataclass(frozen=True)
class PacedFrame:
    timestamp: float
    """Seconds: video time for a file, time since the first frame for a camera."""
    image: NDArray[Any]
    index: int
    """The frame's number in the source (files), or the count of frames taken (cameras)."""


def video_frames(
    path: str | Path,
    fps: float = 5.0,
    *,
    realtime: bool = True,
    max_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[PacedFrame]:
    """Frames of a video file sampled at ``fps`` (of video time), with their video time.

    ``realtime``: release each frame when its time comes on the wall clock, as a camera would, and
    skip frames whose time has passed by more than one interval (the consumer was slow); otherwise
    as fast as the consumer takes them (a replay: every sampled frame, timestamps unchanged).
    """
    if fps <= 0:
        raise ValueError("fps must be positive")
    cv2 = _cv2()
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise FileNotFoundError(f"OpenCV cannot open the video {path}")
    source_fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    interval = 1.0 / fps
    next_due = 0.0
    started = clock()
    index = -1
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                return
            index += 1
            video_time = index / source_fps
            if max_seconds is not None and video_time > max_seconds:
                return
            if video_time + 0.5 / source_fps < next_due:
                continue  # between samples (the nearest frame to each due time is taken)
            next_due += interval * max(1, int((video_time - next_due) / interval) + 1)
            if realtime:
                lag = clock() - started - video_time
                if lag > interval:
                    continue  # late by more than a frame: drop it, never queue
                if lag < 0:
                    sleep(-lag)
            yield PacedFrame(video_time, image, index)
    finally:
        capture.release()


def webcam_frames(
    device: int | str = 0,
    fps: float = 2.0,
    *,
    max_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[PacedFrame]:
    """The camera's current picture ``fps`` times a second (``device``: an index, or a path/URL
    OpenCV opens). A consumer slower than ``fps`` gets the freshest picture when it asks again."""
    if fps <= 0:
        raise ValueError("fps must be positive")
    cv2 = _cv2()
    capture = cv2.VideoCapture(device)
    if not capture.isOpened():
        raise OSError(f"OpenCV cannot open the camera {device!r}")
    interval = 1.0 / fps
    started = clock()
    next_due = started
    taken = 0
    try:
        while max_seconds is None or clock() - started < max_seconds:
            wait = next_due - clock()
            if wait > 0:
                sleep(wait)
            ok, image = capture.read()
            if not ok:
                return
            now = clock()
            next_due = max(next_due + interval, now)  # late: the next one comes at once, no backlog
            yield PacedFrame(now - started, image, taken)
            taken += 1
    finally:
        capture.release()


ResultCallback = Callable[[AnalyzeFrameResponse, PacedFrame], None]


def analyze_video_file(
    client: StreamingClient,
    path: str | Path,
    candidate_id: str,
    *,
    fps: float = 5.0,
    realtime: bool = True,
    max_seconds: float | None = None,
    metadata: dict[str, Any] | None = None,
    quality: int = 85,
    max_width: int | None = 640,
    on_result: ResultCallback | None = None,
    binary: bool = False,
) -> EndSessionResponse:
    """Stream a video file through one WebSocket session (see :func:`video_frames`) and end it;
    returns the verdict. ``on_result(result, frame)`` sees each analysis; ``binary`` sends each
    JPEG as a binary message instead of base64 in JSON."""
    with client.stream() as ws:
        ws.start(candidate_id, metadata, timestamp=0.0)
        for frame in video_frames(path, fps, realtime=realtime, max_seconds=max_seconds):
            result = ws.send_frame(
                encode_array(frame.image, quality, max_width), frame.timestamp, binary=binary
            )
            if on_result is not None:
                on_result(result, frame)
        return ws.end()


def watch_webcam(
    client: StreamingClient,
    candidate_id: str,
    *,
    device: int | str = 0,
    fps: float = 2.0,
    max_seconds: float | None = None,
    metadata: dict[str, Any] | None = None,
    quality: int = 85,
    max_width: int | None = 640,
    on_result: ResultCallback | None = None,
    binary: bool = False,
) -> EndSessionResponse:
    """The webcam loop: send the camera's picture ``fps`` times a second until ``max_seconds``
    (or Ctrl-C), then end the session and return the verdict. ``binary``: JPEGs as binary messages."""
    with client.stream() as ws:
        ws.start(candidate_id, metadata, timestamp=0.0)
        try:
            for frame in webcam_frames(device, fps, max_seconds=max_seconds):
                result = ws.send_frame(
                    encode_array(frame.image, quality, max_width), frame.timestamp, binary=binary
                )
                if on_result is not None:
                    on_result(result, frame)
        except KeyboardInterrupt:
            pass  # end the session all the same
        return ws.end()
