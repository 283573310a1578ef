"""The service in process (its real app, pipeline, models and sessions, without Ray) on the real photo
fixtures, over REST and WebSocket. The same paths through real Serve: tests/integration/test_smoke.py."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from PIL import Image

from serve_app.pipeline import Analyzers
from tests.api.conftest import FakeClock, LocalWs, WebSocketClient, local_client
from tests.conftest import FACE_COUNTS
from tests.integration.conftest import analyze, b64, end, start

EXPIRE_S = 8.0
MAX_FRAME_BYTES = 2_000_000
MAX_PIXELS = 9_000_000
MAX_SESSIONS = 40


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def connect_ws(client: httpx.Client) -> Callable[[], WebSocketClient]:
    """Opens ``/ws/stream`` of the app under test (tests/integration/test_smoke.py: through Serve)."""
    return lambda: LocalWs(client)


@pytest.fixture(scope="module")
def client(
    analyzers: Analyzers, no_object_models: dict[str, Any], clock: FakeClock
) -> Iterator[httpx.Client]:
    with local_client(
        analyzers,
        clock=clock,
        **no_object_models,
        session_expire_seconds=EXPIRE_S,
        max_frame_bytes=MAX_FRAME_BYTES,
        max_frame_pixels=MAX_PIXELS,
        max_concurrent_sessions=MAX_SESSIONS,
    ) as http:
        yield http


def test_health_reports_each_model_honestly(client: httpx.Client) -> None:
    health = client.get("/health").json()
    assert health["service"] == "interview-integrity"
    assert health["models"]["face"]["available"] is True
    assert health["models"]["gaze"]["available"] is True
    # The face stage names each of its models with its file, checksum and runtime.
    for name, file, runtime in (
        ("face", "face_detection_full_range_sparse.tflite", "litert"),
        ("face_landmarks", "face_landmarker.task", "litert"),  # the default landmark backend
        ("face_verifier", "face_landmark.tflite", "litert"),
    ):
        model = health["models"][name]
        assert model["available"] is True and model["file"] == file, model
        assert len(model["sha256"]) == 64 and model["runtime"].startswith(runtime)
    objects = health["models"]["objects"]
    assert objects["available"] is False and "no YOLO weights" in objects["detail"]
    assert health["models_loaded"] is False and health["status"] == "degraded"
    assert isinstance(health["active_sessions"], int) and health["uptime_seconds"] > 0


def test_face_count_matches_the_manifest_on_every_frame(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    """Every frame gets the same detector (no first-frame or periodic deep scan): the second and
    later frames of a session are counted exactly as its first."""
    counts: dict[str, list[int]] = {}
    for name, data in fixture_bytes.items():
        session_id = start(client, name)
        frames = [analyze(client, session_id, data, ts=t * 0.5) for t in range(2)]
        assert all(f["details"]["face_detector"] == "blazeface_full_range" for f in frames)
        counts[name] = [f["faces"] for f in frames]
        end(client, session_id)
    wrong = {name: n for name, n in counts.items() if any(c not in FACE_COUNTS[name] for c in n)}
    assert wrong == {}, f"face counts {counts}"


def test_a_dog_beside_the_candidate_never_raises_multiple_faces(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    """A11: a girl and a Great Dane whose head the detector scores like hers. 3 s of frames."""
    session_id = start(client, "dog-owner")
    frames = [
        analyze(client, session_id, fixture_bytes["A11_face_three_quarter_with_dog.jpg"], ts=t * 0.25)
        for t in range(13)
    ]
    assert [f["faces"] for f in frames] == [1] * 13
    assert all(f["details"]["unverified_face_candidates"] == 1 for f in frames)  # the dog: not counted
    # Her head is turned (3/4 view, eyes off the camera): LOOKING_AWAY is fair, a second face is not.
    assert {e for f in frames for e in f["events"]} <= {"LOOKING_AWAY"}
    ended = end(client, session_id)
    assert "MULTIPLE_FACES" not in ended["summary"]["event_counts"]


def test_two_faces_raise_multiple_faces_once_debounced(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    session_id = start(client)
    frames = [
        analyze(client, session_id, fixture_bytes["A03_two_faces_webcam.png"], ts=t * 0.5) for t in range(7)
    ]
    assert [f["faces"] for f in frames] == [2] * 7
    raised = [(f["timestamp"], e) for f in frames for e in f["events"]]
    # Held 1.5 s, then counted once (cooldown). Neither person looks at the camera (MANIFEST): the
    # main face's head, turned ~30 degrees, may also raise LOOKING_AWAY after its 2 s.
    assert [r for r in raised if r[1] != "LOOKING_AWAY"] == [(1.5, "MULTIPLE_FACES")]
    event = next(e for f in frames for e in f["event_details"] if e["type"] == "MULTIPLE_FACES")
    assert event["severity"] == "critical" and event["risk_increase"] == 25
    assert event["evidence"]["faces"] == 2 and event["evidence"]["held_s"] == pytest.approx(1.5)
    assert frames[-1]["risk_score"] == 25 + 10 * len(raised[1:])
    summary = end(client, session_id)
    assert summary["summary"]["event_counts"]["MULTIPLE_FACES"] == 1
    assert summary["total_violations"] == len(raised)


def test_no_face_after_about_two_seconds(client: httpx.Client, fixture_bytes: dict[str, bytes]) -> None:
    session_id = start(client)
    frames = [
        analyze(client, session_id, fixture_bytes["A07_no_person_pen_on_paper.jpg"], ts=t * 0.5)
        for t in range(7)
    ]
    assert all(f["faces"] == 0 for f in frames)
    assert all(f["gaze"] == "unknown" and f["attention"] == 0 for f in frames)
    raised = [(f["timestamp"], e) for f in frames for e in f["events"]]
    assert raised == [(2.0, "NO_FACE")]
    ended = end(client, session_id)
    assert ended["summary"]["event_counts"] == {"NO_FACE": 1}
    assert ended["summary"]["models_unavailable"]["objects"].startswith("no YOLO weights")


def test_a_minute_of_a_frontal_candidate_ends_clean(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    session_id = start(client, "honest-candidate", timestamp=5000.0)
    frames = [
        analyze(client, session_id, fixture_bytes["A01_frontal_webcam_man.png"], ts=5000.0 + t * 0.5)
        for t in range(121)
    ]
    assert all(f["faces"] == 1 and f["events"] == [] and f["risk_score"] == 0 for f in frames)
    assert all(f["gaze"] == "center" and f["attention"] >= 80 for f in frames)
    assert frames[-1]["details"]["behaviour"]["calibration"] == "calibrated"
    ended = end(client, session_id)
    assert ended["verdict"] == "CLEAN"
    assert ended["final_risk_score"] == 0 and ended["total_violations"] == 0
    assert ended["duration_seconds"] == pytest.approx(60.0)
    assert ended["summary"]["frames_analyzed"] == 121


def test_concurrent_streams_are_served_correctly(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    """Several candidates at once: every frame answered, each with its own frame's faces. A start
    may meet the frames of the others in flight and be refused 503 with Retry-After (sessions
    already open keep priority): the stream waits as a client would and starts again."""
    images = {1: fixture_bytes["A01_frontal_webcam_man.png"], 2: fixture_bytes["A03_two_faces_webcam.png"]}

    def start_when_admitted(candidate: str) -> str:
        for _ in range(20):
            response = client.post("/start-session", json={"candidate_id": candidate})
            if response.status_code != 503:
                break
            assert response.json()["code"] == "overloaded", response.text
            time.sleep(float(response.headers["Retry-After"]))
        assert response.status_code == 200, response.text
        session_id: str = response.json()["session_id"]
        return session_id

    def one_stream(expected_faces: int) -> list[int]:
        session_id = start_when_admitted(f"parallel-{expected_faces}")
        faces = [analyze(client, session_id, images[expected_faces], ts=t * 0.2)["faces"] for t in range(6)]
        end(client, session_id)
        return faces

    wanted = [1, 2, 1, 2, 1, 2]
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        results = list(pool.map(one_stream, wanted))
    assert results == [[n] * 6 for n in wanted]


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """A response without what legitimately differs between two runs (ids, times measured)."""
    body = {k: v for k, v in body.items() if k not in {"type", "session_id", "processing_time_ms"}}
    if "event_details" in body:  # evidence URLs name the session
        body["event_details"] = [
            {k: v for k, v in e.items() if k != "evidence_url"} for e in body["event_details"]
        ]
    if "details" in body:
        body["details"] = {k: v for k, v in body["details"].items() if k != "timings_ms"}
        if body["details"].get("gaze"):
            body["details"]["gaze"] = {k: v for k, v in body["details"]["gaze"].items() if k != "timings_ms"}
    if "summary" in body:
        body["summary"] = {k: v for k, v in body["summary"].items() if k not in {"started_at", "ended_at"}}
    return body


def test_websocket_gives_the_same_results_as_rest(
    client: httpx.Client, connect_ws: Callable[[], WebSocketClient], fixture_bytes: dict[str, bytes]
) -> None:
    sequence = [
        ("A03_two_faces_webcam.png", 0.0),
        ("A03_two_faces_webcam.png", 0.5),
        ("A03_two_faces_webcam.png", 1.0),
        ("A03_two_faces_webcam.png", 1.5),
        ("A07_no_person_pen_on_paper.jpg", 2.0),
        ("A07_no_person_pen_on_paper.jpg", 2.5),
        ("A07_no_person_pen_on_paper.jpg", 3.0),
        ("A07_no_person_pen_on_paper.jpg", 4.0),
        ("A07_no_person_pen_on_paper.jpg", 4.5),
        ("A05_head_turned_away_webcam.png", 5.0),
        ("A01_frontal_webcam_man.png", 5.5),
    ]
    session_id = start(client, "same-candidate", metadata={"round": 1})
    rest = [analyze(client, session_id, fixture_bytes[name], ts=ts) for name, ts in sequence]
    rest_end = end(client, session_id)

    ws = connect_ws()
    started = ws.send({"action": "start", "candidate_id": "same-candidate", "metadata": {"round": 1}})
    assert started["type"] == "session_started" and started["message"] == "Session started"
    socket = [
        ws.send({"action": "frame", "frame": b64(fixture_bytes[name]), "timestamp": ts})
        for name, ts in sequence
    ]
    ws_end = ws.send({"action": "end"})
    ws.close()

    assert all(m["type"] == "analysis" and m["session_id"] == started["session_id"] for m in socket)
    assert [_comparable(m) for m in socket] == [_comparable(r) for r in rest]
    assert ws_end["type"] == "session_ended"
    assert _comparable(ws_end) == _comparable(rest_end)
    assert rest_end["summary"]["event_counts"] == {"MULTIPLE_FACES": 1, "NO_FACE": 1}


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (90, 90, 90)).save(buf, format="PNG")
    return buf.getvalue()


def _refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["detail"]
    return body


def test_bad_input_is_refused_clearly_and_nothing_recorded_is_lost(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    session_id = start(client)
    for t in range(4):  # record a MULTIPLE_FACES event first
        analyze(client, session_id, fixture_bytes["A03_two_faces_webcam.png"], ts=t * 0.5)

    def post(frame: str, sid: str = session_id, **extra: Any) -> httpx.Response:
        return client.post(
            "/analyze-frame", json={"session_id": sid, "frame": frame, "timestamp": 2.0, **extra}
        )

    _refused(post("%%% not base64 %%%"), 400, "invalid_base64")
    _refused(post(b64(b"just some text, not a picture")), 400, "not_an_image")
    truncated = fixture_bytes["A07_no_person_pen_on_paper.jpg"][:5000]
    assert "decoded" in _refused(post(b64(truncated)), 400, "not_an_image")["detail"]
    _refused(post(b64(b"\xff\xd8\xff" + b"\0" * (MAX_FRAME_BYTES + 10))), 413, "frame_too_large")
    body = _refused(post(b64(_png(3100, 3000))), 413, "frame_too_large")
    assert "3100x3000" in body["detail"]
    huge = client.post(
        "/analyze-frame",
        content=b"{" + b" " * (3 * MAX_FRAME_BYTES) + b"}",
        headers={"content-type": "application/json"},
    )
    _refused(huge, 413, "frame_too_large")
    _refused(
        post(b64(fixture_bytes["A01_frontal_webcam_man.png"]), sid="no-such-session"),
        404,
        "session_not_found",
    )
    _refused(client.post("/analyze-frame", json={"session_id": session_id}), 422, "validation_error")
    _refused(post(b64(fixture_bytes["A01_frontal_webcam_man.png"]), timestamp=-1), 422, "validation_error")
    _refused(
        client.post("/analyze-frame", content=b"{not json", headers={"content-type": "application/json"}),
        422,
        "validation_error",
    )
    _refused(client.post("/start-session", json={"candidate_id": ""}), 422, "validation_error")
    _refused(
        client.post("/start-session", json={"candidate_id": "x", "metadata": {"blob": "y" * 20_000}}),
        400,
        "bad_message",
    )

    good = analyze(client, session_id, fixture_bytes["A03_two_faces_webcam.png"], ts=2.5)
    assert good["faces"] == 2
    ended = end(client, session_id)
    assert ended["summary"]["frames_analyzed"] == 5  # the refused frames were never booked
    assert ended["summary"]["event_counts"] == {"MULTIPLE_FACES": 1}

    _refused(post(b64(fixture_bytes["A01_frontal_webcam_man.png"])), 409, "session_ended")
    _refused(client.post("/end-session", json={"session_id": session_id}), 409, "session_ended")
    _refused(client.post("/end-session", json={"session_id": "never-was"}), 404, "session_not_found")


def test_idle_sessions_expire(
    client: httpx.Client, clock: FakeClock, fixture_bytes: dict[str, bytes]
) -> None:
    session_id = start(client)
    analyze(client, session_id, fixture_bytes["A01_frontal_webcam_man.png"])
    clock.advance(EXPIRE_S + 1.5)
    _refused(
        client.post(
            "/analyze-frame",
            json={"session_id": session_id, "frame": b64(fixture_bytes["A01_frontal_webcam_man.png"])},
        ),
        410,
        "session_expired",
    )
    other = start(client)  # the service keeps serving
    assert analyze(client, other, fixture_bytes["A01_frontal_webcam_man.png"])["faces"] == 1
    end(client, other)


def test_websocket_bad_messages_get_errors_and_the_socket_stays_open(
    connect_ws: Callable[[], WebSocketClient], fixture_bytes: dict[str, bytes]
) -> None:
    ws = connect_ws()
    cases = [
        ("this is not json", 400, "bad_message"),
        ([1, 2, 3], 400, "bad_message"),
        ({"action": "dance"}, 400, "bad_message"),
        ({"no": "action"}, 400, "bad_message"),
        ({"action": "frame", "frame": b64(fixture_bytes["A01_frontal_webcam_man.png"])}, 400, "bad_message"),
        ({"action": "end"}, 400, "bad_message"),
        ({"action": "start"}, 400, "bad_message"),
        ({"action": "resume", "session_id": "no-such-session"}, 404, "session_not_found"),
        (b"\x00binary\xff", 400, "bad_message"),
    ]
    for message, status, code in cases:
        reply = ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))
        assert (reply["type"], reply["status"], reply["code"]) == ("error", status, code), (message, reply)
    started = ws.send({"action": "start", "candidate_id": "ws-candidate"})
    assert started["type"] == "session_started"
    for frame, code in (("@@@", "invalid_base64"), (b64(b"plain text"), "not_an_image")):
        reply = ws.send({"action": "frame", "frame": frame})
        assert (reply["type"], reply["code"]) == ("error", code)
    good = ws.send(
        {"action": "frame", "frame": b64(fixture_bytes["A01_frontal_webcam_man.png"]), "timestamp": 1.0}
    )
    assert good["type"] == "analysis" and good["faces"] == 1
    ended = ws.send({"action": "end"})
    assert ended["type"] == "session_ended" and ended["summary"]["frames_analyzed"] == 1
    ws.close()


def test_websocket_can_resume_a_rest_session(
    client: httpx.Client, connect_ws: Callable[[], WebSocketClient], fixture_bytes: dict[str, bytes]
) -> None:
    session_id = start(client)
    analyze(client, session_id, fixture_bytes["A01_frontal_webcam_man.png"], ts=0.0)
    ws = connect_ws()
    assert ws.send({"action": "resume", "session_id": session_id}) == {
        "type": "session_resumed",
        "session_id": session_id,
    }
    reply = ws.send(
        {"action": "frame", "frame": b64(fixture_bytes["A01_frontal_webcam_man.png"]), "timestamp": 0.5}
    )
    assert reply["session_id"] == session_id and reply["faces"] == 1
    ws.close()
    assert end(client, session_id)["summary"]["frames_analyzed"] == 2


def test_open_session_limit(client: httpx.Client) -> None:
    opened, refused = [], None
    for i in range(MAX_SESSIONS + 1):
        response = client.post("/start-session", json={"candidate_id": f"crowd-{i}"})
        if response.status_code != 200:
            refused = response
            break
        opened.append(response.json()["session_id"])
    assert refused is not None
    _refused(refused, 429, "too_many_sessions")
    assert client.get("/health").json()["active_sessions"] == MAX_SESSIONS
    for session_id in opened:
        end(client, session_id)
    start(client)  # room again


def test_openapi_documents_the_api_with_examples(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/start-session", "/analyze-frame", "/end-session", "/health"} <= set(spec["paths"])
    request = spec["components"]["schemas"]["AnalyzeFrameRequest"]["properties"]
    assert request["frame"]["examples"] and request["timestamp"]["examples"]
    responses = spec["paths"]["/analyze-frame"]["post"]["responses"]
    assert {"200", "400", "404", "413"} <= set(responses)
