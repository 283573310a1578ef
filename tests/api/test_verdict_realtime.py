"""Issue 11, acceptance 2: verdicts on the server's clock, on the service in process (its real app,
pipeline, models and sessions, without Ray), the frames sent at a webcam's pace on a clock the test
moves instead of waits for.

Unlike most API modules, the client's timestamps are not trusted here (``trust_client_time=False``):
every session runs on when the service received each frame. The streams run side by side: every
session starts at once and each stream's frames arrive at its own rate, interleaved as they would
be, the clock moved to each frame's time: a minute of streams (two and a half in all) costs only
the analysis of its frames, no waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest

from integrity.vision.video import frames_at
from serve_app.pipeline import Analyzers
from tests.api.conftest import FakeClock, local_client
from tests.integration.conftest import b64

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


@dataclass
class Script:
    """A stream to send: ``frames`` at ``fps``, with the client stamps ``stamp(i)`` gives (None: no
    timestamp), under the candidate id ``name``."""

    frames: list[bytes]
    fps: float
    stamp: Callable[[int], float | None]
    name: str


def play(client: httpx.Client, clock: FakeClock, scripts: dict[str, Script]) -> dict[str, Stream]:
    """Start a session per script, send every script's frames at its rate on the server's clock (the
    streams interleaved in time order), end each session right after its last frame."""
    out = {key: Stream() for key in scripts}
    sessions = {}
    for key, script in scripts.items():
        started = client.post("/start-session", json={"candidate_id": script.name})
        assert started.status_code == 200, started.text
        sessions[key] = started.json()["session_id"]
    t0 = clock()
    schedule = sorted(
        (i / script.fps, order, key, i)
        for order, (key, script) in enumerate(scripts.items())
        for i in range(len(script.frames))
    )
    for at, _, key, i in schedule:
        clock.advance(max(0.0, t0 + at - clock()))
        script = scripts[key]
        body: dict[str, Any] = {"session_id": sessions[key], "frame": b64(script.frames[i])}
        ts = script.stamp(i)
        if ts is not None:
            body["timestamp"] = ts
        response = client.post("/analyze-frame", json=body)
        assert response.status_code == 200, response.text
        out[key].answers.append(response.json())
        if i == len(script.frames) - 1:
            ended = client.post("/end-session", json={"session_id": sessions[key]})
            assert ended.status_code == 200, ended.text
            out[key].ended = ended.json()
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
    analyzers: Analyzers,
    no_object_models: dict[str, Any],
    fixture_bytes: dict[str, bytes],
    fixtures_dir: Path,
) -> Iterator[dict[str, Stream]]:
    clock = FakeClock()
    with local_client(analyzers, clock=clock, **no_object_models, trust_client_time=False) as http:
        a01, a03, a07 = (
            fixture_bytes[n]
            for n in (
                "A01_frontal_webcam_man.png",
                "A03_two_faces_webcam.png",
                "A07_no_person_pen_on_paper.jpg",
            )
        )
        scripts = {
            "a03_constant": Script([a03] * 10, 2.0, lambda i: 1000.0, "a03"),
            "a01_then_a07": Script([a01] * 20 + [a07] * 90, 2.0, lambda i: i / 2.0, "a01-a07"),
            "a01_60s": Script([a01] * 120, 2.0, lambda i: None, "a01"),
        }
        scripts |= {
            name: Script(clip_frames(fixtures_dir / name, 5.0), 5.0, lambda i: None, name) for name in CLIPS
        }
        yield play(http, clock, scripts)


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
