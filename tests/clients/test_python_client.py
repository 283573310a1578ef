"""The Python client package (clients/python) against the real Serve application: sync and async,
REST and WebSocket, with the API key, with a session token, and without credentials; session
records, evidence images, reviews and reports; and the deployed service's OpenAPI document, the
one the contract check (test_contract.py) builds without Ray."""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import interview_integrity_client as iic
import numpy as np
import pytest
from interview_integrity_client.media import PacedFrame, analyze_video_file, watch_webcam

from tests.clients.contract import check_client, python_client, service_openapi
from tests.integration.conftest import running_app

pytestmark = pytest.mark.integration

API_KEY = "client-tests-key"
TWO_FACES = "A03_two_faces_webcam.png"
ONE_FACE = "A01_frontal_webcam_man.png"
GAZE_CLIP = "A_video_gaze_center_left_center.mp4"
WEBCAM_CLIP = "A_video_webcam_person_standing.mkv"
TIMES = [0.0, 0.5, 1.0, 1.5]


@pytest.fixture(scope="module")
def base_url(serve_port: int, fixtures_dir: Path) -> Iterator[str]:
    with running_app(serve_port, api_keys=API_KEY):
        yield f"http://127.0.0.1:{serve_port}"


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[iic.InterviewClient]:
    with iic.InterviewClient(base_url, timeout=120, api_key=API_KEY) as api:
        yield api


def _raised(frames: list[iic.AnalyzeFrameResponse]) -> list[tuple[float, str]]:
    return [(f.timestamp, e) for f in frames for e in f.events]


def test_health_lists_the_models(client: iic.InterviewClient) -> None:
    health = client.health()
    assert isinstance(health, iic.HealthResponse)
    assert health.service == "interview-integrity"
    assert health.status in {"ok", "degraded"}
    assert {"face", "gaze", "objects"} <= health.models.keys()
    assert health.models["face"].available is True
    assert health.models["gaze"].available is True
    assert health.models_loaded is all(m.available for m in health.models.values())
    assert health.uptime_seconds > 0 and health.version


def test_a_rest_session_with_two_faces(client: iic.InterviewClient, fixture_bytes: dict[str, bytes]) -> None:
    started = client.start_session("client-two-faces", metadata={"round": 2}, timestamp=0.0)
    session_id = started.session_id
    assert session_id and started.session_token and started.message == "Session started"
    frames = [client.analyze_frame(session_id, fixture_bytes[TWO_FACES], timestamp=t) for t in TIMES]

    assert all(isinstance(f, iic.AnalyzeFrameResponse) for f in frames)
    assert [f.faces for f in frames] == [2, 2, 2, 2]
    assert all(f.session_id == session_id for f in frames)
    assert [f.timestamp for f in frames] == TIMES
    assert _raised(frames) == [(1.5, "MULTIPLE_FACES")]  # held 1.5 s (debounce), then raised once
    (event,) = frames[-1].event_details
    assert event.type == "MULTIPLE_FACES" and event.severity == "critical"
    assert frames[-1].risk_score == 25 and frames[-1].cheating is False
    assert len(frames[-1].details.faces) == 2 and frames[-1].details.faces[0].box.width > 0

    ended = client.end_session(session_id)
    assert ended.session_id == session_id
    assert ended.total_violations == 1 and ended.final_risk_score == 25
    assert ended.verdict == "CLEAN"  # 25 stays under the suspicious threshold (30)
    assert ended.duration_seconds == pytest.approx(1.5)
    summary = ended.summary
    assert summary.event_counts == {"MULTIPLE_FACES": 1}
    assert summary.candidate_id == "client-two-faces" and summary.metadata == {"round": 2}
    assert summary.frames_analyzed == 4

    with pytest.raises(iic.SessionEndedError) as ended_twice:
        client.end_session(session_id)
    assert (ended_twice.value.status, ended_twice.value.code) == (409, "session_ended")


def test_the_deployed_service_serves_the_document_the_contract_checks(base_url: str) -> None:
    served = httpx.get(f"{base_url}/openapi.json", timeout=60).json()
    assert served == service_openapi()
    assert check_client(served, *python_client()).problems == []


