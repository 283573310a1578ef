"""The Python client (clients/python_client.py) against the real Serve application, REST and WebSocket."""

from __future__ import annotations

import base64
import importlib.util
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from tests.conftest import REPO
from tests.integration.conftest import running_app

if TYPE_CHECKING:
    from clients import python_client as pc
else:
    # clients/ is not a package (users copy the file): load it by path, as a user would import it.
    _spec = importlib.util.spec_from_file_location("python_client", REPO / "clients" / "python_client.py")
    assert _spec is not None and _spec.loader is not None
    pc = importlib.util.module_from_spec(_spec)
    sys.modules["python_client"] = pc
    _spec.loader.exec_module(pc)

pytestmark = pytest.mark.integration

TWO_FACES = "A03_two_faces_webcam.png"
ONE_FACE = "A01_frontal_webcam_man.png"
TIMES = [0.0, 0.5, 1.0, 1.5]


@pytest.fixture(scope="module")
def base_url(serve_port: int) -> Iterator[str]:
    with running_app(serve_port):
        yield f"http://127.0.0.1:{serve_port}"


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[pc.InterviewClient]:
    with pc.InterviewClient(base_url, timeout=120) as api:
        yield api


def _raised(frames: list[pc.AnalyzeFrameResponse]) -> list[tuple[float, str]]:
    return [(f["timestamp"], e) for f in frames for e in f["events"]]


def test_health_lists_the_models(client: pc.InterviewClient) -> None:
    health = client.health()
    assert health["service"] == "interview-integrity"
    assert health["status"] in {"ok", "degraded"}
    assert {"face", "gaze", "objects"} <= health["models"].keys()
    assert health["models"]["face"]["available"] is True
    assert health["models"]["gaze"]["available"] is True
    assert health["models_loaded"] is all(m["available"] for m in health["models"].values())
    assert health["uptime_seconds"] > 0 and health["version"]


def test_a_rest_session_with_two_faces(client: pc.InterviewClient, fixture_bytes: dict[str, bytes]) -> None:
    session_id = client.start_session("client-two-faces", metadata={"round": 2}, timestamp=0.0)
    assert session_id
    frames = [client.analyze_frame(session_id, fixture_bytes[TWO_FACES], timestamp=t) for t in TIMES]

    assert [f["faces"] for f in frames] == [2, 2, 2, 2]
    assert all(f["session_id"] == session_id for f in frames)
    assert [f["timestamp"] for f in frames] == TIMES
    assert _raised(frames) == [(1.5, "MULTIPLE_FACES")]  # held 1.5 s (debounce), then raised once
    (event,) = frames[-1]["event_details"]
    assert event["type"] == "MULTIPLE_FACES" and event["severity"] == "critical"
    assert frames[-1]["risk_score"] == 25 and frames[-1]["cheating"] is False

    ended = client.end_session(session_id)
    assert ended["session_id"] == session_id
    assert ended["total_violations"] == 1 and ended["final_risk_score"] == 25
    assert ended["verdict"] == "CLEAN"  # 25 stays under the suspicious threshold (30)
    assert ended["duration_seconds"] == pytest.approx(1.5)
    summary = ended["summary"]
    assert summary["event_counts"] == {"MULTIPLE_FACES": 1}
    assert summary["candidate_id"] == "client-two-faces" and summary["metadata"] == {"round": 2}
    assert summary["frames_analyzed"] == 4

    with pytest.raises(pc.InterviewApiError) as ended_twice:
        client.end_session(session_id)
    assert (ended_twice.value.status, ended_twice.value.code) == (409, "session_ended")


