"""The pytest side of the multi-node tests: start ``tests/cluster/driver.py`` (a cluster of Ray nodes
on this machine with the application on it), ask it where the replicas are, tell it to kill a node,
and stream frames at the application as clients do (REST and WebSocket), timing every answer."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.cluster.driver import MARK
from tests.conftest import REPO, free_port
from tests.integration.conftest import b64

Placement = dict[str, Any]


class ClusterApp:
    """A running driver: ``url`` serves the application; ``command`` talks to the driver."""

    def __init__(self, proc: subprocess.Popen[str], port: int, log: Path) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.log = log
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.lock = threading.Lock()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARK):
                self._answers.put(json.loads(line[len(MARK) :]))
        self._answers.put({"error": f"the driver exited ({self.proc.wait()}); see {self.log}"})

    def answer(self, timeout: float) -> dict[str, Any]:
        try:
            reply = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"the cluster driver did not answer in {timeout:.0f} s; see {self.log}"
            ) from None
        if "error" in reply:
            raise AssertionError(f"cluster driver: {reply['error']}\n{reply.get('trace', self.tail())}")
        return reply

    def command(self, cmd: str, timeout: float = 60, **args: Any) -> dict[str, Any]:
        with self.lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
            self.proc.stdin.flush()
            return self.answer(timeout)

    def placement(self) -> Placement:
        return self.command("placement")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def cluster_app(
    tmp_path: Path,
    *,
    head: dict[str, Any],
    workers: list[dict[str, Any]],
    app_args: dict[str, Any],
    env: dict[str, str] | None = None,
    system_config: dict[str, Any] | None = None,
    start_timeout: float = 240,
) -> Iterator[tuple[ClusterApp, dict[str, Any]]]:
    """Start the cluster and deploy; yield the running driver and its ``ready`` answer."""
    port = free_port()
    # Ray's socket paths live under the temp dir and must stay under ~107 bytes: a short one.
    config = {
        "temp_dir": f"/tmp/rc-{secrets.token_hex(4)}",
        "port": port,
        "head": head,
        "workers": workers,
        "app_args": app_args,
        "env": env or {},
        "system_config": system_config or {},
    }
    config_path = tmp_path / "cluster.json"
    config_path.write_text(json.dumps(config))
    log = tmp_path / "driver.log"
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.cluster.driver", str(config_path)],
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            start_new_session=True,  # the cluster's processes in one group: nothing outlives the test
        )
        app = ClusterApp(proc, port, log)
        try:
            ready = app.answer(start_timeout)
            wait_routed(app.url)
            yield app, ready
        finally:
            stop(app)


def wait_routed(url: str, timeout: float = 60) -> None:
    """Until Serve's proxy routes to the application (a page that touches no session shard: the
    shards are created by the first call that needs them)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/docs", timeout=10).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} does not route to the application"
        time.sleep(0.5)


