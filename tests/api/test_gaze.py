"""Gaze and behaviour through the service in process (its real app, pipeline, models and sessions), on
the fixture clips."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest

from integrity.vision.video import frames as video_frames
from serve_app.pipeline import Analyzers
from tests.api.conftest import local_client
from tests.integration.conftest import analyze, end, start
from tests.integrity.vision.test_gaze import gif_frames

SEVERE = {"high", "critical"}


@pytest.fixture(scope="module")
def client(analyzers: Analyzers, no_object_models: dict[str, Any]) -> Iterator[httpx.Client]:
    with local_client(analyzers, **no_object_models) as http:
        yield http


def _jpeg(image: Any, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


@pytest.mark.slow
def test_gaze_clip_raises_eyes_off_screen_in_the_left_segment_only(
    client: httpx.Client, fixtures_dir: Path
) -> None:
    session_id = start(client, "gaze-clip", timestamp=0.0)
    answers = [
        analyze(client, session_id, _jpeg(frame), ts=t)
        for t, frame in video_frames(fixtures_dir / "A_video_gaze_center_left_center.mp4", stride=2)
    ]
    assert len(answers) == 184
    events = [e for a in answers for e in a["event_details"]]
    off = [e for e in events if e["type"] == "EYES_OFF_SCREEN"]
    assert len(off) == 1
    assert 5.8 <= off[0]["timestamp"] <= 10.3  # MANIFEST: eyes toward image-left 5.8-10.3 s
    assert off[0]["evidence"]["gaze_yaw_deg"] < 0 and off[0]["severity"] == "high"
    assert [e for e in events if e["severity"] in SEVERE and e["type"] != "EYES_OFF_SCREEN"] == []
    left = [a["gaze"] for a in answers if 6.2 <= a["timestamp"] <= 10.0]
    assert left.count("left") / len(left) >= 0.95
    details = answers[-1]["details"]
    assert details["behaviour"]["calibration"] == "calibrated"
    assert details["gaze"]["iris"]["confidence"] > 0.3 and details["gaze"]["angles"] is not None
    ended = end(client, session_id)
    assert ended["summary"]["event_counts"] == {"EYES_OFF_SCREEN": 1}
    assert ended["summary"]["behaviour"]["neutral"]["source"] == "calibrated"
    assert ended["verdict"] == "CLEAN"  # one high event (+15) stays under the suspicious threshold


def test_head_turned_photo_raises_looking_away(client: httpx.Client, fixture_bytes: dict[str, bytes]) -> None:
    """A head turned beyond any camera placement from the first frame never gives a neutral: the
    directions are reported at once, nothing is raised while the calibration waits
    (``max_pending_s``, 10 s), then the frontal default stands in and the look away is raised after
    its debounce (2 s)."""
    session_id = start(client, "turned", timestamp=0.0)
    answers = [
        analyze(client, session_id, fixture_bytes["A05_head_turned_away_webcam.png"], ts=i * 0.1)
        for i in range(150)
    ]
    assert all(a["gaze"] == "left" and a["attention"] < 50 for a in answers)
    assert all(a["details"]["gaze"]["calibration"] == "pending" for a in answers[:100])
    # Head ~40 degrees aside and the eyes further that way: with the Face Landmarker the eyes are
    # read too (dlib's 12 px iris search could not), so it is raised as eyes off the screen, left.
    fired = [
        e for a in answers for e in a["event_details"] if e["type"] in ("LOOKING_AWAY", "EYES_OFF_SCREEN")
    ]
    assert len(fired) == 1 and 12.0 <= fired[0]["timestamp"] <= 12.2, fired
    evidence = fired[0]["evidence"]
    assert evidence["direction"] == "left" and evidence["gaze_yaw_deg"] <= -evidence["threshold_yaw_deg"]
    assert all(a["details"]["gaze"]["head_turned"] for a in answers)
    end(client, session_id)


def test_head_turn_clip_looking_away_while_turned_not_once_frontal(
    client: httpx.Client, fixtures_dir: Path
) -> None:
    """The GIF at 12.5 fps with its turned frames (0-5) held 2.4 s, then turning back, then frontal
    frames (9 and 19, squarely at the camera) for 3 s. The turn comes before the candidate's neutral
    exists: reported (left, head turned), never raised; the frontal frames calibrate and read centre."""
    frames = gif_frames(fixtures_dir)
    order = [i for i in range(6) for _ in range(5)] + list(range(6, 23)) + [9, 19] * 19
    session_id = start(client, "head-turn", timestamp=0.0)
    answers = [analyze(client, session_id, frames[i], ts=n * 0.08) for n, i in enumerate(order)]
    turned = answers[:30]
    assert all(a["gaze"] == "left" and a["details"]["gaze"]["calibration"] == "pending" for a in turned)
    assert [e for a in answers for e in a["event_details"]] == []
    frontal = answers[-38:]
    assert all(a["details"]["gaze"]["head_turned"] is False for a in frontal)
    assert all(a["gaze"] == "center" for a in frontal)
    end(client, session_id)


def test_frontal_webcam_clip_raises_nothing_severe(client: httpx.Client, fixtures_dir: Path) -> None:
    session_id = start(client, "webcam", timestamp=0.0)
    answers = [
        analyze(client, session_id, _jpeg(frame), ts=t)
        for t, frame in video_frames(fixtures_dir / "A_video_webcam_person_standing.mkv")
    ]
    assert len(answers) >= 100
    assert sum(a["faces"] == 1 for a in answers) / len(answers) >= 0.95
    severe = [e for a in answers for e in a["event_details"] if e["severity"] in SEVERE]
    assert severe == []
    ended = end(client, session_id)
    assert ended["verdict"] == "CLEAN"


@pytest.mark.slow
def test_looks_down_raise_eyes_off_screen_down_and_blinks_nothing(
    client: httpx.Client, fixtures_dir: Path
) -> None:
    """MANIFEST: gaze down 1.9-5.5 s and 7.1-8.8 s (lids lowered, head barely moving), a wink and a
    blink before, at the camera between. The first look starts before the candidate's neutral
    exists: it is raised once the neutral does (from when the lids went down). The second holds the
    lids lowered 7.13-8.57 s with the Face Landmarker (its head turns aside at 8.6 s): 1.44 s, read
    down per frame but under the 1.5 s rule."""
    session_id = start(client, "down-clip", timestamp=0.0)
    answers = [
        analyze(client, session_id, _jpeg(frame), ts=t)
        for t, frame in video_frames(fixtures_dir / "A_video_gaze_down_segments.mp4")
    ]
    assert len(answers) == 354
    events = [e for a in answers for e in a["event_details"]]
    assert [e["type"] for e in events] == ["EYES_OFF_SCREEN"]
    first = events[0]
    assert 1.9 <= first["timestamp"] <= 5.5
    pending = [
        a for a in answers if a["details"]["gaze"] and a["details"]["gaze"]["calibration"] == "pending"
    ]
    assert pending and first["timestamp"] >= pending[-1]["timestamp"]  # not before the neutral
    second = [a for a in answers if 7.65 <= a["timestamp"] <= 8.5]
    assert sum(a["gaze"] == "down" for a in second) / len(second) >= 0.9
    for event in events:
        evidence = event["evidence"]
        assert evidence["direction"] == "down" and evidence["min_duration_s"] == 1.5
        assert evidence["lid_pitch_deg"] <= -evidence["threshold_lid_deg"]
    down = [a for a in answers if 2.5 <= a["timestamp"] <= 5.2]
    assert sum(a["gaze"] == "down" for a in down) / len(down) >= 0.9
    gaze = down[-1]["details"]["gaze"]
    assert gaze["lids"]["state"] == "lowered" and gaze["lowered_s"] >= gaze["limits"]["min_down_s"]
    # The blink (1.57-1.70 s) and the wink (0.2-0.67 s) are never a look down.
    assert all(a["gaze"] != "down" for a in answers if a["timestamp"] <= 1.8)
    ended = end(client, session_id)
    assert ended["summary"]["event_counts"] == {"EYES_OFF_SCREEN": 1}