def test_frames_as_arrays_and_as_base64_strings(
    client: pc.InterviewClient, fixture_bytes: dict[str, bytes]
) -> None:
    image = cv2.imdecode(np.frombuffer(fixture_bytes[ONE_FACE], np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    session_id = client.start_session("client-array")
    from_array = client.analyze_frame_from_array(session_id, image, timestamp=0.0, quality=90)
    assert from_array["faces"] == 1
    details = from_array["details"]
    assert (details["image_height"], details["image_width"]) == image.shape[:2]
    assert len(details["faces"]) == 1 and details["faces"][0].get("landmarks") is None

    data_url = "data:image/png;base64," + base64.b64encode(fixture_bytes[ONE_FACE]).decode()
    from_string = client.analyze_frame(session_id, data_url, timestamp=0.5, include_landmarks=True)
    assert from_string["faces"] == 1 and from_string["timestamp"] == 0.5
    assert len(from_string["details"]["faces"][0]["landmarks"]) == 68
    assert client.end_session(session_id)["summary"]["frames_analyzed"] == 2


def test_refusals_raise_interview_api_error(
    client: pc.InterviewClient, fixture_bytes: dict[str, bytes]
) -> None:
    with pytest.raises(pc.InterviewApiError) as unknown:
        client.analyze_frame("no-such-session", fixture_bytes[ONE_FACE], timestamp=0.0)
    assert unknown.value.status == 404 and unknown.value.code == "session_not_found"
    assert unknown.value.detail and "404 session_not_found" in str(unknown.value)

    with pytest.raises(pc.InterviewApiError) as unknown_end:
        client.end_session("no-such-session")
    assert (unknown_end.value.status, unknown_end.value.code) == (404, "session_not_found")

    with pytest.raises(pc.InterviewApiError) as invalid:
        client.start_session("")
    assert (invalid.value.status, invalid.value.code) == (422, "validation_error")
    assert invalid.value.errors and invalid.value.errors[0]["loc"][-1] == "candidate_id"

    session_id = client.start_session("client-bad-frame")
    with pytest.raises(pc.InterviewApiError) as not_an_image:
        client.analyze_frame(session_id, b"plain text, not a picture", timestamp=0.0)
    assert (not_an_image.value.status, not_an_image.value.code) == (400, "not_an_image")
    client.end_session(session_id)


def test_the_stream_matches_rest(base_url: str, fixture_bytes: dict[str, bytes]) -> None:
    with pc.InterviewClient(base_url, timeout=120) as api:
        session_id = api.start_session("client-compare", timestamp=0.0)
        rest = [api.analyze_frame(session_id, fixture_bytes[TWO_FACES], timestamp=t) for t in TIMES]
        rest_end = api.end_session(session_id)

    with pc.stream(base_url, timeout=120) as ws:
        started = ws.start("client-compare", timestamp=0.0)
        assert started["message"] == "Session started" and ws.session_id == started["session_id"]
        streamed = [ws.send_frame(fixture_bytes[TWO_FACES], timestamp=t) for t in TIMES]
        ws_end = ws.end()
        assert ws.session_id is None

    assert all("type" not in f and f["session_id"] == started["session_id"] for f in streamed)
    assert [f["faces"] for f in streamed] == [f["faces"] for f in rest] == [2, 2, 2, 2]
    assert _raised(streamed) == _raised(rest) == [(1.5, "MULTIPLE_FACES")]
    assert [f["risk_score"] for f in streamed] == [f["risk_score"] for f in rest]
    for key in ("verdict", "final_risk_score", "total_violations", "duration_seconds"):
        assert ws_end[key] == rest_end[key], key
    assert ws_end["summary"]["event_counts"] == rest_end["summary"]["event_counts"] == {"MULTIPLE_FACES": 1}


def test_stream_errors_keep_the_connection_and_resume_works(
    client: pc.InterviewClient, fixture_bytes: dict[str, bytes]
) -> None:
    with client.stream() as ws:
        with pytest.raises(pc.InterviewApiError) as no_session:
            ws.send_frame(fixture_bytes[ONE_FACE], timestamp=0.0)
        assert (no_session.value.status, no_session.value.code) == (400, "bad_message")
        with pytest.raises(pc.InterviewApiError) as unknown:
            ws.resume("no-such-session")
        assert (unknown.value.status, unknown.value.code) == (404, "session_not_found")

        # The same connection still works: pick up a session opened over REST.
        session_id = client.start_session("client-resume", timestamp=10.0)
        assert ws.resume(session_id) == session_id
        first = ws.send_frame(fixture_bytes[ONE_FACE], timestamp=10.0)
        assert first["faces"] == 1 and first["session_id"] == session_id
        with pytest.raises(pc.InterviewApiError) as bad_frame:
            ws.send_frame("%%% not base64 %%%", timestamp=10.5)
        assert (bad_frame.value.status, bad_frame.value.code) == (400, "invalid_base64")
        ended = ws.end()

    assert ended["session_id"] == session_id and ended["summary"]["frames_analyzed"] == 1
    assert ended["verdict"] == "CLEAN" and ended["total_violations"] == 0
    with pytest.raises(pc.InterviewApiError) as after_end:
        client.analyze_frame(session_id, fixture_bytes[ONE_FACE])
    assert (after_end.value.status, after_end.value.code) == (409, "session_ended")
