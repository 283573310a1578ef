"""Evidence, session records, reviews and the HTML report, on the service in process (its real app,
pipeline, models and sessions, without Ray) with the server's clock moved by the test.

Acceptance (issue 15): a session fed A01, then A03, then A07 lists MULTIPLE_FACES and NO_FACE in its
record after the end, each with a JPEG evidence image; a dismissed event shows as dismissed in the
record and the report; one session's evidence is never served to another session's token. The
``integrity analyze --url`` CLI runs against the same app served over real HTTP (uvicorn in a thread:
the CLI speaks urllib to a URL), its pacing on the test's clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from serve_app import cli
from serve_app.pipeline import Analyzers
from tests.api.conftest import FakeClock, local_client, local_server
from tests.integration.conftest import b64
from tests.serve_app.test_cli import still_clip

KEY = "k-records-0123456789"
API = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def evidence_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evidence")


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def client(
    analyzers: Analyzers, no_object_models: dict[str, Any], clock: FakeClock, evidence_dir: Path
) -> Iterator[httpx.Client]:
    with local_client(
        analyzers, clock=clock, **no_object_models, api_keys=KEY, evidence_dir=str(evidence_dir)
    ) as http:
        yield http


@pytest.fixture(scope="module")
def service_url(
    analyzers: Analyzers,
    no_object_models: dict[str, Any],
    clock: FakeClock,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The same app (its own sessions and evidence folder, the module's clock) over real HTTP, for a
    client that needs a URL."""
    evidence = str(tmp_path_factory.mktemp("cli-evidence"))
    with local_server(analyzers, clock=clock, **no_object_models, api_keys=KEY, evidence_dir=evidence) as url:
        yield url


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start(client: httpx.Client) -> tuple[str, str]:
    answer = client.post("/start-session", json={"candidate_id": "cand-15", "timestamp": 0.0}, headers=API)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["session_id"], body["session_token"]


class Pace:
    """Sends frames at their timestamps' pace on the server's clock (the test's: moved, not waited
    for), as a webcam would: the server's time then runs with the frames' own."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.start: float | None = None

    def wait(self, t: float) -> None:
        now = self.clock()
        if self.start is None:
            self.start = now - t
        self.clock.advance(max(0.0, self.start + t - now))


class ClockTime:
    """Stands in for the CLI's ``time`` module: its pacing (``monotonic``, ``sleep``) runs on the
    test's clock, which the service's sessions run on too; ``perf_counter`` stays the real one."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.perf_counter = time.perf_counter

    def monotonic(self) -> float:
        return self.clock()

    def sleep(self, seconds: float) -> None:
        self.clock.advance(max(0.0, seconds))


def feed(
    client: httpx.Client, sid: str, token: str, data: bytes, times: list[float], pace: Pace
) -> list[dict[str, Any]]:
    events = []
    for t in times:
        pace.wait(t)
        answer = client.post(
            "/analyze-frame",
            json={"session_id": sid, "frame": b64(data), "timestamp": t},
            headers=bearer(token),
        )
        assert answer.status_code == 200, answer.text
        events += answer.json()["event_details"]
    return events


def jpeg_size(data: bytes) -> tuple[int, int]:
    assert data[:3] == b"\xff\xd8\xff"
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image.shape[1], image.shape[0]


def steps(start: float, stop: float, step: float = 0.25) -> list[float]:
    return [round(start + i * step, 3) for i in range(round((stop - start) / step) + 1)]


