"""Smoke check of the built container image (``make image-smoke``): run it, use it, stop it.

    python tools/image_smoke.py [--engine podman|docker] [--image interview-integrity:0.1.0]
                                [--fixtures ../shared/fixtures] [--json OUT.json]

Starts the image as `docker run` would in production (``--shm-size=1g``, the API published on a free
port of 127.0.0.1 only), then checks, in order:

1. ``GET /health`` answers 200 with ``status: ok`` and every model loaded (the time from ``run`` to
   that answer is reported);
2. a session: ``/start-session``, one ``/analyze-frame`` with a photo of two faces taken from outside
   the image (``A03_two_faces_webcam.png`` in the shared fixtures; never copied into the repository
   or the image) that must count 2 faces, ``/end-session`` with a verdict;
3. ``GET /demo`` and ``GET /docs`` serve their pages;
4. SIGTERM to the container (tini forwards it to ``python -m serve_app``) ends it with exit status 0
   (the time to exit is reported).

Standard library only, so it runs with any Python 3.11. Exit status 0 when every check passed; the
container is removed in every case.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TWO_FACES = "A03_two_faces_webcam.png"


class SmokeFailure(Exception):
    pass


def default_engine() -> str:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "info"], capture_output=True, check=False).returncode == 0:
        return "docker"
    return "podman" if shutil.which("podman") else "docker"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(
    method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 30.0
) -> tuple[int, bytes, str]:
    """(status, body, content type); HTTP errors are answers too, connection failures raise OSError."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("content-type", "")


