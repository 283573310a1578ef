"""The in-process tier: the service's real FastAPI app, service, pipeline, models and session engine
in this process, without Ray (``serve_app.local``), driven over httpx through Starlette's
TestClient, on a clock the test moves.

The models are loaded once per test session (they hold no per-session state); every ``local_client``
gets its own sessions, clock and evidence folder. What needs Ray itself (the proxy, replicas,
shard actors, Redis, direct ingress, backpressure) stays in tests/integration.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from serve_app.analyzers import build_local_analyzers
from serve_app.local import local_app
from serve_app.pipeline import Analyzers
from serve_app.spec import AppSpec
from tests.conftest import free_port
from tests.integration.conftest import UNLIMITED

SHARED_MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"


class FakeClock:
    """The server's clock, moved by the test (``advance``); starts at the real time."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def spec_with(**settings: Any) -> AppSpec:
    """The default application (serve_config's defaults) with these setting overrides."""
    return AppSpec.from_args({}, **settings)


@pytest.fixture(scope="session")
def no_object_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Settings under which the object model is unavailable (weights that are not there), even where
    `make run` fetched the default ones into MODEL_PATH (which also holds the face models)."""
    return {"yolo_model": str(tmp_path_factory.mktemp("no-models") / "yolo11n.pt")}


@pytest.fixture(scope="session")
def analyzers(no_object_models: dict[str, Any]) -> Analyzers:
    """Face, landmarks, gaze (the default backends) loaded once; no object model."""
    return build_local_analyzers(spec_with(**no_object_models))


@pytest.fixture(scope="session")
def tflite_objects() -> dict[str, Any]:
    """Settings that load the shared YOLOv8n TFLite weights (../shared/models, MANIFEST there)."""
    weights = SHARED_MODELS / "yolov8n_int8.tflite"
    if not weights.is_file():
        pytest.skip(f"shared YOLOv8n weights not found at {weights}")
    return {"model_path": str(weights.parent), "yolo_model": weights.name}


@contextmanager
def local_client(
    analyzers: Analyzers | None, *, clock: FakeClock | None = None, **settings: Any
) -> Iterator[TestClient]:
    """The app with these setting overrides (no rate limits and trusted replay unless given), its
    evidence in a fresh folder; ``analyzers`` None loads the models the settings name."""
    with tempfile.TemporaryDirectory(prefix="iis-evidence-") as folder:
        spec = spec_with(**{**UNLIMITED, "evidence_dir": folder, **settings})
        app = local_app(spec, analyzers, clock=clock or time.time, monotonic=clock or time.monotonic)
        with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
            yield client


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` over real HTTP (uvicorn in a thread on a free port), for a client that needs a URL
    (a CLI, a fuzzer, a browser); yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def local_server(
    analyzers: Analyzers | None, *, clock: FakeClock | None = None, **settings: Any
) -> Iterator[str]:
    """As :func:`local_client`, served over real HTTP by :func:`serving`; yields the base URL."""
    with tempfile.TemporaryDirectory(prefix="iis-evidence-") as folder:
        spec = spec_with(**{**UNLIMITED, "evidence_dir": folder, **settings})
        app = local_app(spec, analyzers, clock=clock or time.time, monotonic=clock or time.monotonic)
        with serving(app) as url:
            yield url


class WebSocketClient(Protocol):
    """A ``/ws/stream`` connection as the tests use it: in process (``LocalWs``) or over a port."""

    def send(self, message: dict[str, Any] | str | bytes) -> dict[str, Any]: ...

    def close(self) -> None: ...


class LocalWs:
    """``/ws/stream`` of an in-process app, with the same calls as the tests' real WebSocket client."""

    def __init__(
        self, client: httpx.Client, headers: dict[str, str] | None = None, path: str = "/ws/stream"
    ) -> None:
        assert isinstance(client, TestClient), "an in-process app's client (local_client)"
        self._context = client.websocket_connect(path, headers=headers or {})
        self.conn: WebSocketTestSession = self._context.__enter__()

    def send(self, message: dict[str, Any] | str | bytes) -> dict[str, Any]:
        if isinstance(message, bytes):
            self.conn.send_bytes(message)
        else:
            self.conn.send_text(message if isinstance(message, str) else json.dumps(message))
        reply: dict[str, Any] = json.loads(self.conn.receive_text())
        return reply

    def close(self) -> None:
        self._context.__exit__(None, None, None)
