"""Issue 11, acceptance 2: the real Serve application on the server's clock, frames sent in real time.

Unlike the other integration modules, the client's timestamps are not trusted here: every session
runs on when the service received each frame. The streams run side by side (threads, each paced in
real time), so the module takes about as long as its longest stream (~70 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest

from integrity.vision.video import frames_at
from tests.integration.conftest import b64, running_app

pytestmark = pytest.mark.integration

CLIPS = [
    "A_video_gaze_center_left_center.mp4",
    "A_video_gaze_down_segments.mp4",
    "A_video_webcam_person_standing.mkv",
]


@dataclass
class Stream:
    answers: list[dict[str, Any]] = field(default_factory=list)
    ended: dict[str, Any] = field(default_factory=dict)

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for a in self.answers for e in a["event_details"] if e["type"] == kind]


def play(
    base_url: str, frames: list[bytes], fps: float, stamp: Callable[[int], float | None], name: str
) -> Stream:
    """Start a session, send ``frames`` at ``fps`` in real time with the client stamps ``stamp(i)``
    gives (None: no timestamp), end it."""
    out = Stream()
    with httpx.Client(base_url=base_url, timeout=60) as http:
        started = http.post("/start-session", json={"candidate_id": name})
        assert started.status_code == 200, started.text
        session_id = started.json()["session_id"]
        t0 = time.monotonic()
        for i, frame in enumerate(frames):
            time.sleep(max(0.0, t0 + i / fps - time.monotonic()))
            body: dict[str, Any] = {"session_id": session_id, "frame": b64(frame)}
            ts = stamp(i)
            if ts is not None:
                body["timestamp"] = ts
            response = http.post("/analyze-frame", json=body)
            assert response.status_code == 200, response.text
            out.answers.append(response.json())
        ended = http.post("/end-session", json={"session_id": session_id})
        assert ended.status_code == 200, ended.text
        out.ended = ended.json()
    return out


def clip_frames(path: Path, fps: float) -> list[bytes]:
    out = []
    for _, image in frames_at(path, fps):
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        out.append(buf.tobytes())
    return out


@pytest.fixture(scope="module")
def streams(
    serve_port: int, fixture_bytes: dict[str, bytes], fixtures_dir: Path
) -> Iterator[dict[str, Stream]]:
    with running_app(serve_port, trust_client_time=False, session_shards=1) as http:
        base = str(http.base_url)
        a01, a03, a07 = (
            fixture_bytes[n]
            for n in (
                "A01_frontal_webcam_man.png",
                "A03_two_faces_webcam.png",
                "A07_no_person_pen_on_paper.jpg",
            )
        )
        clips = {name: clip_frames(fixtures_dir / name, 5.0) for name in CLIPS}

        def clips_in_turn() -> dict[str, Stream]:
            return {name: play(base, frames, 5.0, lambda i: None, name) for name, frames in clips.items()}

        with ThreadPoolExecutor(max_workers=4) as pool:
            jobs = {
                "a03_constant": pool.submit(play, base, [a03] * 10, 2.0, lambda i: 1000.0, "a03"),
                "a01_then_a07": pool.submit(
                    play, base, [a01] * 20 + [a07] * 90, 2.0, lambda i: i / 2.0, "a01-a07"
                ),
                "a01_60s": pool.submit(play, base, [a01] * 120, 2.0, lambda i: None, "a01"),
            }
            clip_job = pool.submit(clips_in_turn)
            results = {name: job.result() for name, job in jobs.items()}
            results |= clip_job.result()
        yield results


def test_constant_client_timestamps_still_raise_multiple_faces_on_a03(streams: dict[str, Stream]) -> None:
    stream = streams["a03_constant"]
    assert len(stream.events("MULTIPLE_FACES")) == 1
    summary = stream.ended["summary"]
    assert summary["clock"]["anomalies"].get("constant", 0) >= 8
    # The answers echo the client's stamp and give the session's own time beside it.
    assert {a["timestamp"] for a in stream.answers} == {1000.0}
    session_times = [a["session_time"] for a in stream.answers]
    assert session_times == sorted(session_times) and session_times[-1] - session_times[0] >= 4.0


def test_45_s_of_a07_after_a01_raises_one_no_face_and_no_cheating(streams: dict[str, Stream]) -> None:
    stream = streams["a01_then_a07"]
    ended = stream.ended
    assert ended["summary"]["event_counts"] == {"NO_FACE": 1}
    assert ended["verdict"] in {"CLEAN", "SUSPICIOUS"} and ended["verdict"] != "CHEATING"
    no_face = ended["summary"]["timeline"][0]
    assert no_face["duration_s"] >= 40.0  # one episode for the whole 45 s
    coverage = ended["summary"]["coverage"]["NO_FACE"]
    assert 50.0 <= coverage["observed_s"] <= 60.0
    basis = ended["summary"]["verdict_basis"]
    assert basis["verdict"] == ended["verdict"] and basis["suspicious_threshold"] == 30


def test_a01_for_60_s_ends_clean(streams: dict[str, Stream]) -> None:
    ended = streams["a01_60s"].ended
    assert ended["verdict"] == "CLEAN" and ended["final_risk_score"] == 0.0
    summary = ended["summary"]
    assert summary["coverage"]["NO_FACE"]["observed_s"] >= 55.0
    assert summary["verdict_basis"]["counted_events"] == []
    assert summary["clock"]["gaps"] == 0


@pytest.mark.parametrize("clip", CLIPS)
def test_shared_clips_end_clean(streams: dict[str, Stream], clip: str) -> None:
    ended = streams[clip].ended
    assert ended["verdict"] == "CLEAN", ended["summary"]["event_counts"]
    assert ended["summary"]["verdict_basis"] is not None and ended["summary"]["coverage"]