def stop(app: ClusterApp) -> None:
    proc = app.proc
    if proc.poll() is None:
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            proc.stdin.flush()
            proc.wait(timeout=45)
        except (OSError, subprocess.TimeoutExpired):
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group (the driver's nodes)
    proc.wait()


def replicas_on(placement: Placement, deployment: str, state: str = "RUNNING") -> list[str]:
    """The nodes of ``deployment``'s replicas in ``state`` (one entry per replica)."""
    return sorted(r["node"] for r in placement["replicas"].get(deployment, []) if r["state"] == state)


def wait_for(
    app: ClusterApp, done: Any, timeout: float, what: str, interval: float = 0.5
) -> tuple[float, Placement]:
    """Poll the placement until ``done(placement)``; the seconds it took and the placement."""
    began = time.monotonic()
    while True:
        placement = app.placement()
        if done(placement):
            return time.monotonic() - began, placement
        assert time.monotonic() - began < timeout, f"{what}: not within {timeout:.0f} s; last {placement}"
        time.sleep(interval)


# -- clients ------------------------------------------------------------------------------------


@dataclass
class Answer:
    sent_at: float  # time.monotonic() when the frame went out
    seconds: float
    status: int  # HTTP status, the status of a WebSocket error message, or -1: no answer (the reason in code)
    code: str | None = None
    retry_after: float | None = None
    events: list[str] = field(default_factory=list)


class Stream:
    """One session streaming frames over REST or a WebSocket, as a client that honours Retry-After:
    every answer is kept; a WebSocket that drops is reconnected and the session resumed."""

    def __init__(
        self,
        url: str,
        transport: str,
        frames: list[bytes],
        *,
        pace_s: float = 0.0,
        timeout_s: float = 30.0,
        candidate: str = "cluster",
    ) -> None:
        self.url = url
        self.transport = transport
        self.frames = [b64(f) for f in frames]
        self.binary = frames
        self.pace_s = pace_s
        self.timeout_s = timeout_s
        self.answers: list[Answer] = []
        self.resumes = 0
        self.http = httpx.Client(base_url=url, timeout=timeout_s)
        self.ws: ClientConnection | None = None
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.sent = 0
        if transport == "ws":
            self._connect()
            reply = self._ws_call({"action": "start", "candidate_id": candidate})
            assert reply["type"] == "session_started", reply
            self.session_id: str = reply["session_id"]
        else:
            response = self.http.post("/start-session", json={"candidate_id": candidate})
            assert response.status_code == 200, response.text
            self.session_id = response.json()["session_id"]

    # -- transport ------------------------------------------------------------------------------
    def _connect(self) -> None:
        ws_url = self.url.replace("http://", "ws://") + "/ws/stream"
        self.ws = connect(ws_url, open_timeout=self.timeout_s, max_size=None)

    def _ws_call(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.ws is not None
        self.ws.send(json.dumps(message))
        reply: dict[str, Any] = json.loads(self.ws.recv(timeout=self.timeout_s))
        return reply

    def _resume(self) -> None:
        if self.ws is not None:
            self.ws.close()
        self._connect()
        reply = self._ws_call({"action": "resume", "session_id": self.session_id})
        assert reply["type"] == "session_resumed", reply
        self.resumes += 1

    def send_one(self, index: int) -> Answer:
        frame = self.frames[index % len(self.frames)]
        ts = index * 0.5  # trusted replay time (UNLIMITED): the session's clock moves 0.5 s a frame
        began = time.monotonic()
        try:
            if self.transport == "ws":
                try:
                    reply = self._ws_call({"action": "frame", "frame": frame, "timestamp": ts})
                except ConnectionClosed:
                    self._resume()  # the same session, on a new connection
                    reply = self._ws_call({"action": "frame", "frame": frame, "timestamp": ts})
                took = time.monotonic() - began
                if reply["type"] == "analysis":
                    return Answer(began, took, 200, events=list(reply["events"]))
                return Answer(
                    began, took, int(reply.get("status", -1)), reply.get("code"), reply.get("retry_after")
                )
            response = self.http.post(
                "/analyze-frame", json={"session_id": self.session_id, "frame": frame, "timestamp": ts}
            )
            took = time.monotonic() - began
            if response.status_code == 200:
                return Answer(began, took, 200, events=list(response.json()["events"]))
            retry = response.headers.get("retry-after")
            try:
                code = response.json().get("code")
            except ValueError:
                code = response.text[:200]
            return Answer(began, took, response.status_code, code, float(retry) if retry else None)
        except Exception as exc:  # a timeout or a broken connection: no answer, which the tests refuse
            return Answer(began, time.monotonic() - began, -1, f"{type(exc).__name__}: {exc}")

    def end(self) -> dict[str, Any]:
        if self.transport == "ws":
            try:
                reply = self._ws_call({"action": "end"})
            except ConnectionClosed:
                self._resume()
                reply = self._ws_call({"action": "end"})
            assert reply["type"] == "session_ended", reply
            summary: dict[str, Any] = reply["summary"]
        else:
            response = self.http.post("/end-session", json={"session_id": self.session_id})
            assert response.status_code == 200, response.text
            summary = response.json()["summary"]
        return summary

    def close(self) -> None:
        self.stop()
        if self.ws is not None:
            self.ws.close()
        self.http.close()

    # -- the loop -------------------------------------------------------------------------------
    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=self.timeout_s + 10)
            self.thread = None

    def _loop(self) -> None:
        try:
            while not self.stopping.is_set():
                answer = self.send_one(self.sent)
                self.sent += 1
                self.answers.append(answer)
                if answer.status == 200:
                    if self.pace_s:
                        time.sleep(self.pace_s)
                elif answer.status == -1:
                    time.sleep(0.5)
                else:  # a refusal: as the clients do, after Retry-After (shortened: the test is timed)
                    time.sleep(min(answer.retry_after or 1.0, 1.0))
        except BaseException as exc:
            self.error = exc

    # -- what it saw ------------------------------------------------------------------------------
    def served(self, after: float = 0.0) -> list[Answer]:
        return [a for a in self.answers if a.status == 200 and a.sent_at >= after]

    def events(self) -> Counter[str]:
        return Counter(e for a in self.answers if a.status == 200 for e in a.events)
