"""The objects deployment in the real Serve graph, with a real YOLO11n exported to ONNX.

The model has random weights and a head biased toward "cell phone" and "person" (see
tests/integrity/vision/objects_model.py): the answers are not meaningful detections, but every stage
(cached ONNX load, letterbox, onnxruntime, decoding, NMS, mapping, transport) runs for real.
Without weights (a ``YOLO_MODEL`` path where there is none), tests/integration/test_api.py checks
that /health and the responses say the object model is unavailable; with real weights,
tests/integration/test_objects_tflite_api.py checks the events.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deployments.objects import ObjectDeployment
from integrity.core.enums import EventType
from integrity.core.results import ObjectAnalysis
from integrity.vision.object_mapping import BatchConfig, ObjectsConfig
from tests.integration.conftest import analyze, end, running_app, start
from tests.integrity.vision.objects_model import WEIGHTS, copy_model_dir

pytestmark = pytest.mark.integration

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


def test_batching_in_a_real_replica(
    serve_port: int, model_dir: Path, fixture_bytes: dict[str, bytes]
) -> None:
    """@serve.batch gathers concurrent frames into one forward pass, each answered on its own."""
    from ray import serve

    config = ObjectsConfig(batch=BatchConfig(enabled=True, max_batch_size=4, wait_timeout_s=0.2))
    app = ObjectDeployment.options(  # type: ignore[attr-defined]
        name="objects-batch", ray_actor_options={"num_cpus": 0.1}, max_ongoing_requests=8
    ).bind(model_dir, WEIGHTS, 0.25, config)
    handle = serve.run(app, name="objects-batch-test", route_prefix=None)
    try:
        frame = fixture_bytes[FRAMES[0]]
        handle.analyze.remote(frame).result(timeout_s=60)  # warm
        responses = [handle.analyze.remote(frame) for _ in range(4)]
        results: list[ObjectAnalysis] = [r.result(timeout_s=60) for r in responses]
    finally:
        serve.delete("objects-batch-test")
    assert all(r.status.available for r in results)
    assert max(r.timings_ms["batch_size"] for r in results) > 1
    assert all("queue" in r.timings_ms for r in results)
    assert all(r.objects == results[0].objects and r.objects for r in results)


@pytest.fixture(scope="module")
def client(serve_port: int, model_dir: Path) -> Iterator[httpx.Client]:
    # A path, not MODEL_PATH: that folder also holds the face models.
    with running_app(serve_port, yolo_model=str(model_dir / WEIGHTS)) as http:
        yield http


def test_health_reports_the_object_model(client: httpx.Client) -> None:
    objects = client.get("/health").json()["models"]["objects"]
    assert objects["available"] is True, objects
    assert "onnxruntime on cpu" in objects["detail"] and "cell phone" in objects["detail"]


def test_frames_get_well_formed_objects(client: httpx.Client, fixture_bytes: dict[str, bytes]) -> None:
    for name in FRAMES:
        session_id = start(client, name)
        started = time.perf_counter()
        result = analyze(client, session_id, fixture_bytes[name], ts=0.0)
        assert time.perf_counter() - started < 30
        end(client, session_id)

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
