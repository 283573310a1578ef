"""Evidence images and session records disappear after their retention (issue 15, acceptance 4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import analyze, end, running_app, start

pytestmark = pytest.mark.integration

RETENTION_S = 4.0


@pytest.fixture(scope="module")
def evidence_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evidence")


@pytest.fixture(scope="module")
def client(serve_port: int, evidence_dir: Path, fixtures_dir: Path) -> Iterator[httpx.Client]:
    with running_app(
        serve_port,
        session_shards=1,
        evidence_dir=str(evidence_dir),
        evidence_retention_days=RETENTION_S / 86400,
    ) as http:
        yield http


def test_evidence_and_records_go_after_the_retention(
    client: httpx.Client, fixture_bytes: dict[str, bytes], evidence_dir: Path
) -> None:
    sid = start(client, "short-retention", timestamp=0.0)
    events = []
    began = time.monotonic()
    for i in range(11):  # at the frames' own pace: the service runs sessions on its own clock
        time.sleep(max(0.0, began + i * 0.25 - time.monotonic()))
        events += analyze(client, sid, fixture_bytes["A03_two_faces_webcam.png"], ts=i * 0.25)[
            "event_details"
        ]
    assert [e["type"] for e in events] == ["MULTIPLE_FACES"]
    url = events[0]["evidence_url"]
    end(client, sid)
    ended = time.monotonic()

    assert client.get(f"/sessions/{sid}").json()["events"][0]["evidence_url"] == url
    assert client.get(url).status_code == 200
    assert list((evidence_dir / sid).glob("*.jpg"))

    time.sleep(max(0.0, RETENTION_S + 0.5 - (time.monotonic() - ended)))
    record = client.get(f"/sessions/{sid}")
    assert record.status_code == 404 and record.json()["code"] == "session_not_found"
    image = client.get(url)
    assert image.status_code == 404 and image.json()["code"] == "evidence_not_found"
    deadline = time.monotonic() + 10  # the service's periodic sweep deletes the files themselves
    while list(evidence_dir.rglob("*.jpg")) and time.monotonic() < deadline:
        client.get("/sessions/unknown/events/ev0001/evidence")  # any evidence call may start a sweep
        time.sleep(0.5)
    assert list(evidence_dir.rglob("*.jpg")) == []
