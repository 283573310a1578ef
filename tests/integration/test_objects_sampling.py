"""Objects off the frame's critical path (issue 22), through the real Serve app, live.

A candidate streams at 2 fps in real time (the server's clock, not a replay): 3 s at the camera
(A01), 3 s of two phones in view (A08), 2 s back at the camera. Objects are sampled (about one
analysis a second, more on a trigger) by the ingress and run beside the frames in the objects
deployment (the shared YOLOv8n TFLite, 640 px, 56-90 ms a frame here); their results are booked
at their frames' time. The phone must still raise PHONE_DETECTED, once, inside the phone's
window, with fewer analyses than frames and the session well covered. Skipped, saying so, where
the model file is absent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_objects_tflite import TFLITE
from tests.integration.conftest import analyze, end, running_app, start

pytestmark = pytest.mark.integration

FPS = 2.0
SCRIPT = [
    ("A01_frontal_webcam_man.png", 6),
    ("A08_two_phones_laptop_no_face.jpg", 6),
    ("A01_frontal_webcam_man.png", 4),
]


@pytest.fixture(scope="module")
def client(serve_port: int, fixtures_dir: Path) -> Iterator[httpx.Client]:
    if not TFLITE.is_file():
        pytest.skip(f"real YOLO weights not found at {TFLITE} (expected ../shared/models beside the repo)")
    with running_app(serve_port, yolo_model=str(TFLITE), trust_client_time=False) as http:
        yield http


def paced_stream(client: httpx.Client, session_id: str, frames: list[bytes]) -> list[dict[str, Any]]:
    """Send ``frames`` at ``FPS`` on the wall clock (a live camera), each answered before the next."""
    answers = []
    began = time.monotonic()
    for i, frame in enumerate(frames):
        wait = began + i / FPS - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        answers.append(analyze(client, session_id, frame))
    return answers


def test_a_phone_shown_for_three_seconds_raises_phone_detected_with_sampling_on(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    frames = [fixture_bytes[name] for name, count in SCRIPT for _ in range(count)]
    session_id = start(client, "cand-phone-mid-stream")
    answers = paced_stream(client, session_id, frames)
    summary = end(client, session_id)["summary"]

    assert summary["event_counts"].get("PHONE_DETECTED") == 1, summary["event_counts"]
    phone = next(e for e in summary["timeline"] if e["type"] == "PHONE_DETECTED")
    shown_from, shown_to = answers[6]["session_time"], answers[11]["session_time"]
    assert shown_from <= phone["timestamp"] <= shown_to, (phone["timestamp"], shown_from, shown_to)
    raised = [e for a in answers for e in a["events"]]  # late events reach a later answer
    assert raised.count("PHONE_DETECTED") <= 1

    states = [a["details"]["object_result"]["this_frame"] for a in answers]
    assert states.count("analysing") < len(answers), states  # sampled, not every frame
    assert "not_due" in states
    coverage = summary["objects"]
    print(
        f"\nphone at {phone['timestamp'] - shown_from:+.2f} s of its window; objects {coverage}; "
        f"frames: {states}"
    )
    # How much of the session a fresh result covers depends on how fast this machine runs the model
    # (benchmarks/load.py measures it); what holds anywhere: several results, not one per frame.
    assert 2 <= coverage["analyses"] < len(frames) and 0 < coverage["share"] <= 1, coverage
    assert all(a["details"]["models"]["objects"]["available"] for a in answers)

    watch = client.get("/health").json()["objects"]
    assert watch["analyses_per_s"] > 0 and watch["in_flight"] <= watch["max_inflight"], watch


def test_the_camera_alone_raises_no_object_event(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    session_id = start(client, "cand-honest")
    paced_stream(client, session_id, [fixture_bytes["A01_frontal_webcam_man.png"]] * 6)
    summary = end(client, session_id)["summary"]
    assert not {"PHONE_DETECTED", "PHONE_PARTIAL_DETECTED", "SUSPICIOUS_OBJECT"} & set(
        summary["event_counts"]
    )
    assert summary["objects"]["analyses"] >= 2, summary["objects"]
