"""Open-loop load: N sessions x F fps for D seconds, against the floor of the same work in-process.

    python benchmarks/load.py --sessions 20 --fps 1 --duration 60            # REST, local service
    python benchmarks/load.py --sessions 60 --fps 1 --duration 30 --transport ws
    python benchmarks/load.py --sessions 1 --fps 10 --duration 30             # one stream's latency
    python benchmarks/load.py --url http://host:8000 --api-key KEY ...        # a running service
    python benchmarks/load.py --weights ../shared/models/yolov8n_int8.tflite  # any object model
    python benchmarks/load.py --no-objects                                    # no object model
    python benchmarks/load.py --sessions 1 --fps 10 --no-identity             # no identity watch

Sessions start staggered over the first second of their period and then send frames on schedule
whether or not the previous answer came (open loop: a slow service does not slow the offered load).
Frames come from the shared fixture clips, decoded, scaled to 640x480 and re-encoded as JPEG, so
consecutive frames differ as a camera's do. Printed: p50/p95/p99 of admitted frames, frames/s
achieved, refusals by status with their latency, the service's CPU seconds per admitted frame and
its memory (PSS of all its processes), then the floor: the same analyzers and session engine called
in this process on the same frames (CPU per frame), and the ratio of the two.

With no --url the benchmark starts Ray and the application itself (serve_config.yaml's args), so it
can account for every process of the service; with --url only latency and refusals are measured.

The object model is on: the official weights where present (the service's YOLO_MODEL under
MODEL_PATH, what `make models` fetches); where they are absent, a proxy of the same network and cost
(benchmarks/proxy_model.py: YOLO11n from Ultralytics' YAML, random weights, ONNX at 320, cached under
.venv/.cache/bench-models/), and every result line says so. --weights runs any file instead,
--no-objects none. The floor runs the same object model at the rate the service runs it (sampled
per session, configs/objects.yaml). The identity watch is on unless --no-identity; the floor adds
its checks at the rate the service made them (it sheds checks under load, the floor's replay never
does): the floor's CPU per described check (each timed on the thread that ran it), times the
service's described checks per frame. Also
printed: the sessions' object coverage (share of session time with a fresh object result) and
identity checks (both from their end summaries), and how soon after the load a new session's
first frame is answered (full service again).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import json
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import psutil
import websockets

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures"
sys.path.insert(0, str(REPO))  # run as a script: the repository's packages

from benchmarks.local_service import identity_off, start_local  # noqa: E402
from benchmarks.proxy_model import CACHE, LABEL, proxy_model  # noqa: E402

START_ATTEMPTS = 10
CLIPS = (
    "A_video_gaze_center_left_center.mp4",
    "A_video_gaze_down_segments.mp4",
    "A_video_webcam_person_standing.mkv",
)


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)
    refused_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    retry_after_missing: int = 0
    start_retries: int = 0  # session starts refused (busy) and sent again after Retry-After
    stages: dict[str, list[float]] = field(default_factory=dict)  # details.timings_ms of REST answers
    objects: list[dict[str, Any]] = field(default_factory=list)  # each ended session's object coverage
    identity: list[dict[str, Any]] = field(default_factory=list)  # each ended session's identity watch
    recovery_s: float | None = None  # after the load: until a new session's first frame is answered
    sampled: Counter[str] = field(default_factory=Counter)  # details.object_result.this_frame


async def end_session(client: httpx.AsyncClient, session_id: str, results: Results) -> None:
    ended = await client.post("/end-session", json={"session_id": session_id})
    if ended.status_code == 200:
        summary = ended.json().get("summary", {})
        if summary.get("objects") is not None:
            results.objects.append(summary["objects"])
        if summary.get("identity") is not None:
            results.identity.append(summary["identity"])
    else:
        results.errors[f"end {ended.status_code}"] += 1


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def clip_frames(per_clip: int) -> list[bytes]:
    """Up to ``per_clip`` frames from each shared clip, as 640x480 JPEGs (q85)."""
    frames: list[bytes] = []
    for name in CLIPS:
        capture = cv2.VideoCapture(str(FIXTURES / name))
        taken = 0
        while taken < per_clip:
            ok, image = capture.read()
            if not ok:
                break
            scaled = cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA)
            encoded, jpeg = cv2.imencode(".jpg", scaled, [cv2.IMWRITE_JPEG_QUALITY, 85])
            if encoded:
                frames.append(jpeg.tobytes())
                taken += 1
        capture.release()
    if not frames:
        sys.exit(f"no frames: are the shared fixture clips at {FIXTURES}?")
    return frames


# -- the service's processes --------------------------------------------------------------------------
def service_processes() -> list[psutil.Process]:
    """Every process of the locally started Ray + Serve (children of this one), not this one."""
    children: list[psutil.Process] = psutil.Process(os.getpid()).children(recursive=True)
    return children


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def role(proc: psutil.Process) -> str:
    """A short name for a service process: Ray's process title (``ray::ServeReplica:app:face``)."""
    try:
        title = " ".join(proc.cmdline()) or proc.name()
    except psutil.Error:
        return "gone"
    if title.startswith("ray::"):
        title = title.split()[0].removeprefix("ray::")
        return title.rsplit(":", 1)[-1] if title.startswith("ServeReplica") else title
    for known in ("gcs_server", "raylet", "dashboard", "log_monitor", "runtime_env", "monitor.py"):
        if known in title:
            return known
    name: str = proc.name()
    return name


