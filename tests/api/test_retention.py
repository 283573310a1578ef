"""Evidence images and session records disappear after their retention (issue 15, acceptance 4), on
the service in process with the server's clock moved by the test instead of waited for.

The records and the evidence store both judge age on the server's clock; an image's age is the time
its file was written as the filesystem stamps it (the wall clock), so the test's clock is brought up
to the wall clock before the session ends. The periodic sweep that deletes the files is paced on the
real monotonic clock (at most once a second here), so the last check may wait for it in real time
(under a second: an image past its retention is also deleted when it is asked for).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from serve_app.pipeline import Analyzers
from tests.api.conftest import FakeClock, local_client
from tests.integration.conftest import analyze, end, start

RETENTION_S = 4.0


@pytest.fixture(scope="module")
def evidence_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evidence")


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def client(
    analyzers: Analyzers, no_object_models: dict[str, Any], clock: FakeClock, evidence_dir: Path
) -> Iterator[TestClient]:
    with local_client(
        analyzers,
        clock=clock,
        **no_object_models,
        evidence_dir=str(evidence_dir),
        evidence_retention_days=RETENTION_S / 86400,
    ) as http:
        yield http


def catch_up(clock: FakeClock) -> None:
    """Bring the test's clock up to the wall clock, which stamped the evidence files."""
    clock.advance(max(0.0, time.time() - clock()))


def test_evidence_and_records_go_after_the_retention(
    client: httpx.Client, clock: FakeClock, fixture_bytes: dict[str, bytes], evidence_dir: Path
) -> None:
    sid = start(client, "short-retention", timestamp=0.0)
    events = []
    for i in range(11):  # at the frames' own pace on the server's clock
        if i:
            clock.advance(0.25)
        events += analyze(client, sid, fixture_bytes["A03_two_faces_webcam.png"], ts=i * 0.25)[
            "event_details"
        ]
    assert [e["type"] for e in events] == ["MULTIPLE_FACES"]
    url = events[0]["evidence_url"]
    catch_up(clock)  # from here on every file is no younger on the server's clock than it is
    end(client, sid)

    assert client.get(f"/sessions/{sid}").json()["events"][0]["evidence_url"] == url
    assert client.get(url).status_code == 200
    assert list((evidence_dir / sid).glob("*.jpg"))

    clock.advance(RETENTION_S - 0.5)  # not yet: the record is kept for the whole retention
    assert client.get(f"/sessions/{sid}").status_code == 200

    clock.advance(1.0)
    record = client.get(f"/sessions/{sid}")
    assert record.status_code == 404 and record.json()["code"] == "session_not_found"
    image = client.get(url)
    assert image.status_code == 404 and image.json()["code"] == "evidence_not_found"
    deadline = time.monotonic() + 10  # the service's periodic sweep deletes the files themselves
    while list(evidence_dir.rglob("*.jpg")) and time.monotonic() < deadline:
        client.get("/sessions/unknown/events/ev0001/evidence")  # any evidence call may start a sweep
        time.sleep(0.1)
    assert list(evidence_dir.rglob("*.jpg")) == []