def test_a_session_too_little_observed_ends_inconclusive(
    client: iic.InterviewClient, fixture_bytes: dict[str, bytes]
) -> None:
    """Two frames 3 s apart: the time between them had no frames (more than 1 s apart), so the face
    was judged for none of the session: INCONCLUSIVE, not CLEAN (min_observed_share)."""
    session_id = client.start_session("client-inconclusive", timestamp=0.0).session_id
    first = client.analyze_frame(session_id, fixture_bytes[ONE_FACE], timestamp=0.0)
    second = client.analyze_frame(session_id, fixture_bytes[ONE_FACE], timestamp=3.0)
    assert first.faces == second.faces == 1 and second.events == []
    assert second.verdict == "INCONCLUSIVE"
    assert second.details.coverage["NO_FACE"].no_frames_s == pytest.approx(3.0)

    ended = client.end_session(session_id)
    assert isinstance(ended, iic.EndSessionResponse)
    assert ended.verdict == "INCONCLUSIVE" and ended.total_violations == 0 and ended.final_risk_score == 0
    basis = ended.summary.verdict_basis
    assert basis is not None and basis.verdict == "INCONCLUSIVE"
    assert basis.observed_share is not None and basis.observed_share < basis.min_observed_share
    assert "judged only" in ended.summary.verdict_reason
    assert client.get_record(session_id).verdict == "INCONCLUSIVE"


def test_the_record_evidence_reviews_and_report_of_a_session(
    base_url: str, client: iic.InterviewClient, fixture_bytes: dict[str, bytes]
) -> None:
    started = client.start_session("client-records", metadata={"round": 3}, timestamp=0.0)
    session_id = started.session_id
    frames = [client.analyze_frame(session_id, fixture_bytes[TWO_FACES], timestamp=t) for t in TIMES]
    (event,) = frames[-1].event_details
    assert event.id and event.evidence_url == f"/sessions/{session_id}/events/{event.id}/evidence"

    live = client.get_record(session_id)  # an open session's record is built live
    assert isinstance(live, iic.SessionRecord)
    assert live.status == "active" and live.ended_at is None and live.kept_until is None
    assert [e.id for e in live.events] == [event.id]

    client.end_session(session_id)
    record = client.get_record(session_id)
    assert record.session_id == session_id and record.status == "ended"
    assert record.candidate_id == "client-records" and record.metadata == {"round": 3}
    assert record.frames_analyzed == 4 and record.event_counts == {"MULTIPLE_FACES": 1}
    assert record.verdict == "CLEAN" and record.reviewed_verdict is None and record.reviews == {}
    (recorded,) = record.events
    assert isinstance(recorded, iic.RecordedEvent)
    assert (recorded.id, recorded.type, recorded.severity) == (event.id, "MULTIPLE_FACES", "critical")
    assert recorded.evidence_url == event.evidence_url and recorded.review is None
    assert record.risk_timeline and max(p.risk for p in record.risk_timeline) == pytest.approx(25.0)
    assert record.models["face"].available is True
    assert record.ended_at is not None and record.kept_until is not None
    assert record.kept_until > record.ended_at

    image = client.get_evidence(session_id, event.id)
    assert isinstance(image, bytes) and image[:3] == b"\xff\xd8\xff"  # a JPEG
    picture = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and max(picture.shape[:2]) <= 640

    reviewed = client.review_event(session_id, event.id, "dismissed", note="a poster on the wall")
    assert isinstance(reviewed, iic.ReviewResponse)
    assert (reviewed.session_id, reviewed.event_id) == (session_id, event.id)
    assert reviewed.review.decision == "dismissed" and reviewed.review.note == "a poster on the wall"
    assert reviewed.review.reviewer and reviewed.review.at > 0
    assert reviewed.verdict == "CLEAN" and reviewed.reviewed_verdict == "CLEAN"
    after = client.get_record(session_id)
    assert after.events[0].review == reviewed.review and after.reviews == {event.id: reviewed.review}
    assert after.reviewed_verdict == "CLEAN" and after.verdict == "CLEAN"

    html = client.get_report(session_id)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "Interview integrity report: client-records" in html and "a poster on the wall" in html

    # The session's own token reads its evidence, and nothing else of the record.
    with iic.InterviewClient(base_url, timeout=120, session_token=started.session_token) as browser:
        assert browser.get_evidence(session_id, event.id) == image
        for refused in (
            lambda: browser.get_record(session_id),
            lambda: browser.get_report(session_id),
            lambda: browser.review_event(session_id, event.id, "confirmed"),
        ):
            with pytest.raises(iic.ForbiddenError) as forbidden:
                refused()
            assert (forbidden.value.status, forbidden.value.code) == (403, "forbidden")
    with pytest.raises(iic.EvidenceNotFoundError) as no_image:
        client.get_evidence(session_id, "ev9999")
    assert (no_image.value.status, no_image.value.code) == (404, "evidence_not_found")
    with pytest.raises(iic.EventNotFoundError) as no_event:
        client.review_event(session_id, "ev9999", "confirmed")
    assert (no_event.value.status, no_event.value.code) == (404, "event_not_found")
    for unknown in (client.get_record, client.get_report):
        with pytest.raises(iic.SessionNotFoundError):
            unknown("no-such-session")


