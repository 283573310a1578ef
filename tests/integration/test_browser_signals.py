"""What the candidate's browser knows (issue 25), through the real Serve app, replayed on the frames'
timestamps: audio features beside the frames (never audio), the page's focus and screens.

A01 is a still photo: the mouth does not move. The GRID clip is a man speaking aloud (MANIFEST),
3 s at 25 fps; played forward and back four times it is 12 s of a moving mouth.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest

from integrity.vision.video import frames as video_frames
from tests.integration.conftest import b64, end, running_app

pytestmark = pytest.mark.integration

FPS = 25.0
LOUD = {"rms_dbfs": -25, "speech_prob": 0.9}
QUIET = {"rms_dbfs": -55, "speech_prob": 0.6}
BROWSER_EVENTS = {"SECOND_VOICE", "TAB_SWITCH", "SECOND_SCREEN", "PASTE"}


@pytest.fixture(scope="module")
def client(serve_port: int) -> Iterator[httpx.Client]:
    with running_app(serve_port) as http:
        yield http


@pytest.fixture(scope="module")
def speaking(fixtures_dir: Path) -> list[bytes]:
    clip = [_jpeg(f) for _, f in video_frames(fixtures_dir / "A_video_speaking_grid_man.mpg")]
    return (clip + clip[::-1]) * 2


def stream(
    client: httpx.Client, frames: list[bytes], per_frame: Any = None, policy: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One session: each frame with ``per_frame(i)``'s extra fields (audio, client); the end summary."""
    body: dict[str, Any] = {"candidate_id": "browser", "timestamp": 0.0}
    if policy is not None:
        body["policy"] = policy
    session_id = client.post("/start-session", json=body).json()["session_id"]
    answers = []
    for i, data in enumerate(frames):
        frame = {"session_id": session_id, "frame": b64(data), "timestamp": i / FPS}
        frame |= per_frame(i) if per_frame is not None else {}
        response = client.post("/analyze-frame", json=frame)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    summary: dict[str, Any] = end(client, session_id)["summary"]
    summary["answers"] = answers
    return summary


def of(summary: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in summary["timeline"] if e["type"] == kind]


