"""The Python client's retries, error classes and pacing, without a service (httpx.MockTransport)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import interview_integrity_client as iic
import pytest
from interview_integrity_client._common import handshake_refused, parse_ws_reply
from interview_integrity_client.errors import api_error, parse_retry_after
from interview_integrity_client.media import video_frames

ANALYSIS = {
    "session_id": "s-1",
    "cheating": False,
    "risk_score": 0,
    "attention": 100,
    "gaze": "center",
    "faces": 1,
    "objects": [],
    "events": [],
    "processing_time_ms": 5.0,
    "timestamp": 0.5,
    "verdict": "CLEAN",
    "event_details": [],
    "details": {"image_width": 64, "image_height": 48, "faces": [], "future_field": 1},
    "added_later": {"x": 1},
}


def scripted(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.MockTransport(handler)


def refusal(status: int, code: str, retry_after: str | None = None, **extra: object) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(status, json={"detail": f"{code}!", "code": code, **extra}, headers=headers)


def test_429_and_503_are_retried_after_retry_after_or_backoff() -> None:
    seen: list[httpx.Request] = []
    waits: list[float] = []
    answers = [
        refusal(429, "rate_limited", "2"),
        refusal(503, "analysis_failed"),
        httpx.Response(200, json=ANALYSIS),
    ]
    with iic.InterviewClient(
        "http://svc",
        api_key="k",
        transport=scripted(answers, seen),
        sleep=waits.append,
        retry=iic.RetryPolicy(base_delay=0.1),
    ) as client:
        result = client.analyze_frame("s-1", b"\xff\xd8", timestamp=0.5)
    assert result.faces == 1 and result.details.image_width == 64
    assert result.model_extra == {"added_later": {"x": 1}}  # unknown fields are kept
    assert len(seen) == 3 and waits[0] == 2.0 and 0.1 <= waits[1] <= 0.2
    assert all(r.headers["x-api-key"] == "k" for r in seen)
    assert json.loads(seen[0].content) == {"session_id": "s-1", "frame": "/9g=", "timestamp": 0.5}


def test_retries_give_up_with_the_typed_error() -> None:
    seen: list[httpx.Request] = []
    answers = [refusal(503, "session_store_unavailable")] * 3 + [refusal(429, "rate_limited", "600")]
    policy = iic.RetryPolicy(retries=2, base_delay=0.01)
    with iic.InterviewClient(
        "http://svc", transport=scripted(answers, seen), sleep=lambda s: None, retry=policy
    ) as c:
        with pytest.raises(iic.SessionStoreUnavailableError):
            c.health()
        assert len(seen) == 3
        with pytest.raises(iic.RateLimitedError) as too_long:  # Retry-After beyond max_delay: no wait
            c.health()
        assert too_long.value.retry_after == 600 and len(seen) == 4


def test_a_model_that_is_not_loaded_is_not_retried() -> None:
    """503 model_unavailable: retrying cannot load the model, so the error comes back at once."""
    seen: list[httpx.Request] = []
    answers = [refusal(503, "model_unavailable", "1")] * 4
    client = iic.InterviewClient("http://svc", transport=scripted(answers, seen), sleep=lambda s: None)
    with client as c, pytest.raises(iic.ModelUnavailableError):
        c.analyze_frame("s-1", b"\xff\xd8")
    assert len(seen) == 1


def test_other_refusals_are_not_retried_and_non_json_answers_keep_their_status() -> None:
    seen: list[httpx.Request] = []
    answers = [
        refusal(422, "validation_error", errors=[{"loc": ["body", "candidate_id"], "msg": "short"}]),
        httpx.Response(401, text="<html>proxy says no</html>"),
        refusal(429, "too_many_sessions", retry_after_body=None),
    ]
    with iic.InterviewClient(
        "http://svc", session_token="tok", transport=scripted(answers, seen), retry=iic.NO_RETRY
    ) as client:
        with pytest.raises(iic.InvalidRequestError) as invalid:
            client.start_session("")
        assert invalid.value.errors[0]["loc"][-1] == "candidate_id"
        with pytest.raises(iic.UnauthorizedError) as proxy:
            client.health()
        assert proxy.value.code == "http_401" and "proxy says no" in proxy.value.detail
        with pytest.raises(iic.TooManySessionsError):
            client.start_session("c")
    assert len(seen) == 3 and seen[0].headers["authorization"] == "Bearer tok"


RECORD = {
    "session_id": "s/1",
    "status": "ended",
    "candidate_id": "c",
    "started_at": 1.0,
    "duration_seconds": 2.0,
    "frames_analyzed": 4,
    "verdict": "INCONCLUSIVE",
    "verdict_reason": "judged only 10% of the session",
    "final_risk_score": 0.0,
    "peak_risk_score": 0.0,
    "rules": {
        "basis": "peak",
        "suspicious_threshold": 30,
        "cheating_threshold": 60,
        "cheating_min_severity": "high",
    },
}


def test_records_evidence_reviews_and_reports_read_json_bytes_and_text() -> None:
    seen: list[httpx.Request] = []
    jpeg = b"\xff\xd8\xff\xe0 not decoded \xff\xd9"
    answers = [
        refusal(503, "session_store_unavailable", "1"),  # retried like every call
        httpx.Response(200, json=RECORD),
        httpx.Response(200, content=jpeg, headers={"content-type": "image/jpeg"}),
        httpx.Response(200, text="<!DOCTYPE html><html>é</html>", headers={"content-type": "text/html"}),
        httpx.Response(
            200,
            json={
                "session_id": "s/1",
                "event_id": "ev0001",
                "review": {"event_id": "ev0001", "decision": "dismissed", "reviewer": "open", "at": 3.0},
                "verdict": "SUSPICIOUS",
                "reviewed_verdict": "CLEAN",
                "reviewed_verdict_reason": "without 1 dismissed event",
            },
        ),
        refusal(404, "evidence_not_found"),
        httpx.Response(404, text="gone"),  # not the service's JSON: by status only
        refusal(404, "event_not_found"),
    ]
    waits: list[float] = []
    transport = scripted(answers, seen)
    with iic.InterviewClient("http://svc", api_key="k", transport=transport, sleep=waits.append) as c:
        record = c.get_record("s/1")
        assert isinstance(record, iic.SessionRecord) and record.verdict == "INCONCLUSIVE"
        assert record.events == [] and record.reviewed_verdict is None and waits == [1.0]
        assert c.get_evidence("s/1", "ev0001") == jpeg
        assert c.get_report("s/1") == "<!DOCTYPE html><html>é</html>"
        reviewed = c.review_event("s/1", "ev0001", "dismissed", note="poster")
        assert reviewed.review.decision == "dismissed" and reviewed.reviewed_verdict == "CLEAN"
        with pytest.raises(iic.EvidenceNotFoundError):
            c.get_evidence("s/1", "ev0002")
        with pytest.raises(iic.InterviewApiError) as gone:
            c.get_report("s/1")
        assert (gone.value.status, gone.value.code, gone.value.detail) == (404, "http_404", "gone")
        with pytest.raises(iic.EventNotFoundError):
            c.review_event("s/1", "ev0009", "confirmed")
    paths = [(r.method, r.url.raw_path.decode()) for r in seen]
    assert paths == [
        ("GET", "/sessions/s%2F1"),
        ("GET", "/sessions/s%2F1"),
        ("GET", "/sessions/s%2F1/events/ev0001/evidence"),
        ("GET", "/sessions/s%2F1/report"),
        ("POST", "/sessions/s%2F1/events/ev0001/review"),
        ("GET", "/sessions/s%2F1/events/ev0002/evidence"),
        ("GET", "/sessions/s%2F1/report"),
        ("POST", "/sessions/s%2F1/events/ev0009/review"),
    ]
    assert json.loads(seen[4].content) == {"decision": "dismissed", "note": "poster"}
    assert json.loads(seen[7].content) == {"decision": "confirmed"}
    assert all(r.headers["x-api-key"] == "k" for r in seen)


async def test_the_async_client_retries_too() -> None:
    seen: list[httpx.Request] = []
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(429, json={"detail": "slow", "code": "rate_limited", "retry_after": 0.25})
        return httpx.Response(200, json={"session_id": "s", "message": "Session started", "timestamp": 1.0})

    async with iic.AsyncInterviewClient(
        "http://svc", transport=httpx.MockTransport(handler), sleep=sleep
    ) as c:
        started = await c.start_session("c", metadata={"a": 1})
    assert started.session_id == "s" and started.session_token is None
    assert waits == [0.25]  # from the body when there is no Retry-After header


def test_every_code_has_its_class() -> None:
    for code, cls in iic.ERROR_CLASSES.items():
        error = api_error(400, code, "x")
        assert type(error) is cls and isinstance(error, iic.InterviewApiError) and error.code == code
    assert isinstance(iic.InterviewTimeoutError("t"), TimeoutError)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:05 GMT", now=1767225600.0) == 5.0
    assert parse_retry_after("later") is None
    refused = handshake_refused(403, b"")
    assert isinstance(refused, iic.UnauthorizedError) and refused.code == "unauthorized"
    with pytest.raises(iic.SessionExpiredError):
        parse_ws_reply(
            '{"type": "error", "status": 410, "code": "session_expired", "detail": "idle"}', "analysis"
        )
    with pytest.raises(iic.BadReplyError):
        parse_ws_reply('{"type": "session_started"}', "analysis")
    assert iic.ws_url("https://h/", "a b") == "wss://h/ws/stream?access_token=a%20b"


def test_video_frames_pace_on_video_time_and_drop_when_late(fixtures_dir: Path) -> None:
    clip = fixtures_dir / "A_video_gaze_center_left_center.mp4"
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    replay = [f.timestamp for f in video_frames(clip, 2.0, realtime=False, max_seconds=3.0)]
    assert replay == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0], abs=0.05)

    paced = []
    for frame in video_frames(clip, 2.0, max_seconds=3.0, clock=lambda: now[0], sleep=sleep):
        paced.append(frame.timestamp)
        if len(paced) == 2:
            now[0] += 1.2  # the consumer took 1.2 s: the frames due meanwhile are dropped
    assert paced[:2] == pytest.approx([0.0, 0.5], abs=0.05)
    assert 1.0 not in [round(t, 1) for t in paced] and len(paced) < len(replay)
    assert sum(slept) == pytest.approx(paced[-1] - 1.2, abs=0.1)


def test_binary_frames_are_the_image_or_ifr1_with_a_json_header() -> None:
    jpeg = b"\xff\xd8\xff\xe0 not a whole JPEG \xff\xd9"
    assert iic.binary_frame(jpeg) is jpeg  # nothing to add: the image as it is
    assert iic.binary_frame(bytearray(jpeg)) == jpeg == iic.binary_frame(memoryview(jpeg))
    message = iic.binary_frame(memoryview(jpeg), 1.5, include_landmarks=True)
    assert message.startswith(iic.FRAME_MAGIC) and iic.FRAME_MAGIC == b"IFR1"
    size = int.from_bytes(message[4:6], "big")
    assert json.loads(message[6 : 6 + size]) == {"timestamp": 1.5, "include_landmarks": True}
    assert message[6 + size :] == jpeg
    assert json.loads(iic.binary_frame(jpeg, 0.0)[6 : -len(jpeg)]) == {"timestamp": 0.0}
    with pytest.raises(TypeError, match="base64"):
        iic.binary_frame("/9j/4AAQ")
    with pytest.raises(ValueError):
        iic.binary_frame(jpeg, float("nan"))  # not JSON; the service would refuse it