def cpu_by_role(processes: list[psutil.Process]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for proc in processes:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        totals[role(proc)] += times.user + times.system
    return totals


def pss_mb(processes: list[psutil.Process]) -> float:
    total = 0
    for proc in processes:
        try:
            total += proc.memory_full_info().pss
        except psutil.Error:
            continue
    return total / 2**20


# -- load ---------------------------------------------------------------------------------------------
async def start_after(
    client: httpx.AsyncClient, index: int, offset: float, results: Results
) -> dict[str, Any] | None:
    """Wait for this session's place in the stagger, then start it (None if refused)."""
    await asyncio.sleep(offset)
    for _ in range(START_ATTEMPTS):  # a busy service refuses new sessions first: retry as clients do
        started = await client.post("/start-session", json={"candidate_id": f"load-{index}"})
        if started.status_code not in (429, 503):
            break
        results.start_retries += 1
        await asyncio.sleep(float(started.headers.get("retry-after", 1)))
    if started.status_code != 200:
        results.errors[f"start {started.status_code}"] += 1
        return None
    body: dict[str, Any] = started.json()
    return body


async def rest_session(
    client: httpx.AsyncClient,
    index: int,
    frames: list[bytes],
    fps: float,
    until: float,
    results: Results,
    offset: float,
) -> None:
    body = await start_after(client, index, offset, results)
    if body is None:
        return
    headers = {"Authorization": f"Bearer {body['session_token']}"}
    origin = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    i = 0
    while time.perf_counter() < until:
        frame = base64.b64encode(frames[(index * 37 + i) % len(frames)]).decode()
        payload = {"session_id": body["session_id"], "frame": frame, "timestamp": i / fps}
        tasks.append(asyncio.create_task(send_rest(client, payload, headers, results)))
        i += 1
        await asyncio.sleep(max(0.0, origin + i / fps - time.perf_counter()))
    await asyncio.gather(*tasks)
    await end_session(client, body["session_id"], results)


async def send_rest(
    client: httpx.AsyncClient, payload: dict[str, Any], headers: dict[str, str], results: Results
) -> None:
    sent = time.perf_counter()
    try:
        response = await client.post("/analyze-frame", json=payload, headers=headers)
    except httpx.HTTPError as exc:
        results.errors[type(exc).__name__] += 1
        return
    note(results, response.status_code, (time.perf_counter() - sent) * 1000, response.headers)
    if response.status_code == 200:
        body = response.json()
        stages = {**body.get("details", {}).get("timings_ms", {}), "ingress": body["processing_time_ms"]}
        for stage, ms in stages.items():
            results.stages.setdefault(stage, []).append(float(ms))
        note_objects(results, body)


def note_objects(results: Results, body: dict[str, Any]) -> None:
    sampled = body.get("details", {}).get("object_result")
    results.sampled[sampled["this_frame"] if sampled else "whole"] += 1


def note(results: Results, status: int, elapsed_ms: float, headers: Any) -> None:
    if status == 200:
        results.latencies_ms.append(elapsed_ms)
    elif status in (429, 503):
        results.refused[status] += 1
        results.refused_ms.append(elapsed_ms)
        if headers is not None and "retry-after" not in headers:
            results.retry_after_missing += 1
    else:
        results.errors[f"status {status}"] += 1


async def ws_session(
    url: str,
    client: httpx.AsyncClient,
    index: int,
    frames: list[bytes],
    fps: float,
    until: float,
    results: Results,
    offset: float,
    binary: bool = False,
) -> None:
    """One connection per session; its messages are answered in order, so the client keeps one
    frame in flight and drops frames that fall due meanwhile (as the JavaScript client does).
    ``binary``: frames as binary messages (JPEG bytes), else base64 in JSON."""
    body = await start_after(client, index, offset, results)
    if body is None:
        return
    ws_url = url.replace("http", "ws", 1) + f"/ws/stream?access_token={body['session_token']}"
    async with websockets.connect(ws_url, open_timeout=60, max_size=2**24) as ws:
        await ws.send(json.dumps({"action": "resume", "session_id": body["session_id"]}))
        await ws.recv()
        origin = time.perf_counter()
        i = 0
        while time.perf_counter() < until:
            image = frames[(index * 37 + i) % len(frames)]
            sent = time.perf_counter()
            if binary:  # the image's bytes behind a small header (docs/API.md), no base64, no JSON
                header = json.dumps({"timestamp": i / fps}).encode()
                await ws.send(b"IFR1" + len(header).to_bytes(2, "big") + header + image)
            else:
                frame = base64.b64encode(image).decode()
                await ws.send(json.dumps({"action": "frame", "frame": frame, "timestamp": i / fps}))
            reply = json.loads(await ws.recv())
            elapsed = (time.perf_counter() - sent) * 1000
            status = 200 if reply.get("type") == "analysis" else int(reply.get("status", 0))
            note(results, status, elapsed, None)
            if status == 200:
                note_objects(results, reply)
            late = int((time.perf_counter() - origin) * fps)  # frames that fell due while waiting
            if late > i + 1:
                results.errors["dropped (one in flight)"] += late - i - 1
            i = max(i + 1, late)
            await asyncio.sleep(max(0.0, origin + i / fps - time.perf_counter()))
    await end_session(client, body["session_id"], results)


async def run_load(
    url: str,
    api_key: str | None,
    sessions: int,
    fps: float,
    duration: float,
    transport: str,
    frames: list[bytes],
) -> tuple[Results, float]:
    results = Results()
    headers = {"X-API-Key": api_key} if api_key else {}
    limits = httpx.Limits(max_connections=sessions * 4 + 8, max_keepalive_connections=sessions * 2 + 8)
    async with httpx.AsyncClient(base_url=url, timeout=120, headers=headers, limits=limits) as client:
        began = time.perf_counter()
        until = began + duration
        period = 1.0 / fps
        jobs = []
        for index in range(sessions):
            offset = period * index / sessions  # staggered over one frame period
            if transport == "rest":
                jobs.append(rest_session(client, index, frames, fps, until, results, offset))
            else:
                binary = transport == "ws-binary"
                jobs.append(ws_session(url, client, index, frames, fps, until, results, offset, binary))
        await asyncio.gather(*jobs)
        wall = time.perf_counter() - began
        results.recovery_s = await recovery(client, frames[0])
    return results, wall


async def recovery(client: httpx.AsyncClient, frame: bytes, limit_s: float = 30.0) -> float | None:
    """Seconds from the load's end until a new session is started and its first frame answered
    (full service again); None if not within ``limit_s``."""
    began = time.perf_counter()
    payload = base64.b64encode(frame).decode()
    while time.perf_counter() - began < limit_s:
        started = await client.post("/start-session", json={"candidate_id": "recovery"})
        if started.status_code == 200:
            body = started.json()
            answer = await client.post(
                "/analyze-frame",
                json={"session_id": body["session_id"], "frame": payload},
                headers={"Authorization": f"Bearer {body['session_token']}"},
            )
            await client.post("/end-session", json={"session_id": body["session_id"]})
            if answer.status_code == 200:
                return time.perf_counter() - began
        await asyncio.sleep(0.25)
    return None


# -- the object model ---------------------------------------------------------------------------------
def object_model(weights: str | None, no_objects: bool) -> tuple[str, str]:
    """The ``yolo_model`` setting to run and how to name it: ``--weights``, none, the official weights
    where present, else the proxy (built once, then reused)."""
    from integrity.vision.yolo_weights import resolve_weights
    from serve_app.settings import Settings

    if no_objects:  # a file that is not there: the service runs without an object model
        return str(CACHE / "no-object-model.pt"), "none (--no-objects)"
    if weights is not None:
        path = Path(weights).expanduser().resolve()
        if not path.is_file():
            sys.exit(f"--weights {weights}: no such file")
        return str(path), path.name
    settings = Settings()
    official = resolve_weights(settings.model_path, settings.yolo_model)
    if official.is_file():
        return str(official.resolve()), f"{official.name} (official weights)"
    return str(proxy_model()), LABEL


# -- the floor ----------------------------------------------------------------------------------------
@dataclass
class Floor:
    cpu_s: float  # per frame
    wall_ms: float  # per frame
    object_analyses: int
    identity_described: int  # identity checks the model described (the costly ones)
    identity_cpu_s: float = 0.0  # CPU of those checks, each timed on the thread that ran it


def floor_cpu_per_frame(
    frames: list[bytes],
    count: int,
    settings: dict[str, Any] | None = None,
    fps: float = 1.0,
    identity: Path | None = None,
) -> Floor:
    """CPU seconds and wall ms per frame of the same analyzers + session engine in this process
    (the same object model, sampled as the service samples it: frames ``1 / fps`` apart on the
    frames' own time, each analysis booked before the next frame), and with ``identity`` (the
    identity config) the identity watch as the service schedules it (before any shedding)."""
    from deployments.runtime import limit_threads
    from integrity.session.manager import SessionManager
    from integrity.session.store import MemoryStore
    from integrity.vision.identity import IdentityConfig
    from serve_app.analyzers import LocalIdentity, build_local_analyzers
    from serve_app.pipeline import FramePipeline
    from serve_app.spec import AppSpec

    limit_threads(1)  # as each replica runs (cv_threads: OpenCV's and the BLAS's threads)
    spec = AppSpec.from_file(REPO / "serve_config.yaml", **(settings or {}))
    watch = IdentityConfig.load(identity) if identity is not None else IdentityConfig(enabled=False)
    spec = dataclasses.replace(spec, identity_config=watch)
    analyzers = build_local_analyzers(spec)
    identity_cpu = [0.0]
    if isinstance(analyzers.identity, LocalIdentity):
        # Each check's CPU on its own thread: frames and checks overlap, so the process's CPU cannot
        # tell them apart, and the difference of two floor runs is mostly their noise.
        describer = analyzers.identity.describer
        describe = describer.describe_frame

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return describe(*args, **kwargs)
            finally:
                identity_cpu[0] += time.thread_time() - start

        describer.describe_frame = timed  # type: ignore[method-assign]
    manager = SessionManager(MemoryStore(), spec.risk_config, expire_seconds=3600, trust_client_time=True)
    pipeline = FramePipeline(
        analyzers,
        manager,
        object_sampling=spec.objects_config.sampling,
        replay=True,
        identity=spec.identity_config,
    )

    # Spread over all the clips (the load cycles through them): the first `count` frames would be
    # one clip's, and the clips differ in cost (face size, candidates to check).
    spread = [frames[(i * len(frames)) // count % len(frames)] for i in range(count)]

    async def go() -> Floor:
        warm = await manager.create("warm-up")
        for i in range(5):
            await pipeline.run(warm.session_id, frames[i % len(frames)], i / fps)
        session = await manager.create("floor")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i, frame in enumerate(spread):
            await pipeline.run(session.session_id, frame, 1 + i / fps)
        if pipeline.objects is not None:
            await pipeline.objects.drain(session.session_id, 60.0)
        if pipeline.identity is not None:
            await pipeline.identity.drain(session.session_id, 60.0)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        state = await manager.get(session.session_id)
        checked = (await manager.end(session.session_id)).summary.identity  # get() leaves it out
        described = checked.checks - checked.unusable if checked is not None else 0
        return Floor(cpu / count, wall * 1000 / count, state.objects.analyses, described, identity_cpu[0])

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running service (default: start one locally)")
    parser.add_argument("--api-key", help="X-API-Key for --url")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--transport",
        choices=["rest", "ws", "ws-binary"],
        default="rest",
        help="ws-binary: WebSocket frames as binary messages (the image's bytes), not base64 in JSON",
    )
    parser.add_argument(
        "--floor-frames", type=int, default=60, help="frames for the in-process floor (0: skip)"
    )
    parser.add_argument("--frames-per-clip", type=int, default=60)
    parser.add_argument(
        "--idle-s", type=float, default=10.0, help="measure the idle service's CPU this long first (0: skip)"
    )
    parser.add_argument(
        "--settings",
        default="{}",
        help='JSON overrides of the local service\'s settings, e.g. \'{"gaze_placement": "separate"}\'',
    )
    parser.add_argument(
        "--app-args",
        default="{}",
        help='JSON merged into serve_config.yaml\'s args, e.g. \'{"face": {"cv_threads": null}}\'',
    )
    parser.add_argument(
        "--ray-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment of the local Ray (e.g. RAY_SERVE_USE_GRPC_BY_DEFAULT=1); repeatable",
    )
    objects = parser.add_mutually_exclusive_group()
    objects.add_argument(
        "--weights",
        metavar="PATH",
        help="object model file to run (.pt, .onnx, .tflite; default: the official weights, else a proxy)",
    )
    objects.add_argument("--no-objects", action="store_true", help="run without an object model")
    parser.add_argument(
        "--no-identity", action="store_true", help="run without the identity watch (its cost: compare)"
    )
    options = parser.parse_args()
    for assignment in options.ray_env:
        name, _, value = assignment.partition("=")
        os.environ[name] = value  # before ray.init: the local cluster's processes inherit it

    frames = clip_frames(options.frames_per_clip)
    url = options.url
    processes: list[psutil.Process] = []
    settings: dict[str, Any] = {}
    tag = "objects: as the service at --url runs them"
    identity_config: Path | None = None  # the local service's identity watch, for the floor
    if url is None:
        yolo_model, label = object_model(options.weights, options.no_objects)
        tag = f"objects: {label}"
        # Each simulated candidate sends at --fps: the per-session rate limit must not bite.
        overrides = {
            "rate_limit_fps": max(10.0, options.fps * 2),
            "session_starts_per_minute": 0,
            "yolo_model": yolo_model,
        }
        settings = {**overrides, **json.loads(options.settings)}
        app_args = json.loads(options.app_args)
        if options.no_identity:
            app_args["identity_config"] = str(identity_off(CACHE))
            tag += "; identity: off"
        else:
            identity_config = Path(app_args.get("identity_config", REPO / "configs" / "identity.yaml"))
        url = start_local(options.port, settings, app_args)
        processes = service_processes()
        status = httpx.get(f"{url}/health", timeout=30).json().get("models", {}).get("objects", {})
        if not options.no_objects and not status.get("available"):
            sys.exit(f"the object model did not load: {status.get('detail')}")
        print(f"{tag}; the service's object model: {status.get('detail') or status}")

    def say(line: str) -> None:
        """A result line, naming the object model it ran with."""
        print(f"{line}  [{tag}]")

    idle_cpu_per_s = 0.0
    if processes and options.idle_s > 0:
        time.sleep(2.0)  # let the start-up settle
        idle_before = cpu_seconds(processes)
        time.sleep(options.idle_s)
        idle_cpu_per_s = (cpu_seconds(processes) - idle_before) / options.idle_s
    cpu_before = cpu_seconds(processes)
    roles_before = cpu_by_role(processes)
    results, wall = asyncio.run(
        run_load(
            url, options.api_key, options.sessions, options.fps, options.duration, options.transport, frames
        )
    )
    service_cpu = cpu_seconds(processes) - cpu_before
    roles = cpu_by_role(processes)
    roles.subtract(roles_before)
    processes = service_processes() if options.url is None else []
    admitted = len(results.latencies_ms)
    offered = options.sessions * options.fps
    say(
        f"load: {options.sessions} sessions x {options.fps:g} fps for {options.duration:g} s over "
        f"{options.transport} ({offered:g} frames/s offered, {len(frames)} distinct 640x480 frames)"
    )
    say(
        f"admitted {admitted} frames, {admitted / wall:.1f} frames/s; latency ms p50 "
        f"{percentile(results.latencies_ms, 50):.1f}  p95 {percentile(results.latencies_ms, 95):.1f}  "
        f"p99 {percentile(results.latencies_ms, 99):.1f}  "
        f"max {max(results.latencies_ms, default=float('nan')):.1f}"
    )
    refused = sum(results.refused.values())
    if refused:
        say(
            f"refused {refused}: {dict(results.refused)}; refusal latency ms p50 "
            f"{percentile(results.refused_ms, 50):.1f}  p99 {percentile(results.refused_ms, 99):.1f}; "
            f"without Retry-After: {results.retry_after_missing}"
        )
    else:
        say("refused 0")
    say(f"errors: {dict(results.errors) or 'none'}; session starts retried: {results.start_retries}")
    if results.recovery_s is not None:
        say(
            f"full service after the load: a new session's first frame answered in {results.recovery_s:.2f} s"
        )
    else:
        say("full service after the load: NOT within 30 s")
    if results.objects:
        shares = [c["share"] for c in results.objects if c.get("share") is not None]
        analyses = sum(c["analyses"] for c in results.objects)
        shed = sum(c["shed"] for c in results.objects)
        say(
            f"object coverage (share of session time with a fresh object result), {len(shares)} sessions: "
            f"mean {statistics.mean(shares) if shares else float('nan'):.3f}, "
            f"min {min(shares, default=float('nan')):.3f}; {analyses} analyses for {admitted} frames, "
            f"{shed} due analyses shed; frames: {dict(results.sampled)}"
        )
    service_described: int | None = None
    if results.identity and not options.no_identity:
        service_described = sum(c["checks"] - c.get("unusable", 0) for c in results.identity)
        enrolled = sum(1 for c in results.identity if c.get("enrolled"))
        say(
            f"identity watch, {len(results.identity)} sessions ({enrolled} enrolled): "
            f"{sum(c['checks'] for c in results.identity)} checks booked, {service_described} described "
            f"by the model, for {admitted} frames; {sum(c.get('different', 0) for c in results.identity)} "
            "found someone else (the load moves from one clip's person to the next)"
        )
    if results.stages:
        shown = (
            "ingress",
            "face",
            "objects_done",
            "session",
            "face.queue",
            "face.decode",
            "face.detect",
            "face.landmarks",
        )
        say(
            "server stages p50 / p99 ms (ingress = from the route's start to its answer): "
            + ", ".join(
                f"{name} {percentile(ms, 50):.1f} / {percentile(ms, 99):.1f}"
                for name, ms in ((n, results.stages.get(n, [])) for n in shown)
                if ms
            )
        )
    if processes:
        per_frame = service_cpu / max(admitted, 1)
        say(
            f"service: {service_cpu:.1f} CPU s, {per_frame * 1000:.1f} CPU ms per admitted frame; "
            f"memory {pss_mb(processes):.0f} MB PSS over {len(processes)} processes"
        )
        breakdown = ", ".join(
            f"{name} {seconds * 1000 / max(admitted, 1):.1f}"
            for name, seconds in roles.most_common()
            if seconds > 0.05
        )
        say(f"CPU ms per admitted frame by process: {breakdown}")
        if options.idle_s > 0:
            idle_share = idle_cpu_per_s * wall / max(admitted, 1) * 1000
            say(
                f"idle service (before the load): {idle_cpu_per_s * 1000:.0f} CPU ms/s, "
                f"i.e. {idle_share:.1f} of the {per_frame * 1000:.1f} CPU ms per frame at this rate"
            )
        if options.floor_frames:
            floor = floor_cpu_per_frame(frames, options.floor_frames, settings, options.fps)
            floor_cpu = floor.cpu_s
            identity_note = ""
            if identity_config is not None and service_described is not None:
                # The identity watch at the rate the service ran it (it sheds checks under load, the
                # floor's replay never does): the floor's CPU per described check, times the
                # service's described checks per frame, on top of the floor without it.
                watched = floor_cpu_per_frame(
                    frames, options.floor_frames, settings, options.fps, identity_config
                )
                per_check = watched.identity_cpu_s / max(watched.identity_described, 1)
                floor_cpu += per_check * service_described / max(admitted, 1)
                identity_note = (
                    f"; identity checks at the service's rate: {per_check * 1000:.0f} CPU ms per described "
                    f"check x {service_described / max(admitted, 1):.3f} per frame "
                    f"(the floor's replay described {watched.identity_described} "
                    f"for {options.floor_frames} frames)"
                )
            say(
                f"floor (same analyzers + session engine in one process, {floor.object_analyses} object "
                f"analyses for {options.floor_frames} frames{identity_note}): {floor_cpu * 1000:.1f} CPU ms, "
                f"{floor.wall_ms:.1f} ms wall per frame (without identity: {floor.cpu_s * 1000:.1f} CPU ms); "
                f"service CPU / floor = {per_frame / floor_cpu:.2f}; "
                f"over the floor: {(per_frame - floor_cpu) * 1000:+.1f} ms"
            )
    if results.latencies_ms:
        say(f"median of admitted: {statistics.median(results.latencies_ms):.1f} ms")


if __name__ == "__main__":
    main()