def test_frames_as_arrays_and_as_base64_strings(
    client: iic.InterviewClient, fixture_bytes: dict[str, bytes]
) -> None:
    image = cv2.imdecode(np.frombuffer(fixture_bytes[ONE_FACE], np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    session_id = client.start_session("client-array").session_id
    from_array = client.analyze_frame_from_array(session_id, image, timestamp=0.0, quality=90)
    assert from_array.faces == 1
    details = from_array.details
    assert (details.image_height, details.image_width) == image.shape[:2]
    assert len(details.faces) == 1 and details.faces[0].landmarks is None

    data_url = "data:image/png;base64," + base64.b64encode(fixture_bytes[ONE_FACE]).decode()
    from_string = client.analyze_frame(session_id, data_url, timestamp=0.5, include_landmarks=True)
    assert from_string.faces == 1 and from_string.timestamp == 0.5
    landmarks = from_string.details.faces[0].landmarks
    assert landmarks is not None and len(landmarks) == 68
    assert client.end_session(session_id).summary.frames_analyzed == 2


def test_refusals_raise_one_class_per_code(
    client: iic.InterviewClient, fixture_bytes: dict[str, bytes]
) -> None:
    with pytest.raises(iic.SessionNotFoundError) as unknown:
        client.analyze_frame("no-such-session", fixture_bytes[ONE_FACE], timestamp=0.0)
    assert isinstance(unknown.value, iic.InterviewApiError)
    assert unknown.value.status == 404 and unknown.value.code == "session_not_found"
    assert unknown.value.detail and "404 session_not_found" in str(unknown.value)

    with pytest.raises(iic.SessionNotFoundError) as unknown_end:
        client.end_session("no-such-session")
    assert (unknown_end.value.status, unknown_end.value.code) == (404, "session_not_found")

    with pytest.raises(iic.InvalidRequestError) as invalid:
        client.start_session("")
    assert (invalid.value.status, invalid.value.code) == (422, "validation_error")
    assert invalid.value.errors and invalid.value.errors[0]["loc"][-1] == "candidate_id"

    session_id = client.start_session("client-bad-frame").session_id
    with pytest.raises(iic.NotAnImageError) as not_an_image:
        client.analyze_frame(session_id, b"plain text, not a picture", timestamp=0.0)
    assert (not_an_image.value.status, not_an_image.value.code) == (400, "not_an_image")
    client.end_session(session_id)


def test_the_stream_matches_rest(base_url: str, fixture_bytes: dict[str, bytes]) -> None:
    with iic.InterviewClient(base_url, timeout=120, api_key=API_KEY) as api:
        session_id = api.start_session("client-compare", timestamp=0.0).session_id
        rest = [api.analyze_frame(session_id, fixture_bytes[TWO_FACES], timestamp=t) for t in TIMES]
        rest_end = api.end_session(session_id)

    with iic.stream(base_url, timeout=120, access_token=API_KEY) as ws:
        started = ws.start("client-compare", timestamp=0.0)
        assert started.message == "Session started" and ws.session_id == started.session_id
        streamed = [ws.send_frame(fixture_bytes[TWO_FACES], timestamp=t) for t in TIMES]
        ws_end = ws.end()
        assert ws.session_id is None

    assert all("type" not in (f.model_extra or {}) and f.session_id == started.session_id for f in streamed)
    assert [f.faces for f in streamed] == [f.faces for f in rest] == [2, 2, 2, 2]
    assert _raised(streamed) == _raised(rest) == [(1.5, "MULTIPLE_FACES")]
    assert [f.risk_score for f in streamed] == [f.risk_score for f in rest]
    for key in ("verdict", "final_risk_score", "total_violations", "duration_seconds"):
        assert getattr(ws_end, key) == getattr(rest_end, key), key
    assert ws_end.summary.event_counts == rest_end.summary.event_counts == {"MULTIPLE_FACES": 1}


def test_stream_errors_keep_the_connection_and_resume_works(
    client: iic.InterviewClient, fixture_bytes: dict[str, bytes]
) -> None:
    with client.stream() as ws:
        with pytest.raises(iic.BadMessageError) as no_session:
            ws.send_frame(fixture_bytes[ONE_FACE], timestamp=0.0)
        assert (no_session.value.status, no_session.value.code) == (400, "bad_message")
        with pytest.raises(iic.SessionNotFoundError) as unknown:
            ws.resume("no-such-session")
        assert (unknown.value.status, unknown.value.code) == (404, "session_not_found")

        # The same connection still works: pick up a session opened over REST.
        session_id = client.start_session("client-resume", timestamp=10.0).session_id
        assert ws.resume(session_id) == session_id
        first = ws.send_frame(fixture_bytes[ONE_FACE], timestamp=10.0)
        assert first.faces == 1 and first.session_id == session_id
        with pytest.raises(iic.InvalidBase64Error) as bad_frame:
            ws.send_frame("%%% not base64 %%%", timestamp=10.5)
        assert (bad_frame.value.status, bad_frame.value.code) == (400, "invalid_base64")
        ended = ws.end()

    assert ended.session_id == session_id and ended.summary.frames_analyzed == 1
    assert ended.verdict == "CLEAN" and ended.total_violations == 0
    with pytest.raises(iic.SessionEndedError) as after_end:
        client.analyze_frame(session_id, fixture_bytes[ONE_FACE])
    assert (after_end.value.status, after_end.value.code) == (409, "session_ended")


async def test_async_rest_and_stream(base_url: str, fixture_bytes: dict[str, bytes]) -> None:
    async with iic.AsyncInterviewClient(base_url, timeout=120, api_key=API_KEY) as api:
        health = await api.health()
        assert health.models["face"].available is True
        session_id = (await api.start_session("client-async", timestamp=0.0)).session_id
        rest = [await api.analyze_frame(session_id, fixture_bytes[TWO_FACES], timestamp=t) for t in TIMES]
        assert _raised(rest) == [(1.5, "MULTIPLE_FACES")]
        ended = await api.end_session(session_id)
        assert ended.summary.event_counts == {"MULTIPLE_FACES": 1} and ended.total_violations == 1
        with pytest.raises(iic.SessionEndedError):
            await api.analyze_frame(session_id, fixture_bytes[ONE_FACE])

        # The ended session's record, its event's evidence, a review and the report.
        (event,) = rest[-1].event_details
        record = await api.get_record(session_id)
        assert record.status == "ended" and [e.id for e in record.events] == [event.id]
        image = await api.get_evidence(session_id, event.id)
        assert image[:3] == b"\xff\xd8\xff"
        reviewed = await api.review_event(session_id, event.id, "confirmed")
        assert reviewed.review.decision == "confirmed" and reviewed.review.note is None
        assert reviewed.reviewed_verdict == reviewed.verdict == record.verdict
        assert (await api.get_record(session_id)).reviews[event.id].decision == "confirmed"
        html = await api.get_report(session_id)
        assert "Interview integrity report: client-async" in html
        with pytest.raises(iic.EvidenceNotFoundError):
            await api.get_evidence(session_id, "ev9999")

        # Too little observed: INCONCLUSIVE, through the async client too.
        short_id = (await api.start_session("client-async-short", timestamp=0.0)).session_id
        await api.analyze_frame(short_id, fixture_bytes[ONE_FACE], timestamp=0.0)
        await api.analyze_frame(short_id, fixture_bytes[ONE_FACE], timestamp=3.0)
        assert (await api.end_session(short_id)).verdict == "INCONCLUSIVE"

        async with api.stream() as ws:
            with pytest.raises(iic.BadMessageError):
                await ws.send_frame(fixture_bytes[ONE_FACE], timestamp=0.0)
            started = await ws.start("client-async-ws", metadata={"via": "asyncio"}, timestamp=0.0)
            streamed = [await ws.send_frame(fixture_bytes[TWO_FACES], timestamp=t) for t in TIMES]
            ws_end = await ws.end()
        assert all(f.session_id == started.session_id for f in streamed)
        assert _raised(streamed) == [(1.5, "MULTIPLE_FACES")]
        assert ws_end.summary.metadata == {"via": "asyncio"} and ws_end.verdict == ended.verdict

        # A session opened over REST, resumed over the async stream.
        resumed_id = (await api.start_session("client-async-resume", timestamp=0.0)).session_id
        ws2 = await api.stream()
        try:
            assert await ws2.resume(resumed_id) == resumed_id
            frame = await ws2.send_frame(fixture_bytes[ONE_FACE], timestamp=0.0)
            assert frame.faces == 1
        finally:
            await ws2.close()
        assert (await api.end_session(resumed_id)).summary.frames_analyzed == 1


def test_a_session_token_sends_frames_and_nothing_else(
    base_url: str, client: iic.InterviewClient, fixture_bytes: dict[str, bytes]
) -> None:
    started = client.start_session("client-token", timestamp=0.0)
    other = client.start_session("client-token-other", timestamp=0.0)
    assert started.session_token and other.session_token and started.session_token != other.session_token

    with iic.InterviewClient(base_url, timeout=120, session_token=started.session_token) as browser:
        assert browser.analyze_frame(started.session_id, fixture_bytes[ONE_FACE], timestamp=0.0).faces == 1
        with pytest.raises(iic.ForbiddenError) as other_session:
            browser.analyze_frame(other.session_id, fixture_bytes[ONE_FACE], timestamp=0.0)
        assert (other_session.value.status, other_session.value.code) == (403, "forbidden")
        with pytest.raises(iic.ForbiddenError):
            browser.end_session(started.session_id)  # ending needs the API key
        with browser.stream() as ws:
            assert ws.resume(started.session_id) == started.session_id
            assert ws.send_frame(fixture_bytes[ONE_FACE], timestamp=0.5).faces == 1

    with iic.InterviewClient(base_url, timeout=120) as anonymous:
        with pytest.raises(iic.UnauthorizedError) as no_key:
            anonymous.start_session("client-no-key")
        assert (no_key.value.status, no_key.value.code) == (401, "unauthorized")
        with pytest.raises(iic.UnauthorizedError):
            anonymous.stream()
    with pytest.raises(iic.UnauthorizedError):
        iic.stream(base_url, access_token="not-a-key")

    assert client.end_session(started.session_id).summary.frames_analyzed == 2
    client.end_session(other.session_id)


def test_video_file_helper_paces_frames_on_video_time(
    client: iic.InterviewClient, fixtures_dir: Path
) -> None:
    seen: list[tuple[iic.AnalyzeFrameResponse, PacedFrame]] = []
    t0 = time.monotonic()
    ended = analyze_video_file(
        client,
        fixtures_dir / GAZE_CLIP,
        "client-video-file",
        fps=4.0,
        max_seconds=2.0,
        on_result=lambda result, frame: seen.append((result, frame)),
    )
    elapsed = time.monotonic() - t0
    stamps = [frame.timestamp for _, frame in seen]
    # Real time: the last sampled frame (~1.75-2 s of video) is not sent before its time comes.
    assert elapsed >= stamps[-1] - 0.05, (elapsed, stamps)
    # 8 on a machine that keeps up; a busy one answers late and the helper drops the frames whose
    # time has passed (never queues them): pinned with a fake clock in test_python_client_unit.py.
    assert 2 <= len(seen) <= 9, stamps
    assert stamps[0] == 0.0 and all(b - a >= 0.24 for a, b in itertools.pairwise(stamps))
    assert [r.timestamp for r, _ in seen] == stamps  # the service books each frame at its video time
    assert all(r.faces == 1 for r, _ in seen)
    assert all(r.details.image_width <= 640 for r, _ in seen)  # scaled to max_width when wider
    assert ended.summary.frames_analyzed == len(seen)
    assert ended.duration_seconds == pytest.approx(stamps[-1], abs=0.01)


def test_webcam_loop_sends_the_current_picture_at_fps(
    client: iic.InterviewClient, fixtures_dir: Path
) -> None:
    seen: list[PacedFrame] = []
    ended = watch_webcam(
        client,
        "client-webcam",
        device=str(fixtures_dir / WEBCAM_CLIP),  # OpenCV opens a file like a camera
        fps=4.0,
        max_seconds=1.5,
        on_result=lambda result, frame: seen.append(frame),
    )
    assert 3 <= len(seen) <= 7, [f.timestamp for f in seen]
    assert all(b.timestamp > a.timestamp for a, b in itertools.pairwise(seen))
    assert ended.summary.frames_analyzed == len(seen)
