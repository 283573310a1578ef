"""``integrity analyze``: run recordings through the same analyzers and session engine as the
service, offline, and write the session's record (JSON) and report (HTML).

    integrity analyze VIDEO --report OUT.html --json OUT.json [--fps N] [--url SERVICE]
    integrity analyze FOLDER/ --report OUT_DIR/ --json OUT_DIR/ [--address RAY_ADDRESS]

In-process by default: the models, config files and settings of the application (``--config``,
default serve_config.yaml, and the environment) in this process, a fresh session per recording,
stream time = time in the recording. ``--url`` sends the frames to a running service instead (REST,
with ``--api-key``) and fetches its record and report. A folder is processed recording by recording
here, or spread over a Ray cluster with ``--address`` (one task per recording; the recordings are
shipped to the workers, the results come back here).

The JSON is the record as ``GET /sessions/{id}`` answers it, plus ``source`` (the recording, the
frame rate analysed, the run time); evidence images go beside it (``--evidence-dir``, default
``OUT.evidence/``) and each event's ``evidence_url`` is their path relative to the JSON file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrity.evidence.render import thumbnail
from integrity.evidence.report import render_report
from integrity.evidence.store import EvidenceStore
from integrity.session.manager import SessionManager
from integrity.session.record import SessionRecord
from integrity.session.store import MemoryStore
from integrity.vision.imaging import encode_jpeg
from integrity.vision.video import VIDEO_SUFFIXES, frames_at, sampled_count, video_info
from serve_app.settings import REPO_ROOT

DEFAULT_FPS = 10.0  # what a live session sends at the default rate limit
JPEG_QUALITY = 90  # frames are sent as a browser would: JPEG

Progress = Callable[[int], None]  # frames done since the last call


@dataclass
class Analysis:
    """One recording's outcome, independent of where it ran (here, a Ray worker, a service)."""

    video: str
    record: dict[str, Any]  # the record, as GET /sessions/{id} answers it
    report: str  # the HTML report
    images: dict[str, bytes] = field(default_factory=dict)  # event id -> evidence JPEG
    frames: int = 0
    run_time_s: float = 0.0
    fps: float | None = None

    @property
    def verdict(self) -> str:
        return str(self.record["verdict"])

    def summary(self) -> str:
        counts = self.record.get("event_counts") or {}
        events = ", ".join(f"{k} x{v}" for k, v in counts.items()) or "no events"
        rate = self.frames / self.run_time_s if self.run_time_s > 0 else 0.0
        return (
            f"{self.video}: {self.verdict} (peak risk {self.record['peak_risk_score']:.1f}; {events}); "
            f"{self.frames} frames in {self.run_time_s:.1f} s ({rate:.1f} frames/s)"
        )


# -- frames ---------------------------------------------------------------------------------------------
def encoded_frames(video: Path, fps: float | None) -> Iterator[tuple[float, bytes]]:
    for t, image in frames_at(video, fps):
        yield t, encode_jpeg(image, JPEG_QUALITY)


# -- in process -------------------------------------------------------------------------------------
class LocalAnalysis:
    """The application's analyzers and session engine in this process (models loaded once)."""

    def __init__(self, config: Path) -> None:
        from serve_app.analyzers import build_local_analyzers
        from serve_app.spec import AppSpec

        spec = AppSpec.from_file(config)
        self.settings = spec.settings
        self.risk_config = spec.risk_config
        self.analyzers = build_local_analyzers(spec)

    def analyze(self, video: Path, fps: float | None, progress: Progress | None = None) -> Analysis:
        return asyncio.run(self._analyze(video, fps, progress))

    async def _analyze(self, video: Path, fps: float | None, progress: Progress | None) -> Analysis:
        from serve_app.api import responses
        from serve_app.evidence import EvidenceRecorder
        from serve_app.pipeline import FramePipeline
        from serve_app.service import RecordView

        started = time.perf_counter()
        manager = SessionManager(
            MemoryStore(), self.risk_config, expire_seconds=10 * 365 * 86400.0, trust_client_time=True
        )
        pipeline = FramePipeline(self.analyzers, manager)
        with tempfile.TemporaryDirectory(prefix="integrity-evidence-") as folder:
            store = EvidenceStore(folder, retention_s=10 * 365 * 86400.0)
            recorder = EvidenceRecorder(store, url_for=lambda _, event_id: f"{event_id}.jpg")
            session = await manager.create(
                video.stem, {"source": "integrity analyze", "video": video.name}, timestamp=0.0
            )
            sid = session.session_id
            count = 0
            for t, data in encoded_frames(video, fps):
                result = await pipeline.run(sid, data, t)
                await recorder.capture(sid, data, result)
                count += 1
                if progress is not None:
                    progress(1)
            await manager.end(sid)
            record = await manager.record(sid)
            images = {i: jpeg for i in store.events(sid) if (jpeg := store.get(sid, i)) is not None}
        report = _report(record, images)
        urls = {i: f"{i}.jpg" for i in images}
        body = responses.record(RecordView(record, urls)).model_dump(mode="json")
        return Analysis(video.name, body, report, images, count, time.perf_counter() - started, fps)


