"""Latency of the objects deployment: onnxruntime / LiteRT vs torch, 320 vs 640, @serve.batch on vs off.

    python benchmarks/objects_latency.py                       # everything below
    python benchmarks/objects_latency.py --skip-serve --threads 2
    python benchmarks/objects_latency.py --weights models/yolo11n.pt
    python benchmarks/objects_latency.py --weights ../shared/models/yolov8n_int8.tflite --skip-serve \
        --fixtures A08_two_phones_laptop_no_face.jpg A04_group_meeting_laptop_notebook.jpg

1. In process, per frame (decode + letterbox + inference + decoding/NMS + mapping), for each
   ``--sizes``: the path the service runs (``ObjectAnalyzer``: onnxruntime for ``.pt``/``.onnx``,
   LiteRT for ``.tflite``, whose fixed input size replaces ``--sizes``), and for a ``.pt`` the same
   pipeline with the torch model's forward pass instead (Ultralytics' own ``predict()`` cannot run
   here: it needs torchvision's NMS, which this CPU torch cannot load).
2. Through Ray Serve (``ObjectDeployment`` alone, called by handle): one frame at a time, then
   ``--concurrency`` callers at once with ``@serve.batch`` off and on.

Without ``--weights`` (and no ``YOLO_MODEL`` under ``MODEL_PATH``) a YOLO11n is built offline from
Ultralytics' YAML with random weights: the same network and cost as the official weights, though
its detections mean nothing (and are few, so NMS costs less than with a busy real scene).
Prints p50/p95/p99 in milliseconds and frames/s for each ``--fixtures`` photo (default A01) as is
and scaled to 640x480 (JPEG q90).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures"
sys.path.insert(0, str(REPO))

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("YOLO_VERBOSE", "False")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(tempfile.gettempdir()) / "Ultralytics"))

from benchmarks.latency import frames_to_test, percentile  # noqa: E402
from benchmarks.proxy_model import random_weights  # noqa: E402
from deployments.objects import ObjectDeployment  # noqa: E402
from integrity.vision.object_mapping import BatchConfig, ObjectsConfig  # noqa: E402
from integrity.vision.objects import ObjectAnalyzer  # noqa: E402
from integrity.vision.yolo_onnx import to_batch  # noqa: E402
from integrity.vision.yolo_weights import resolve_weights  # noqa: E402


def line(name: str, latencies_ms: list[float], wall_s: float | None = None) -> str:
    rate = len(latencies_ms) / wall_s if wall_s else 1000 / float(np.mean(latencies_ms))
    return (
        f"  {name:<52} p50 {percentile(latencies_ms, 50):6.1f}  p95 {percentile(latencies_ms, 95):6.1f}"
        f"  p99 {percentile(latencies_ms, 99):6.1f} ms  {rate:6.1f} frames/s"
    )


def weights_dir(weights: Path | None) -> tuple[Path, str]:
    """(MODEL_PATH, YOLO_MODEL) to benchmark: given weights, the configured ones, or a random build."""
    if weights is not None:
        return weights.parent, weights.name
    configured = resolve_weights(
        Path(os.environ.get("MODEL_PATH", REPO / "models")), os.environ.get("YOLO_MODEL", "yolo11n.pt")
    )
    if configured.is_file():
        return configured.parent, configured.name
    # Not named yolo11n.pt: that name is pinned to the official weights' checksum.
    built = random_weights()
    print(f"no weights at {configured}: using YOLO11n built from its YAML (random weights): {built}")
    return built.parent, built.name


def fixture_frames(names: list[str]) -> dict[str, bytes]:
    """Each photo as is and scaled to 640x480 (JPEG q90), labelled by its short name."""
    frames: dict[str, bytes] = {}
    for name in names:
        short = name.split("_", 1)[0]
        (label, raw), (_, scaled) = frames_to_test(FIXTURES / name).items()
        frames[f"{short} {label.rsplit('(', 1)[-1].rstrip(')')}"] = raw
        frames[f"{short} scaled to 640x480 (JPEG q90)"] = scaled
    return frames


def time_calls(call: Callable[[], object], count: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        call()
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


# -- in process -----------------------------------------------------------------------------------------
def config_for(imgsz: int, threads: int, batch: bool = False) -> ObjectsConfig:
    return ObjectsConfig(
        imgsz_cpu=imgsz, imgsz_gpu=imgsz, threads=threads, batch=BatchConfig(enabled=batch, max_batch_size=4)
    )


def in_process(
    model_path: Path,
    name: str,
    sizes: list[int],
    threads: int,
    count: int,
    torch_too: bool,
    fixtures: list[str],
) -> None:
    frames = fixture_frames(fixtures)
    detectors: dict[int, ObjectAnalyzer] = {}
    for imgsz in sizes:
        detector = ObjectAnalyzer(model_path, name, 0.25, config_for(imgsz, threads))
        detector.load()
        if not detector.status.available:
            sys.exit(f"object model unavailable: {detector.status.detail}")
        detectors.setdefault(detector.imgsz, detector)  # a fixed-size model runs at its own size
    print(f"\nin process, {threads} inference thread(s), {count} frames each")
    print(f"  model: {next(iter(detectors.values())).status.detail}")
    for imgsz, detector in detectors.items():
        for label, frame in frames.items():

            def single(d: ObjectAnalyzer = detector, f: bytes = frame) -> object:
                return d.analyze(f)

            runtime = detector.status.runtime or "?"
            print(line(f"{runtime:<11} @{imgsz} {label}", time_calls(single, count)))
    if not torch_too:
        return
    torch_forward = load_torch(model_path / name, threads)
    for imgsz, detector in detectors.items():
        for label, frame in frames.items():

            def run(d: ObjectAnalyzer = detector, f: bytes = frame) -> object:
                prepared = d.preprocess(f)
                assert prepared.image is not None
                output = torch_forward(to_batch([prepared.image]))
                return d.postprocess(prepared, output[0])

            print(line(f"torch       @{imgsz} {label}", time_calls(run, count)))


def load_torch(weights: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    """The same network's forward pass in torch (fused, eval, inference mode)."""
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(max(1, threads))
    model = YOLO(str(weights)).model.fuse().eval()

    def forward(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = model(torch.from_numpy(batch))
        first = out[0] if isinstance(out, (list, tuple)) else out
        result: np.ndarray = first.numpy()
        return result

    return forward


# -- through Serve ----------------------------------------------------------------------------------------
def through_serve(
    model_path: Path, name: str, sizes: list[int], threads: int, count: int, concurrency: int
) -> None:
    import ray
    from ray import serve

    ray.init(address="local", include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    frame = frames_to_test(FIXTURES / "A01_frontal_webcam_man.png")["A01 scaled to 640x480 (JPEG q90)"]
    wrapped: Any = ObjectDeployment
    print(f"\nthrough Ray Serve (handle calls), A01 640x480 JPEG, {threads} inference thread(s) per replica")
    try:
        for imgsz in sizes:
            for batch in (False, True):
                app = wrapped.options(
                    name="objects", ray_actor_options={"num_cpus": 0.5}, max_ongoing_requests=8
                ).bind(model_path, name, 0.25, config_for(imgsz, threads, batch))
                handle: Any = serve.run(app, name="objects-bench", route_prefix=None)

                def call(h: Any = handle) -> object:
                    return h.analyze.remote(frame).result(timeout_s=60)

                mode = "batch on " if batch else "batch off"
                if not batch:
                    print(line(f"@{imgsz} one at a time", time_calls(call, count)))
                for _ in range(5):
                    call()
                latencies: list[float] = []

                def worker(n: int, c: Callable[[], object] = call, out: list[float] = latencies) -> None:
                    for _ in range(n):
                        started = time.perf_counter()
                        c()
                        out.append((time.perf_counter() - started) * 1000)

                started = time.perf_counter()
                with ThreadPoolExecutor(concurrency) as pool:
                    list(pool.map(worker, [count // concurrency] * concurrency))
                wall = time.perf_counter() - started
                print(line(f"@{imgsz} {concurrency} callers, {mode}", latencies, wall))
                serve.delete("objects-bench")
    finally:
        serve.shutdown()
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--weights", type=Path, help="a .pt, .onnx or .tflite (default: MODEL_PATH/YOLO_MODEL)"
    )
    parser.add_argument(
        "--fixtures", nargs="+", default=["A01_frontal_webcam_man.png"], help="photos to time"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[320, 640])
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime/LiteRT/torch threads")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-serve", action="store_true")
    options = parser.parse_args()

    model_path, name = weights_dir(options.weights)
    torch_too = not options.skip_torch and name.endswith(".pt")
    try:
        in_process(
            model_path, name, options.sizes, options.threads, options.frames, torch_too, options.fixtures
        )
        if not options.skip_serve:
            through_serve(
                model_path, name, options.sizes, options.threads, options.frames, options.concurrency
            )
    finally:
        if model_path.name.startswith("yolo-bench-"):
            shutil.rmtree(model_path, ignore_errors=True)


if __name__ == "__main__":
    main()