def test_record_evidence_review_and_report(
    client: httpx.Client, clock: FakeClock, fixture_bytes: dict[str, bytes], evidence_dir: Path
) -> None:
    sid, token = start(client)
    pace = Pace(clock)
    raised = feed(client, sid, token, fixture_bytes["A01_frontal_webcam_man.png"], steps(0.0, 1.0), pace)
    raised += feed(client, sid, token, fixture_bytes["A03_two_faces_webcam.png"], steps(1.25, 3.5), pace)
    raised += feed(
        client, sid, token, fixture_bytes["A07_no_person_pen_on_paper.jpg"], steps(3.75, 6.5), pace
    )
    assert [e["type"] for e in raised] == ["MULTIPLE_FACES", "NO_FACE"]
    assert [e["id"] for e in raised] == ["ev0001", "ev0002"]
    assert all(e["evidence_url"] == f"/sessions/{sid}/events/{e['id']}/evidence" for e in raised)

    # the candidate's browser may see its own evidence; another session's token may not
    own = client.get(raised[0]["evidence_url"], headers=bearer(token))
    assert own.status_code == 200 and own.headers["content-type"] == "image/jpeg"
    assert jpeg_size(own.content) == (480, 270)
    other_sid, other_token = start(client)
    for url in (e["evidence_url"] for e in raised):
        refused = client.get(url, headers=bearer(other_token))
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert client.get(raised[0]["evidence_url"]).status_code == 401
    assert client.get(f"/sessions/{sid}", headers=bearer(token)).status_code == 403  # tokens cannot read
    assert client.post("/end-session", json={"session_id": other_sid}, headers=API).status_code == 200

    ended = client.post("/end-session", json={"session_id": sid}, headers=API)
    assert ended.status_code == 200 and ended.json()["verdict"] == "SUSPICIOUS"  # 25 + 20

    record = client.get(f"/sessions/{sid}", headers=API)
    assert record.status_code == 200, record.text
    body = record.json()
    assert body["status"] == "ended" and body["verdict"] == "SUSPICIOUS" and body["reviewed_verdict"] is None
    assert [e["type"] for e in body["events"]] == ["MULTIPLE_FACES", "NO_FACE"]
    assert body["event_counts"] == {"MULTIPLE_FACES": 1, "NO_FACE": 1}
    assert body["models"]["face"]["available"] is True and "objects" in body["models"]
    peak = max(p["risk"] for p in body["risk_timeline"])
    assert len(body["risk_timeline"]) >= 6 and peak == pytest.approx(body["peak_risk_score"], abs=0.01)
    for event in body["events"]:
        assert event["evidence"]["held_s"] >= event["evidence"]["min_duration_s"]
        image = client.get(event["evidence_url"], headers=API)
        assert image.status_code == 200
        jpeg_size(image.content)
    assert sorted(p.name for p in (evidence_dir / sid).iterdir()) == ["ev0001.jpg", "ev0002.jpg"]

    # a reviewer dismisses the second face (say, a poster) and confirms the empty desk
    review = client.post(
        f"/sessions/{sid}/events/ev0001/review",
        json={"decision": "dismissed", "note": "a poster of a face on the wall"},
        headers=API,
    )
    assert review.status_code == 200, review.text
    assert review.json()["reviewed_verdict"] == "CLEAN" and review.json()["verdict"] == "SUSPICIOUS"
    confirm = client.post(
        f"/sessions/{sid}/events/ev0002/review", json={"decision": "confirmed"}, headers=API
    )
    assert confirm.status_code == 200
    assert (
        client.post(
            f"/sessions/{sid}/events/ev0001/review", json={"decision": "dismissed"}, headers=bearer(token)
        ).status_code
        == 403
    )
    missing = client.post(
        f"/sessions/{sid}/events/ev0099/review", json={"decision": "dismissed"}, headers=API
    )
    assert missing.status_code == 404 and missing.json()["code"] == "event_not_found"
    invalid = client.post(f"/sessions/{sid}/events/ev0001/review", json={"decision": "maybe"}, headers=API)
    assert invalid.status_code == 422

    body = client.get(f"/sessions/{sid}", headers=API).json()
    assert body["verdict"] == "SUSPICIOUS" and body["reviewed_verdict"] == "CLEAN"
    decisions = {e["id"]: e["review"]["decision"] for e in body["events"]}
    assert decisions == {"ev0001": "dismissed", "ev0002": "confirmed"}
    assert body["reviews"]["ev0001"]["note"] == "a poster of a face on the wall"

    report = client.get(f"/sessions/{sid}/report", headers=API)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in report.headers["content-security-policy"]
    page = report.text
    assert page.count("data:image/jpeg;base64,") == 2 and "<svg" in page
    assert 'class="event dismissed" id="event-ev0001"' in page and "DISMISSED" in page
    assert "a poster of a face on the wall" in page and "CONFIRMED" in page
    assert client.get(f"/sessions/{sid}/report", headers=bearer(token)).status_code == 403

    unknown = client.get("/sessions/no-such-session", headers=API)
    assert unknown.status_code == 404 and unknown.json()["code"] == "session_not_found"
    gone = client.get(f"/sessions/{sid}/events/ev0042/evidence", headers=API)
    assert gone.status_code == 404 and gone.json()["code"] == "evidence_not_found"


def test_the_record_of_an_open_session_is_live(
    client: httpx.Client, clock: FakeClock, fixture_bytes: dict[str, bytes]
) -> None:
    sid, token = start(client)
    feed(client, sid, token, fixture_bytes["A01_frontal_webcam_man.png"], steps(0.0, 0.5), Pace(clock))
    body = client.get(f"/sessions/{sid}", headers=API).json()
    assert body["status"] == "active" and body["frames_analyzed"] == 3 and body["events"] == []
    assert client.post("/end-session", json={"session_id": sid}, headers=API).status_code == 200


def test_cli_against_the_running_service(
    service_url: str,
    clock: FakeClock,
    fixture_bytes: dict[str, bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "time", ClockTime(clock))  # the CLI paces the clip's 3 s on the clock
    clip = still_clip(tmp_path / "two_faces.mp4", fixture_bytes["A03_two_faces_webcam.png"])
    out = tmp_path / "out"
    code = cli.main(
        [
            "analyze",
            str(clip),
            "--url",
            service_url,
            "--api-key",
            KEY,
            "--json",
            str(out / "r.json"),
            "--report",
            str(out / "r.html"),
            "--quiet",
        ]
    )
    assert code == 0
    assert "two_faces.mp4: CLEAN" in capsys.readouterr().out  # one critical event: 25 < 30
    body = json.loads((out / "r.json").read_text())
    assert [e["type"] for e in body["events"]] == ["MULTIPLE_FACES"]
    assert body["events"][0]["evidence_url"].startswith(service_url.rstrip("/") + "/sessions/")
    assert body["source"]["frames"] == 30
    assert "data:image/jpeg;base64," in (out / "r.html").read_text()