def _report(record: SessionRecord, images: dict[str, bytes]) -> str:
    thumbs = {}
    for event_id, data in images.items():
        try:
            thumbs[event_id] = thumbnail(data)
        except ValueError:
            continue
    return render_report(record, thumbs)


# -- against a running service ------------------------------------------------------------------------
class RemoteAnalysis:
    """Frames over REST to a running service, at the recording's pace; its record and report come back."""

    def __init__(self, url: str, api_key: str | None) -> None:
        self.url = url.rstrip("/")
        self.headers = {"content-type": "application/json"}
        if api_key:
            self.headers["x-api-key"] = api_key

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        for _ in range(30):  # 429/503: wait as told (Retry-After), the frame was not booked
            request = urllib.request.Request(self.url + path, data=data, method=method, headers=self.headers)
            try:
                with urllib.request.urlopen(request, timeout=120) as answer:
                    payload: bytes = answer.read()
                    return payload
            except urllib.error.HTTPError as exc:
                if exc.code not in (429, 503):
                    detail = exc.read().decode(errors="replace")[:300]
                    raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
                time.sleep(float(exc.headers.get("retry-after") or 1))
        raise RuntimeError(f"{method} {path}: the service kept refusing (429/503)")

    def _json(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self._call(method, path, body))
        return result

    def analyze(self, video: Path, fps: float | None, progress: Progress | None = None) -> Analysis:
        import base64

        started = time.perf_counter()
        sid = self._json(
            "POST",
            "/start-session",
            {
                "candidate_id": video.stem,
                "metadata": {"source": "integrity analyze", "video": video.name},
                "timestamp": 0.0,
            },
        )["session_id"]
        count = 0
        began: float | None = None
        for t, data in encoded_frames(video, fps):
            # At the recording's pace: the service runs sessions on its own clock (a client
            # timestamp counts only close to it), so a faster replay would shorten every duration.
            now = time.monotonic()
            if began is None:
                began = now - t
            time.sleep(max(0.0, began + t - now))
            frame = base64.b64encode(data).decode()
            self._json("POST", "/analyze-frame", {"session_id": sid, "frame": frame, "timestamp": t})
            count += 1
            if progress is not None:
                progress(1)
        self._json("POST", "/end-session", {"session_id": sid})
        record = self._json("GET", f"/sessions/{sid}")
        for event in record.get("events", []):
            if event.get("evidence_url"):
                event["evidence_url"] = self.url + event["evidence_url"]
        report = self._call("GET", f"/sessions/{sid}/report").decode()
        return Analysis(video.name, record, report, {}, count, time.perf_counter() - started, fps)