def test_a_voice_while_the_mouth_is_still_is_a_second_voice(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    summary = stream(client, [fixture_bytes["A01_frontal_webcam_man.png"]] * 125, lambda i: {"audio": LOUD})
    voices = of(summary, "SECOND_VOICE")
    assert len(voices) == 1 and voices[0]["severity"] == "high", summary["event_counts"]
    evidence = voices[0]["evidence"]
    assert evidence["rms_dbfs"] == -25 and evidence["mar_std"] < evidence["threshold_still_mar_std"]
    assert not of(summary, "WHISPERING")


def test_speaking_aloud_is_neither_a_second_voice_nor_whispering(
    client: httpx.Client, speaking: list[bytes]
) -> None:
    summary = stream(client, speaking, lambda i: {"audio": LOUD})
    assert not of(summary, "SECOND_VOICE") and not of(summary, "WHISPERING"), summary["event_counts"]


def test_the_same_mouth_with_quiet_speech_is_whispering_with_risk(
    client: httpx.Client, speaking: list[bytes]
) -> None:
    summary = stream(client, speaking, lambda i: {"audio": QUIET})
    whispers = of(summary, "WHISPERING")
    assert len(whispers) >= 1 and all(w["risk_increase"] > 0 for w in whispers), summary["timeline"]
    assert whispers[0]["evidence"]["heard"] == "quiet speech" and not of(summary, "SECOND_VOICE")


def test_without_the_new_fields_answers_and_verdicts_are_as_before(
    client: httpx.Client, speaking: list[bytes]
) -> None:
    """No audio: the lips alone stay reported without risk, as before issue 25; no browser condition
    is watched or raised."""
    summary = stream(client, speaking)
    assert not BROWSER_EVENTS & set(summary["event_counts"])
    assert not BROWSER_EVENTS & set(summary["coverage"])
    assert not BROWSER_EVENTS & {k for a in summary["answers"] for k in a["details"]["coverage"]}
    for whisper in of(summary, "WHISPERING"):
        assert whisper["risk_increase"] == 0 and whisper["severity"] == "low"
        assert "policy" not in whisper["evidence"] and "rms_dbfs" not in whisper["evidence"]
    assert summary["peak_risk_score"] == 0
    assert summary["browser"] == {"frames": len(speaking), "audio": 0, "client": 0, "measured": {}}


def test_a_tab_hidden_for_3_s_is_one_tab_switch_with_the_time_away(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    a01 = fixture_bytes["A01_frontal_webcam_man.png"]

    def page(i: int) -> dict[str, Any]:
        hidden = 50 <= i < 125  # 2.0-5.0 s: another tab in front (the camera still streams)
        signals = {"visible": not hidden, "focused": not hidden, "screens": 1, "paste_count": 0}
        return {"client": signals | {"hidden_ms": 40 if hidden else 0, "blur_count": int(i == 50)}}

    summary = stream(client, [a01] * 175, page)
    switches = of(summary, "TAB_SWITCH")
    assert len(switches) == 1, summary["event_counts"]
    assert 2.0 <= switches[0]["timestamp"] <= 4.5 and switches[0]["duration_s"] >= 2.9
    assert switches[0]["evidence"]["visible"] is False
    assert not of(summary, "SECOND_SCREEN") and not of(summary, "PASTE")
    seen = summary["browser"]
    assert seen["client"] == 175 and seen["audio"] == 0 and seen["measured"]["screens"] == 175
    assert "fullscreen" not in seen["measured"]  # never sent: not measured, not "fine"


def test_a_hidden_page_that_sent_nothing_says_how_long_it_was_away(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    """Browsers throttle hidden pages: the frame after the spell reports it (hidden_ms)."""
    a01 = fixture_bytes["A01_frontal_webcam_man.png"]
    frames = [a01] * 100
    times = [i / FPS for i in range(50)] + [5.2 + i / FPS for i in range(50)]  # nothing from 2 s to 5.2 s

    def page(i: int) -> dict[str, Any]:
        back = i == 50
        return {
            "timestamp": times[i],
            "client": {"visible": not back, "focused": not back, "hidden_ms": 3200 if back else 0},
        }

    summary = stream(client, frames, page)
    switches = of(summary, "TAB_SWITCH")
    assert len(switches) == 1 and switches[0]["evidence"]["held_s"] >= 3.0, summary["timeline"]


def test_two_screens_are_a_second_screen_unless_the_policy_allows_it(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    a01 = [fixture_bytes["A01_frontal_webcam_man.png"]] * 50
    two = {"client": {"visible": True, "focused": True, "screens": 2}}
    counted = stream(client, a01, lambda i: two)
    assert len(of(counted, "SECOND_SCREEN")) == 1 and of(counted, "SECOND_SCREEN")[0]["risk_increase"] > 0
    allowed = stream(client, a01, lambda i: two, policy={"second_screen_allowed": True})
    assert not of(allowed, "SECOND_SCREEN"), allowed["event_counts"]


def test_a_paste_is_reported_without_risk_and_bad_signals_get_422(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    a01 = [fixture_bytes["A01_frontal_webcam_man.png"]] * 20
    summary = stream(client, a01, lambda i: {"client": {"paste_count": int(i == 5)}})
    pastes = of(summary, "PASTE")
    assert len(pastes) == 1 and pastes[0]["risk_increase"] == 0 and summary["peak_risk_score"] == 0
    assert summary["browser"]["measured"] == {"paste_count": 20}
    session_id = client.post("/start-session", json={"candidate_id": "bad"}).json()["session_id"]
    for bad in (
        {"audio": {"rms_dbfs": 3, "speech_prob": 0.5}},
        {"audio": {"speech_prob": 2}},
        {"client": {"screens": -1}},
        {"client": {"typo": True}},
    ):
        body = {"session_id": session_id, "frame": b64(a01[0]), **bad}
        response = client.post("/analyze-frame", json=body)
        assert response.status_code == 422, (bad, response.text)
    end(client, session_id)


def _jpeg(image: Any) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()