def post_json(url: str, body: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    status, raw, _ = http("POST", url, body, timeout)
    if status != 200:
        raise SmokeFailure(f"POST {url}: {status} {raw[:500]!r}")
    answer: dict[str, Any] = json.loads(raw)
    return answer


class Container:
    def __init__(self, engine: str, image: str, port: int) -> None:
        self.engine = engine
        self.image = image
        self.port = port
        self.name = f"iis-smoke-{uuid.uuid4().hex[:8]}"

    def run(self) -> None:
        command = [
            self.engine,
            "run",
            "-d",
            "--name",
            self.name,
            "--shm-size=1g",
            "-p",
            f"127.0.0.1:{self.port}:8000",
            self.image,
        ]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def running(self) -> bool:
        out = self.inspect("{{.State.Running}}")
        return out == "true"

    def inspect(self, template: str) -> str:
        done = subprocess.run(
            [self.engine, "inspect", "--format", template, self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    def logs(self, tail: int = 60) -> str:
        done = subprocess.run(
            [self.engine, "logs", "--tail", str(tail), self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout + done.stderr

    def sigterm(self, timeout: float) -> tuple[int, float]:
        """Send SIGTERM, wait for the exit; (exit status, seconds from the signal to the exit)."""
        start = time.monotonic()
        subprocess.run([self.engine, "kill", "--signal", "TERM", self.name], check=True, capture_output=True)
        while self.running():
            if time.monotonic() - start > timeout:
                raise SmokeFailure(f"still running {timeout:.0f} s after SIGTERM")
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        return int(self.inspect("{{.State.ExitCode}}") or -1), elapsed

    def remove(self) -> None:
        subprocess.run([self.engine, "rm", "-f", self.name], capture_output=True, check=False)


def wait_healthy(base: str, container: Container, timeout: float) -> tuple[dict[str, Any], float, float]:
    """Poll /health until every model is loaded: (health, first 200 after s, all models after s)."""
    start = time.monotonic()
    first_200: float | None = None
    last = "no answer yet"
    while time.monotonic() - start < timeout:
        if not container.running():
            raise SmokeFailure(f"the container exited during start-up:\n{container.logs()}")
        try:
            status, raw, _ = http("GET", f"{base}/health", timeout=5)
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            last = f"{status} {raw[:300]!r}"
            if status == 200:
                first_200 = first_200 if first_200 is not None else time.monotonic() - start
                health: dict[str, Any] = json.loads(raw)
                if health.get("models_loaded") and health.get("status") == "ok":
                    return health, first_200, time.monotonic() - start
        time.sleep(0.25)
    raise SmokeFailure(f"/health not ok with every model loaded after {timeout:.0f} s; last: {last}")


def check_session(base: str, frame: bytes) -> dict[str, Any]:
    started = post_json(f"{base}/start-session", {"candidate_id": "image-smoke"})
    sid = started["session_id"]
    analysed = post_json(
        f"{base}/analyze-frame",
        {"session_id": sid, "frame": base64.b64encode(frame).decode(), "timestamp": 0.0},
    )
    if analysed.get("faces") != 2:
        raise SmokeFailure(f"{TWO_FACES}: {analysed.get('faces')} faces, expected 2: {analysed}")
    ended = post_json(f"{base}/end-session", {"session_id": sid})
    if ended.get("verdict") is None:
        raise SmokeFailure(f"/end-session gave no verdict: {ended}")
    return {
        "faces": analysed["faces"],
        "objects": [o.get("label", o.get("class_name")) for o in analysed.get("objects", [])],
        "processing_time_ms": analysed.get("processing_time_ms"),
        "verdict": ended["verdict"],
    }


def check_page(base: str, path: str, needle: bytes) -> None:
    status, raw, ctype = http("GET", f"{base}{path}")
    if status != 200 or "text/html" not in ctype or needle not in raw:
        raise SmokeFailure(f"GET {path}: {status} {ctype} {raw[:200]!r}")


def smoke(
    engine: str, image: str, frame: bytes, health_timeout: float, stop_timeout: float
) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    container = Container(engine, image, port)
    report: dict[str, Any] = {"engine": engine, "image": image}
    try:
        container.run()
        health, first_200, all_loaded = wait_healthy(base, container, health_timeout)
        report["first_health_200_s"] = round(first_200, 1)
        report["all_models_loaded_s"] = round(all_loaded, 1)
        report["models"] = {
            name: (model.get("detail") or model.get("runtime") or model.get("file") or "loaded")
            for name, model in health["models"].items()
        }
        print(f"healthy after {all_loaded:.1f} s (first 200 at {first_200:.1f} s): {report['models']}")
        report["session"] = check_session(base, frame)
        print(f"session: {report['session']}")
        check_page(base, "/demo", b"<html")
        check_page(base, "/docs", b"swagger")
        print("/demo and /docs served")
        code, elapsed = container.sigterm(stop_timeout)
        report["sigterm_exit_code"] = code
        report["sigterm_exit_s"] = round(elapsed, 1)
        print(f"SIGTERM: exit {code} after {elapsed:.1f} s")
        if code != 0:
            raise SmokeFailure(f"exit status {code} after SIGTERM:\n{container.logs()}")
        return report
    except (SmokeFailure, OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else ""
        raise SmokeFailure(f"{exc} {detail or ''}\n--- container log (tail) ---\n{container.logs()}") from exc
    finally:
        container.remove()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", default=None, help="docker or podman (default: whichever works)")
    parser.add_argument("--image", default="interview-integrity:0.1.0")
    parser.add_argument("--fixtures", type=Path, default=REPO.parent / "shared" / "fixtures")
    parser.add_argument("--health-timeout", type=float, default=180.0)
    parser.add_argument("--stop-timeout", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    photo = args.fixtures / TWO_FACES
    if not photo.is_file():
        print(f"{photo} not found: pass --fixtures (the shared fixtures folder)", file=sys.stderr)
        return 2
    engine = args.engine or default_engine()
    try:
        report = smoke(engine, args.image, photo.read_bytes(), args.health_timeout, args.stop_timeout)
    except SmokeFailure as exc:
        print(f"image smoke FAILED: {exc}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"image smoke passed: {json.dumps(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
