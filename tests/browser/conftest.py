"""Headless Chromium (Debian's package) driven by Playwright, with a fake camera fed from a fixture
clip, against the real Serve application.

Chromium is found at /usr/bin/chromium (or on PATH); `.ci/run` installs it when missing. Without it
the tests skip locally, and fail under CI (CI=true): no browser test is skipped there.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from tests.conftest import REPO

ARTIFACTS = REPO / ".artifacts" / "browser"
CLIP = "A_video_gaze_center_left_center.mp4"  # one person, frontal, gaze centre then left
CAMERA_SECONDS = 4.0
CAMERA_FPS = 10
CAMERA_WIDTH = 360  # the clip is portrait, 480x848: 360x640 keeps the face large and the file small
REACT_DIR = REPO / "clients" / "react"
REACT_BUILD = REACT_DIR / "dist" / "example"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",  # a fake camera...
    "--use-fake-ui-for-media-stream",  # ...granted without a prompt
]


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI runs every browser test: .ci/run installs what they need)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        _missing("chromium is not installed (apt-get install chromium; .ci/run does this)")
    assert path is not None
    return path


def write_y4m(clip: Path, target: Path, seconds: float, fps: int, width: int) -> tuple[int, int, int]:
    """The clip's first `seconds` as a raw Y4M (4:2:0) at `fps`, scaled to `width`: what Chromium's
    --use-file-for-fake-video-capture plays (in a loop). Returns (width, height, frames)."""
    capture = cv2.VideoCapture(str(clip))
    assert capture.isOpened(), clip
    source_fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    wanted = [round(i * source_fps / fps) for i in range(int(seconds * fps))]
    frames = 0
    height = 0
    with target.open("wb") as out:
        index = -1
        for want in wanted:
            image = None
            while index < want:
                ok, image = capture.read()
                if not ok:
                    break
                index += 1
            if image is None:
                break
            height = round(image.shape[0] * width / image.shape[1] / 2) * 2
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            if frames == 0:
                out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())
            frames += 1
    capture.release()
    assert frames > 0, f"no frames read from {clip}"
    return width, height, frames


@pytest.fixture(scope="session")
def fake_camera(fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Y4M made from the fixture clip, in a temporary folder (never in the repository)."""
    target = tmp_path_factory.mktemp("camera") / "camera.y4m"
    write_y4m(fixtures_dir / CLIP, target, CAMERA_SECONDS, CAMERA_FPS, CAMERA_WIDTH)
    return target


@pytest.fixture(scope="module")
def browser(chromium_path: str, fake_camera: Path) -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (it is a dev dependency: make install)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={fake_camera}"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """clients/node_modules (npm ci in clients/: `make test` runs it) and a node binary."""
    folder = REPO / "clients" / "node_modules"
    if shutil.which("node") is None or not folder.is_dir():
        _missing("node or clients/node_modules is missing (cd clients && npm ci; make test does this)")
    return folder


@pytest.fixture(scope="session")
def react_build(node_modules: Path) -> Path:
    """clients/react/dist/example: `make test` builds it before pytest; built here when missing."""
    if not (REACT_BUILD / "index.html").is_file():
        npm = shutil.which("npm")
        if npm is None or not (REPO / "clients" / "node_modules").is_dir():
            _missing(
                "the React example is not built (cd clients && npm ci && npm run build; make test does this)"
            )
        assert npm is not None
        subprocess.run([npm, "run", "build"], cwd=REACT_DIR, check=True, timeout=300)
    return REACT_BUILD


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def static_server(react_build: Path) -> Iterator[str]:
    """The React example's build on its own origin (it reaches the service over WebSocket only)."""
    handler = functools.partial(_QuietHandler, directory=str(react_build))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
