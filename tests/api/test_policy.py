"""Rules per interview through the service in process (its real app, pipeline, models and sessions),
on real frames: a 10 s look down, under the default rules and with notes allowed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest
from fastapi.testclient import TestClient

from integrity.vision.video import frames as video_frames
from serve_app.pipeline import Analyzers
from tests.api.conftest import local_client
from tests.integration.conftest import analyze, end

DOWN_CLIP = "A_video_gaze_down_segments.mp4"


@pytest.fixture(scope="module")
def client(analyzers: Analyzers, no_object_models: dict[str, Any]) -> Iterator[TestClient]:
    with local_client(analyzers, **no_object_models) as http:
        yield http


def _jpeg(image: Any) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def look_down_10_s(fixtures_dir: Path) -> list[tuple[float, bytes]]:
    """MANIFEST: the clip looks down 1.9-5.5 s (lids lowered). Played to 5.2 s, then its 2.5-5.2 s
    frames back and forth hold the look to 12 s: one look down of about 10 s, the session ending
    on it."""
    clip = [(t, _jpeg(f)) for t, f in video_frames(fixtures_dir / DOWN_CLIP, stride=2)]
    held = [data for t, data in clip if 2.5 <= t <= 5.2]
    step = clip[1][0] - clip[0][0]
    frames = [data for t, data in clip if t <= 5.2]
    while len(frames) * step < 12.0:
        frames += held[::-1] + held
    return [(i * step, data) for i, data in enumerate(frames[: int(12.0 / step)])]


def play(client: httpx.Client, frames: list[tuple[float, bytes]], **body: Any) -> dict[str, Any]:
    response = client.post("/start-session", json={"candidate_id": "policy", "timestamp": 0.0, **body})
    assert response.status_code == 200, response.text
    started = response.json()
    for t, data in frames:
        analyze(client, started["session_id"], data, ts=t)
    return {"started": started, "ended": end(client, started["session_id"])}


@pytest.mark.slow
def test_notes_allowed_reports_a_10_s_look_down_without_risk(
    client: httpx.Client, look_down_10_s: list[tuple[float, bytes]]
) -> None:
    strict = play(client, look_down_10_s)
    looks = [e for e in strict["ended"]["summary"]["timeline"] if e["type"] == "EYES_OFF_SCREEN"]
    assert len(looks) == 1 and looks[0]["evidence"]["direction"] == "down", looks
    assert looks[0]["risk_increase"] == 15 and looks[0]["duration_s"] >= 8.0, looks
    assert strict["started"]["policy"]["profile"] == "standard"

    notes = play(client, look_down_10_s, policy={"notes_allowed": True})
    summary = notes["ended"]["summary"]
    looks = [e for e in summary["timeline"] if e["type"] == "EYES_OFF_SCREEN"]
    assert len(looks) == 1 and looks[0]["duration_s"] >= 8.0, looks  # reported...
    assert looks[0]["risk_increase"] == 0 and looks[0]["ongoing_risk"] == 0  # ...without risk
    assert looks[0]["evidence"]["policy"] == "notes_allowed: reported without risk"
    assert summary["peak_risk_score"] == 0 and notes["ended"]["verdict"] == "CLEAN"
    assert summary["policy"]["allowances"]["notes_allowed"] is True
    assert summary["policy"] == notes["started"]["policy"]
    assert summary["policy"]["set_by"] == ["service default (profile standard)", "request"]


def test_unknown_policy_keys_and_profiles_get_422(client: httpx.Client) -> None:
    typo = client.post("/start-session", json={"candidate_id": "c", "policy": {"typo": 1}})
    assert typo.status_code == 422, typo.text
    assert any(err["loc"][-1] == "typo" for err in typo.json()["errors"]), typo.json()
    wrong = client.post("/start-session", json={"candidate_id": "c", "policy": {"notes_allowed": "yes"}})
    assert wrong.status_code == 422
    profile = client.post("/start-session", json={"candidate_id": "c", "policy": {"profile": "nope"}})
    assert profile.status_code == 422 and profile.json()["code"] == "invalid_policy", profile.text
    assert "nope" in profile.json()["detail"]
    assert profile.json()["errors"][0]["loc"] == ["body", "policy", "profile"]  # as a validation error
    assert client.get("/health").status_code == 200  # and the service keeps serving


def test_the_policy_is_in_the_start_answer_record_report_and_websocket(
    client: TestClient, fixture_bytes: dict[str, bytes]
) -> None:
    started = client.post(
        "/start-session",
        json={"candidate_id": "c", "policy": {"profile": "final_round", "phone_allowed": True}},
    ).json()
    policy = started["policy"]
    assert policy["profile"] == "final_round" and policy["stakes"] == "high"
    assert policy["allowances"]["phone_allowed"] and policy["cheating_threshold"] < 60
    session_id = started["session_id"]
    analyze(client, session_id, fixture_bytes["A01_frontal_webcam_man.png"], ts=0.0)
    record = client.get(f"/sessions/{session_id}").json()
    assert record["policy"] == policy
    assert record["rules"]["cheating_threshold"] == policy["cheating_threshold"]
    report = client.get(f"/sessions/{session_id}/report").text
    assert "Judged under:" in report and "profile final_round, high stakes" in report
    assert "phone_allowed" in report
    end(client, session_id)

    with client.websocket_connect("/ws/stream") as ws:
        ws.send_json({"action": "start", "candidate_id": "c", "policy": {"open_book": True}})
        opened = ws.receive_json()
        assert opened["type"] == "session_started" and opened["policy"]["allowed_labels"] == ["book"]
        ws.send_json({"action": "start", "candidate_id": "c", "policy": {"typo": True}})
        refused = ws.receive_json()
        assert refused["type"] == "error" and "typo" in refused["detail"], refused
