"""`python -m serve_app` (what `make run` starts): honours API_HOST/API_PORT, serves, stops on SIGTERM."""

from __future__ import annotations

import base64
import ctypes
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.integration

LOGS: dict[int, Path] = {}  # a server's pid -> its log, shown when it exits early


@contextmanager
def serving(tmp_path: Path, **extra_env: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = int(extra_env.get("API_PORT") or free_port())
    env = {**os.environ, "API_HOST": "127.0.0.1", "API_PORT": str(port), "LOG_LEVEL": "warning", **extra_env}
    scheme = "https" if "TLS_CERTFILE" in extra_env else "http"
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "serve_app", "--no-dashboard", "--metrics-port", str(free_port())],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    LOGS[proc.pid] = tmp_path / "serve.log"
    try:
        yield proc, f"{scheme}://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    with serving(tmp_path) as running:
        yield running


def wait_up(proc: subprocess.Popen[bytes], url: str, verify: str | bool = True) -> None:
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            log = LOGS.get(proc.pid)
            tail = log.read_text(errors="replace")[-4000:] if log is not None and log.is_file() else ""
            raise AssertionError(f"python -m serve_app exited early ({proc.returncode}):\n{tail}")
        try:
            if httpx.get(url + "/health", timeout=5, verify=verify).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the API did not come up"
        time.sleep(0.5)


def test_run_command_serves_on_the_configured_address_and_stops_cleanly(
    server: tuple[subprocess.Popen[bytes], str], fixture_bytes: dict[str, bytes]
) -> None:
    proc, url = server
    wait_up(proc, url)

    with httpx.Client(base_url=url, timeout=60) as client:
        session_id = client.post("/start-session", json={"candidate_id": "make-run"}).json()["session_id"]
        frame = base64.b64encode(fixture_bytes["A01_frontal_webcam_man.png"]).decode()
        result = client.post("/analyze-frame", json={"session_id": session_id, "frame": frame}).json()
        assert result["faces"] == 1
        assert client.get("/health").json()["active_sessions"] == 1

    # The kernel hands a process's SIGTERM to any of its threads that does not block it: here one
    # of Ray's, the case where a main thread asleep in signal.pause() never woke.
    sigterm_to_another_thread(proc.pid)
    assert proc.wait(timeout=90) == 0


def sigterm_to_another_thread(pid: int) -> None:
    """SIGTERM to one of ``pid``'s threads other than its main thread (``tgkill``), one that the
    kernel could choose: a thread blocking SIGTERM (some of Ray's do) would keep it pending."""

    def takes_sigterm(tid: int) -> bool:
        status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        blocked = int(status.split("SigBlk:", 1)[1].split()[0], 16)
        return not blocked & (1 << (signal.SIGTERM - 1))

    others = [t.id for t in psutil.Process(pid).threads() if t.id != pid and takes_sigterm(t.id)]
    assert others, "no thread of the service besides its main thread takes SIGTERM"
    tgkill = {"x86_64": 234, "aarch64": 131}[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(tgkill, pid, others[-1], signal.SIGTERM) == 0, os.strerror(ctypes.get_errno())


def test_https_with_a_certificate_and_api_keys(tmp_path: Path) -> None:
    """TLS_CERTFILE/TLS_KEYFILE: Serve's proxy speaks HTTPS itself; API_KEYS guards the sessions."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    env = {"TLS_CERTFILE": str(cert), "TLS_KEYFILE": str(key), "API_KEYS": "tls-test-key-0123456789"}
    with serving(tmp_path, **env) as (proc, url):
        assert url.startswith("https://")
        wait_up(proc, url, verify=str(cert))
        with httpx.Client(base_url=url, timeout=60, verify=str(cert)) as client:
            assert client.post("/start-session", json={"candidate_id": "tls"}).status_code == 401
            started = client.post(
                "/start-session",
                json={"candidate_id": "tls"},
                headers={"X-API-Key": "tls-test-key-0123456789"},
            )
            assert started.status_code == 200 and started.json()["session_token"]
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served on that port
            httpx.get(url.replace("https://", "http://") + "/health", timeout=5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0
