"""The objects deployment in a real Serve replica, with a real YOLO11n exported to ONNX.

The model has random weights and a head biased toward "cell phone" and "person" (see
tests/integrity/vision/objects_model.py): the answers are not meaningful detections, but every stage
(cached ONNX load, letterbox, onnxruntime, decoding, NMS, mapping, transport) runs for real.
Here: the deployment's @serve.batch in a real replica. The API's objects with this model, in process:
tests/api/test_objects.py; with the real YOLOv8n weights: tests/api/test_objects_tflite.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deployments.objects import ObjectDeployment
from integrity.core.results import ObjectAnalysis
from integrity.vision.object_mapping import BatchConfig, ObjectsConfig
from tests.api.test_objects import FRAMES, model_dir
from tests.integrity.vision.objects_model import WEIGHTS

pytestmark = pytest.mark.integration

__all__ = ["model_dir"]  # the fixture


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
