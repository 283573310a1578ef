"""The real Serve application over HTTP and WebSocket, one deployment per test module."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from serve_app.app import build_app
from serve_app.app_args import AppArgs, Autoscaling, DeploymentArgs

APP_NAME = "iis-test"
# Tests send frames back to back, far above a webcam's rate: no rate limits unless a test asks, and
# they replay time faster than real time through the frames' timestamps (trusted replay mode), so
# a 60 s scenario takes seconds. Tests of the server clock itself turn it off.
UNLIMITED: dict[str, Any] = {"rate_limit_fps": 0, "session_starts_per_minute": 0, "trust_client_time": True}


def small(num_cpus: float) -> DeploymentArgs:
    """One replica each: the test box has two cores and autoscaling would only add noise."""
    return DeploymentArgs(num_cpus=num_cpus, autoscaling=Autoscaling(min_replicas=1, max_replicas=1))


@contextmanager
def running_app(
    port: int, app_args: Mapping[str, Any] | None = None, **settings: Any
) -> Iterator[httpx.Client]:
    """Deploy the application with these setting overrides (and ``app_args``: other AppArgs
    fields, e.g. a config file's path); yield an HTTP client for it."""
    from ray import serve

    settings = {**UNLIMITED, **settings}
    args = AppArgs(
        ingress=small(0.25),
        face=small(0.5),
        gaze=small(0.25),
        objects=small(0.25),
        identity=small(0.25),
        settings=settings,
        **(app_args or {}),
    )
    serve.run(build_app(args), name=APP_NAME, route_prefix="/")
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    deadline = time.monotonic() + 120
    while True:
        try:
            if client.get("/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the application did not come up")
        time.sleep(0.5)
    try:
        yield client
    finally:
        client.close()
        serve.delete(APP_NAME)
        stop_session_shards(settings)


def stop_session_shards(settings: dict[str, Any]) -> None:
    """The shard actors are detached (they outlive replicas by design): stop this app's, so the next
    module's app starts with no session left over (its limits and counts are its own)."""
    import ray

    from integrity.session.risk.config import RiskConfig
    from serve_app.settings import Settings
    from serve_app.shard_client import NAMESPACE, SessionShards

    for name in SessionShards(Settings(**settings), RiskConfig.load()).names:
        try:
            ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)
        except ValueError:  # never created, or already gone
            continue


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def start(client: httpx.Client, candidate: str = "candidate", **body: Any) -> str:
    response = client.post("/start-session", json={"candidate_id": candidate, **body})
    assert response.status_code == 200, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def analyze(client: httpx.Client, session_id: str, frame: bytes, ts: float | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"session_id": session_id, "frame": b64(frame)}
    if ts is not None:
        body["timestamp"] = ts
    response = client.post("/analyze-frame", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def end(client: httpx.Client, session_id: str) -> dict[str, Any]:
    response = client.post("/end-session", json={"session_id": session_id})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


Outcome = tuple[int, float, str | None]  # status, seconds, Retry-After


def burst(client: httpx.Client, session_ids: list[str], frame: str, **body: Any) -> list[Outcome]:
    """One frame (base64) per session, all sent at once."""

    def send(session_id: str) -> Outcome:
        began = time.perf_counter()
        response = client.post("/analyze-frame", json={"session_id": session_id, "frame": frame, **body})
        return response.status_code, time.perf_counter() - began, response.headers.get("retry-after")

    with ThreadPoolExecutor(max_workers=len(session_ids)) as pool:
        return list(pool.map(send, session_ids))


class WsClient:
    def __init__(self, port: int) -> None:
        self.conn: ClientConnection = connect(f"ws://127.0.0.1:{port}/ws/stream", open_timeout=30)

    def send(self, message: dict[str, Any] | str | bytes) -> dict[str, Any]:
        self.conn.send(message if isinstance(message, (str, bytes)) else json.dumps(message))
        reply: dict[str, Any] = json.loads(self.conn.recv(timeout=120))
        return reply

    def close(self) -> None:
        self.conn.close()