# -- over a Ray cluster -----------------------------------------------------------------------------
def _analyze_on_worker(name: str, data: bytes, fps: float | None, config: str) -> Analysis:
    """One recording in a Ray task: the file's bytes come with the task (workers need no shared disk)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return LocalAnalysis(Path(config)).analyze(path, fps)


def analyze_on_ray(
    videos: list[Path], fps: float | None, config: Path, address: str, quiet: bool
) -> Iterator[Analysis]:
    import ray
    from tqdm import tqdm

    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    task = ray.remote(num_cpus=1, max_retries=1)(_analyze_on_worker)
    pending = {task.remote(v.name, ray.put(v.read_bytes()), fps, str(config)): v for v in videos}
    with tqdm(total=len(videos), unit="video", disable=quiet, file=sys.stderr) as bar:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            video = pending.pop(done[0])
            bar.update(1)
            try:
                yield ray.get(done[0])
            except Exception as exc:
                print(f"{video.name}: failed: {exc}", file=sys.stderr)


# -- output ------------------------------------------------------------------------------------------
def write_outputs(
    analysis: Analysis, json_path: Path | None, report_path: Path | None, evidence: Path | None
) -> None:
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(analysis.report, encoding="utf-8")
    if json_path is None:
        return
    json_path.parent.mkdir(parents=True, exist_ok=True)
    record = dict(analysis.record)
    if analysis.images:
        folder = evidence or json_path.with_suffix(".evidence")
        folder.mkdir(parents=True, exist_ok=True)
        for event_id, data in analysis.images.items():
            (folder / f"{event_id}.jpg").write_bytes(data)
        relative = Path(os.path.relpath(folder, json_path.parent))
        record["events"] = [
            {
                **e,
                "evidence_url": (relative / f"{e['id']}.jpg").as_posix()
                if e["id"] in analysis.images
                else None,
            }
            for e in record.get("events", [])
        ]
    source = {
        "video": analysis.video,
        "fps": analysis.fps,
        "frames": analysis.frames,
        "run_time_s": round(analysis.run_time_s, 2),
    }
    json_path.write_text(json.dumps({"source": source, **record}, indent=2), encoding="utf-8")


def _targets(path: Path | None, video: Path, many: bool, suffix: str) -> Path | None:
    if path is None:
        return None
    return path / f"{video.stem}{suffix}" if many else path


# -- the command ---------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="integrity", description="Interview integrity tools.")
    commands = top.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser(
        "analyze",
        help="analyse a recording (or every recording in a folder): verdict, JSON record, HTML report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    analyze.add_argument("path", type=Path, help="a video file, or a folder of them")
    analyze.add_argument("--report", type=Path, help="write the HTML report here (a folder for a folder)")
    analyze.add_argument("--json", type=Path, help="write the JSON record here (a folder for a folder)")
    analyze.add_argument(
        "--fps",
        type=float,
        default=DEFAULT_FPS,
        help=f"frames per second of recording (default {DEFAULT_FPS:g}; 0: all)",
    )
    analyze.add_argument("--url", help="analyse with a running service at this URL instead of in-process")
    analyze.add_argument("--api-key", help="the service's API key (with --url)")
    analyze.add_argument("--address", help="Ray cluster address: spread the recordings over it")
    analyze.add_argument("--evidence-dir", type=Path, help="evidence images (default: beside the JSON)")
    analyze.add_argument(
        "--config", type=Path, default=REPO_ROOT / "serve_config.yaml", help="application args (config files)"
    )
    analyze.add_argument("--quiet", action="store_true", help="no progress bar")
    commands.add_parser(
        "key-id",
        help="print the id of the API key read from stdin (configs/policy.yaml's api_keys, the logs)",
    )
    return top


def recordings(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if path.is_file():
        return [path]
    raise SystemExit(f"integrity analyze: no such file or folder: {path}")


def run_analyze(options: argparse.Namespace) -> int:
    from tqdm import tqdm

    videos = recordings(options.path)
    if not videos:
        print(f"integrity analyze: no recordings in {options.path}", file=sys.stderr)
        return 2
    many = options.path.is_dir()
    fps = options.fps or None
    results: Iterator[Analysis]
    if options.address:
        results = analyze_on_ray(videos, fps, options.config, options.address, options.quiet)
    else:
        engine: LocalAnalysis | RemoteAnalysis = (
            RemoteAnalysis(options.url, options.api_key) if options.url else LocalAnalysis(options.config)
        )

        def one_by_one() -> Iterator[Analysis]:
            for video in videos:
                total = sampled_count(video_info(video), fps)
                with tqdm(
                    total=total, unit="frame", desc=video.name, disable=options.quiet, file=sys.stderr
                ) as bar:
                    analysis = engine.analyze(video, fps, bar.update)
                    bar.total = bar.n  # the container's frame count is an estimate
                    bar.refresh()
                yield analysis

        results = one_by_one()
    failed = len(videos)
    for analysis in results:
        failed -= 1
        video = Path(analysis.video)
        evidence = (
            options.evidence_dir / video.stem if many and options.evidence_dir else options.evidence_dir
        )
        write_outputs(
            analysis,
            _targets(options.json, video, many, ".json"),
            _targets(options.report, video, many, ".html"),
            evidence,
        )
        print(analysis.summary(), flush=True)
    for label, target in (("report", options.report), ("JSON", options.json)):
        if target is not None:
            print(f"{label}: {target}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    options = parser().parse_args(argv)
    if options.command == "analyze":
        return run_analyze(options)
    if options.command == "key-id":
        from serve_app.api.auth import key_id

        key = sys.stdin.readline().strip()
        if not key:
            print("integrity key-id: give the API key on stdin", file=sys.stderr)
            return 2
        print(key_id(key))
        return 0
    return 2  # pragma: no cover (argparse requires a command)


if __name__ == "__main__":
    raise SystemExit(main())
