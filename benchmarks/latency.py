"""Single-stream latency and throughput of the running service, and its cold start.

    python benchmarks/latency.py                    # start a local Ray + the app, measure, stop
    python benchmarks/latency.py --url http://host:8000 --transport ws
    python benchmarks/latency.py --streams 4        # concurrent sessions: frames/s under load
    python benchmarks/latency.py --frames 60 --fps 1 --pace   # a real 1 fps camera, one minute

Frames are sent one after another per stream (each waits for its answer), timestamped as a
``--fps`` camera would; with ``--pace`` they also leave at that rate in wall-clock time (idle gaps
included, as a real camera's). Every frame gets the same analysis (no periodic heavy frame), so the
tail should stay close to the median. Prints p50/p95/p99 of the client-side latency and frames/s
for A01 as is (480x270 PNG) and scaled to 640x480 (JPEG q90).
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures"
sys.path.insert(0, str(REPO))  # run as a script: the repository's packages

from benchmarks.local_service import start_local  # noqa: E402


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def frames_to_test(source: Path) -> dict[str, bytes]:
    raw = source.read_bytes()
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        sys.exit(f"cannot read {source}")
    scaled = cv2.resize(image, (640, 480), interpolation=cv2.INTER_CUBIC)
    ok, jpeg = cv2.imencode(".jpg", scaled, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return {
        f"{source.name} ({image.shape[1]}x{image.shape[0]})": raw,
        "A01 scaled to 640x480 (JPEG q90)": jpeg.tobytes(),
    }


def pace_to(origin: float, index: int, fps: float) -> None:
    """Wait until frame ``index`` of a ``fps`` camera started at ``origin`` is due."""
    delay = origin + index / fps - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def stream_rest(url: str, frame: bytes, count: int, fps: float, run: Run, pace: bool = False) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        session = client.post("/start-session", json={"candidate_id": "bench"}).json()["session_id"]
        body = {"session_id": session, "frame": base64.b64encode(frame).decode()}
        origin = time.perf_counter()
        for i in range(count):
            if pace:
                pace_to(origin, i, fps)
            started = time.perf_counter()
            response = client.post("/analyze-frame", json={**body, "timestamp": i / fps})
            elapsed = (time.perf_counter() - started) * 1000
            result = response.json()
            if response.status_code != 200:
                raise RuntimeError(f"analyze-frame failed: {result}")
            record(run, elapsed, result)
        client.post("/end-session", json={"session_id": session})


def stream_ws(url: str, frame: bytes, count: int, fps: float, run: Run, pace: bool = False) -> None:
    ws_url = url.replace("http://", "ws://").replace("https://", "wss://") + "/ws/stream"
    encoded = base64.b64encode(frame).decode()
    with connect(ws_url, max_size=None) as ws:
        ws.send(json.dumps({"action": "start", "candidate_id": "bench"}))
        json.loads(ws.recv())
        origin = time.perf_counter()
        for i in range(count):
            if pace:
                pace_to(origin, i, fps)
            started = time.perf_counter()
            ws.send(json.dumps({"action": "frame", "frame": encoded, "timestamp": i / fps}))
            result = json.loads(ws.recv())
            elapsed = (time.perf_counter() - started) * 1000
            if result.get("type") != "analysis":
                raise RuntimeError(f"frame failed: {result}")
            record(run, elapsed, result)
        ws.send(json.dumps({"action": "end"}))
        ws.recv()


def record(run: Run, elapsed_ms: float, result: dict[str, Any]) -> None:
    run.latencies_ms.append(elapsed_ms)
    run.server_ms.append(result["processing_time_ms"])


def measure(
    url: str, frame: bytes, count: int, fps: float, streams: int, transport: str, pace: bool = False
) -> Run:
    run = Run()
    target = stream_ws if transport == "ws" else stream_rest
    # One warm-up stream so replicas, handles and the model are hot.
    target(url, frame, 3, fps, Run())
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=streams) as pool:
        for future in [pool.submit(target, url, frame, count, fps, run, pace) for _ in range(streams)]:
            future.result()  # re-raise a stream's failure here
    run.wall_s = time.perf_counter() - started
    return run


def report(name: str, run: Run, streams: int) -> None:
    lat, srv = run.latencies_ms, run.server_ms
    print(
        f"{name}: {len(lat)} frames, {streams} stream(s)\n"
        f"  client latency ms  p50 {percentile(lat, 50):7.1f}  p95 {percentile(lat, 95):7.1f}"
        f"  p99 {percentile(lat, 99):7.1f}  mean {statistics.fmean(lat):7.1f}\n"
        f"  server time ms     p50 {percentile(srv, 50):7.1f}  p95 {percentile(srv, 95):7.1f}"
        f"  p99 {percentile(srv, 99):7.1f}  max {max(srv):7.1f}\n"
        f"  p99 / p50 (client) {percentile(lat, 99) / percentile(lat, 50):7.2f}   max {max(lat):7.1f}\n"
        f"  throughput         {len(lat) / run.wall_s:7.1f} frames/s"
    )


def start_local_timed(port: int) -> tuple[float, float]:
    """Start Ray and the app in this process; return (seconds to /health 200, to first frame)."""
    started = time.perf_counter()
    # Frames go back to back here, far above a camera's rate: the per-session limit would refuse them.
    url = start_local(port, {"rate_limit_fps": 0})
    to_health = time.perf_counter() - started
    a01 = (FIXTURES / "A01_frontal_webcam_man.png").read_bytes()
    stream_rest(url, a01, 1, 10.0, Run())
    return to_health, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", help="a running service; default: start one locally and measure its cold start"
    )
    parser.add_argument("--port", type=int, default=8765, help="port for the locally started service")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--fps", type=float, default=10.0, help="camera rate the timestamps simulate")
    parser.add_argument(
        "--pace", action="store_true", help="send frames at --fps in wall-clock time, as a camera does"
    )
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--transport", choices=["rest", "ws"], default="rest")
    parser.add_argument("--image", type=Path, default=FIXTURES / "A01_frontal_webcam_man.png")
    options = parser.parse_args()

    url = options.url
    if url is None:
        to_health, to_first = start_local_timed(options.port)
        url = f"http://127.0.0.1:{options.port}"
        print(f"cold start: /health 200 after {to_health:.1f} s, first analysed frame after {to_first:.1f} s")
    for name, frame in frames_to_test(options.image).items():
        run = measure(
            url.rstrip("/"),
            frame,
            options.frames,
            options.fps,
            options.streams,
            options.transport,
            options.pace,
        )
        report(f"{name} over {options.transport}", run, options.streams)


if __name__ == "__main__":
    main()
