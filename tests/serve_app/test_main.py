"""`python -m serve_app` (what `make run` starts): honours API_HOST/API_PORT, serves, stops on SIGTERM."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {**os.environ, "API_HOST": "127.0.0.1", "API_PORT": str(port), "LOG_LEVEL": "warning"}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "serve_app", "--no-dashboard", "--metrics-port", str(free_port())],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_run_command_serves_on_the_configured_address_and_stops_cleanly(
    server: tuple[subprocess.Popen[bytes], str], fixture_bytes: dict[str, bytes]
) -> None:
    proc, url = server
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, "python -m serve_app exited early"
        try:
            if httpx.get(url + "/health", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the API did not come up"
        time.sleep(0.5)

    with httpx.Client(base_url=url, timeout=60) as client:
        session_id = client.post("/start-session", json={"candidate_id": "make-run"}).json()["session_id"]
        frame = base64.b64encode(fixture_bytes["A01_frontal_webcam_man.png"]).decode()
        result = client.post("/analyze-frame", json={"session_id": session_id, "frame": frame}).json()
        assert result["faces"] == 1
        assert client.get("/health").json()["active_sessions"] == 1

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=90) == 0
