"""The object model in the service in process (its real app, pipeline and sessions, without Ray),
with a real YOLO11n exported to ONNX.

The model has random weights and a head biased toward "cell phone" and "person" (see
tests/integrity/vision/objects_model.py): the answers are not meaningful detections, but every stage
(cached ONNX load, letterbox, onnxruntime, decoding, NMS, mapping, the API's objects) runs for real.
The deployment's batching in a real replica: tests/integration/test_objects_api.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from integrity.core.enums import EventType
from tests.api.conftest import local_client
from tests.integration.conftest import analyze, end, start
from tests.integrity.vision.objects_model import WEIGHTS, copy_model_dir

FRAMES = [
    "A01_frontal_webcam_man.png",
    "A04_group_meeting_laptop_notebook.jpg",
    "A08_two_phones_laptop_no_face.jpg",
    "A10_book_page_closeup_no_face.jpg",
]
OBJECT_FIELDS = {"label", "confidence", "box", "partial", "event"}
PHONE_EVENTS = {str(EventType.PHONE_DETECTED), str(EventType.PHONE_PARTIAL_DETECTED)}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_model_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def client(model_dir: Path) -> Iterator[httpx.Client]:
    # A path, not MODEL_PATH: that folder also holds the face models. The models load for this app.
    with local_client(None, yolo_model=str(model_dir / WEIGHTS)) as http:
        yield http


def test_health_reports_the_object_model(client: httpx.Client) -> None:
    objects = client.get("/health").json()["models"]["objects"]
    assert objects["available"] is True, objects
    assert "onnxruntime on cpu" in objects["detail"] and "cell phone" in objects["detail"]


def test_frames_get_well_formed_objects(client: httpx.Client, fixture_bytes: dict[str, bytes]) -> None:
    """Objects are analysed apart from the frames: the first frame's analysis runs beside it and is
    shown, with the frame it belongs to, in the session's next answer."""
    for name in FRAMES:
        session_id = start(client, name)
        started = time.perf_counter()
        first = analyze(client, session_id, fixture_bytes[name], ts=0.0)
        result = analyze(client, session_id, fixture_bytes[name], ts=0.5)
        assert time.perf_counter() - started < 30
        end(client, session_id)

        assert first["details"]["object_result"]["this_frame"] == "analysing", first["details"]
        shown = result["details"]["object_result"]
        assert shown["frame_time"] == 0.0, shown  # not due again (or analysed apart on a trigger)
        assert 0 <= shown["age_s"] < 30
        assert result["details"]["models"]["objects"]["available"] is True
        width, height = result["details"]["image_width"], result["details"]["image_height"]
        objects = result["objects"]
        assert objects, f"{name}: no objects from the phone-biased model"
        for obj in objects:
            assert obj.keys() >= OBJECT_FIELDS
            box = obj["box"]
            assert box["x"] >= 0 and box["y"] >= 0 and box["width"] > 0 and box["height"] > 0
            assert box["x"] + box["width"] <= width + 1 and box["y"] + box["height"] <= height + 1
            assert 0 < obj["confidence"] <= 1 and isinstance(obj["partial"], bool)
            if obj["label"] == "cell phone":
                assert obj["event"] in PHONE_EVENTS
                assert obj["partial"] is (obj["event"] == EventType.PHONE_PARTIAL_DETECTED)
            else:
                assert obj["label"] == "person" and obj["event"] is None
        assert any(o["label"] == "cell phone" for o in objects)
