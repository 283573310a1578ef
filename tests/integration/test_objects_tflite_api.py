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

import httpx
import pytest

from tests.api.test_objects_tflite import (  # the same tests as in process, collected here on Serve
    TFLITE,
    test_health_names_the_object_model,
    test_second_person_with_a_small_face_is_counted,
)
from tests.integration.conftest import running_app

pytestmark = pytest.mark.integration

__all__ = ["test_health_names_the_object_model", "test_second_person_with_a_small_face_is_counted"]


@pytest.fixture(scope="module")
def client(serve_port: int, fixtures_dir: Path) -> Iterator[httpx.Client]:
    if not TFLITE.is_file():
        pytest.skip(f"real YOLO weights not found at {TFLITE} (expected ../shared/models beside the repo)")
    with running_app(serve_port, yolo_model=str(TFLITE)) as http:
        yield http
