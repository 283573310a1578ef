"""Locust load test: each user is a candidate who starts a session, streams frames at a set rate
and ends it.

    pip install locust
    locust -f tests/load_test.py --host http://127.0.0.1:8000            # web UI on :8089
    locust -f tests/load_test.py --host http://127.0.0.1:8000 --headless -u 20 -r 2 -t 2m
    LOAD_FPS=2 LOAD_FRAMES=120 API_KEY=... locust -f tests/load_test.py --host https://...

Frames are real: the shared fixture clips, decoded and re-encoded as 640x480 JPEGs (the same set
benchmarks/load.py uses). 429/503 refusals are counted as such (Locust marks them failed, with
the status in the name), not retried. pytest does not collect this file (it is not a test module).
"""

from __future__ import annotations

import base64
import os
import sys
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, constant, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.load import clip_frames

FPS = float(os.environ.get("LOAD_FPS", "1"))
FRAMES_PER_SESSION = int(os.environ.get("LOAD_FRAMES", "60"))
API_KEY = os.environ.get("API_KEY")
FRAMES: list[str] = []


@events.init.add_listener
def _load_frames(environment: Any, **_: Any) -> None:
    FRAMES.extend(base64.b64encode(f).decode() for f in clip_frames(40))


class Candidate(HttpUser):
    """One interview: start, FRAMES_PER_SESSION frames at FPS (paced on the wall clock), end."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.key_headers = {"X-API-Key": API_KEY} if API_KEY else {}

    @task
    def interview(self) -> None:
        started = self.client.post(
            "/start-session", json={"candidate_id": "locust"}, headers=self.key_headers, name="/start-session"
        )
        if started.status_code != 200:
            return
        body = started.json()
        token = {"Authorization": f"Bearer {body['session_token']}"}
        origin = time.perf_counter()
        for i in range(FRAMES_PER_SESSION):
            with self.client.post(
                "/analyze-frame",
                json={
                    "session_id": body["session_id"],
                    "frame": FRAMES[i % len(FRAMES)],
                    "timestamp": i / FPS,
                },
                headers=token,
                name="/analyze-frame",
                catch_response=True,
            ) as response:
                if response.status_code in (429, 503):
                    response.failure(f"refused {response.status_code}")
            delay = origin + (i + 1) / FPS - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        self.client.post(
            "/end-session",
            json={"session_id": body["session_id"]},
            headers=self.key_headers,
            name="/end-session",
        )
