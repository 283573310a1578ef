"""The real Serve application with real YOLO weights (a TFLite export run by LiteRT): the object
deployment and the face deployment's second look inside person boxes, through the real hops. The
events on each photo, in process: tests/api/test_objects_tflite.py.

``YOLO_MODEL`` is the absolute path of ../shared/models/yolov8n_int8.tflite (Ultralytics YOLOv8n,
COCO). Each photo is sent as a short stream (frames 0.4 s apart, 2 s in all) so the risk engine's
debounce (PHONE_DETECTED 0.5 s, SUSPICIOUS_OBJECT 1.0 s) can raise the events. Skipped, saying
so, where the model file is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.integration.conftest import analyze, end, running_app, start
from tests.integrity.vision.test_person_faces import beside, png

pytestmark = pytest.mark.integration

TFLITE = (REPO.parent / "shared" / "models" / "yolov8n_int8.tflite").resolve()
TIMES = [0.0, 0.4, 0.8, 1.2, 1.6, 2.0]


@pytest.fixture(scope="module")
def client(serve_port: int, fixtures_dir: Path) -> Iterator[httpx.Client]:
    if not TFLITE.is_file():
        pytest.skip(f"real YOLO weights not found at {TFLITE} (expected ../shared/models beside the repo)")
    with running_app(serve_port, yolo_model=str(TFLITE)) as http:
        yield http


def stream(client: httpx.Client, frame: bytes) -> tuple[list[dict[str, Any]], set[str], dict[str, Any]]:
    """One session showing ``frame`` for 2 s: (responses, every event raised, end-session summary)."""
    session_id = start(client, "cand-objects")
    responses = [analyze(client, session_id, frame, ts=t) for t in TIMES]
    summary = end(client, session_id)
    raised = {event for r in responses for event in r["events"]}
    return responses, raised, summary


def labels(responses: list[dict[str, Any]]) -> set[str]:
    return {o["label"] for r in responses for o in r["objects"]}


def test_health_names_the_object_model(client: httpx.Client) -> None:
    objects = client.get("/health").json()["models"]["objects"]
    assert objects["available"] is True, objects
    assert objects["runtime"] == "litert" and objects["file"] == str(TFLITE)
    assert len(objects["sha256"]) == 64
    assert "imgsz 640" in objects["detail"]


def test_second_person_with_a_small_face_is_counted_through_serve(client: httpx.Client) -> None:
    """Issue 20: A11's 3/4 face at ~25 px standing beside the candidate is missed by the whole-frame
    detector; the face deployment's second look inside YOLO's person box finds and verifies it, so
    the frame counts 2 faces and MULTIPLE_FACES is raised."""
    frame = png(beside("A11_face_three_quarter_with_dog.jpg", 0.36))
    responses, raised, summary = stream(client, frame)
    assert all(r["faces"] == 2 for r in responses), [r["faces"] for r in responses]
    assert "MULTIPLE_FACES" in raised, raised
    assert summary["summary"]["event_counts"].get("MULTIPLE_FACES") == 1
