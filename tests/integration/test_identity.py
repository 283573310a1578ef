"""The same candidate all session (issue 24), through the real Serve app with its sessions in a real
redis-server, replayed on the frames' own timestamps (trusted replay: each frame waits for the
identity check in flight, as live).

The enrolment takes the first usable checks; then a check every 2 s of stream time, at once when
the face comes back or jumps. A01 and A02 are two different men (MANIFEST); the honest webcam clip
is one man talking, leaning in and back, touching his face for 53 s (nothing may be flagged).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest
import redis
from threadpoolctl import threadpool_limits

from integrity.core.paths import POLICY_CONFIG, dlib_models_dir
from integrity.vision.face import FaceAnalyzer
from integrity.vision.identity import FaceDescriber, IdentityConfig
from integrity.vision.video import frames as video_frames
from serve_app.spec import AppSpec
from tests.conftest import RedisServer
from tests.integration.conftest import analyze, end, running_app, start

pytestmark = [pytest.mark.integration, pytest.mark.redis]

FPS = 5.0
HONEST_CLIP = "A_video_webcam_honest_talk_lean_hand_on_face.mp4"


@pytest.fixture(scope="module")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of configs/policy.yaml the running service reads (a test edits it)."""
    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(POLICY_CONFIG.read_text())
    return path


@pytest.fixture(scope="module")
def client(serve_port: int, redis_url: str, policy_file: Path) -> Iterator[httpx.Client]:
    args = {"policy_config": policy_file}
    with running_app(serve_port, app_args=args, use_redis=True, redis_url=redis_url) as http:
        yield http


def replay(client: httpx.Client, name: str, frames: list[tuple[float, bytes]]) -> dict[str, Any]:
    session_id = start(client, name, timestamp=0.0)
    answers = [analyze(client, session_id, data, ts=t) for t, data in frames]
    return {"id": session_id, "answers": answers}


def raised(answers: list[dict[str, Any]], kind: str = "IDENTITY_CHANGED") -> list[dict[str, Any]]:
    return [e for a in answers for e in a["event_details"] if e["type"] == kind]


def steady(data: bytes, start_s: float, seconds: float) -> list[tuple[float, bytes]]:
    return [(start_s + i / FPS, data) for i in range(round(seconds * FPS))]


@pytest.fixture(scope="module")
def a01_descriptor(fixtures_dir: Path) -> list[float]:
    """A01's descriptor as the service computes it (same frame, same box, same model)."""
    spec = AppSpec.from_args()
    face = FaceAnalyzer(*spec.face_models)
    face.load()
    data = (fixtures_dir / "A01_frontal_webcam_man.png").read_bytes()
    found = face.analyze(data)
    assert found.primary is not None
    # One BLAS thread, as in the replica: another thread count sums in another order, and the
    # marks below are the descriptor's exact digits.
    with threadpool_limits(limits=1, user_api="blas"):
        described = FaceDescriber(dlib_models_dir(), IdentityConfig.load()).describe_frame(
            data, found.faces[found.primary].box
        )
    assert described.usable and described.descriptor is not None
    return described.descriptor


def test_a_different_man_sitting_down_is_one_identity_changed_within_3_s(
    client: httpx.Client, fixture_bytes: dict[str, bytes], redis_url: str, a01_descriptor: list[float]
) -> None:
    frames = steady(fixture_bytes["A01_frontal_webcam_man.png"], 0.0, 10.0)
    frames += steady(fixture_bytes["A02_frontal_portrait_man.png"], 10.0, 10.0)
    run = replay(client, "swap", frames)
    changed = raised(run["answers"])
    assert len(changed) == 1, changed
    event = changed[0]
    assert 10.0 <= event["timestamp"] <= 13.0 and event["severity"] == "critical"
    evidence = event["evidence"]
    assert evidence["distance"] >= evidence["different_from"] > evidence["threshold"]
    image = client.get(event["evidence_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"

    # While the session is open its enrolment is in the session store, and only there...
    store = redis.Redis.from_url(redis_url)
    raw = stored_text(store, f"iis:session:{run['id']}") or "{}"
    stored = json.loads(raw)
    assert len(stored["identity"]["enrolled"]) == 128
    marks = descriptor_marks(a01_descriptor)
    assert sum(m in raw for m in marks) >= 64  # the marks find a descriptor where there is one
    ended = end(client, run["id"])
    summary = ended["summary"]
    assert summary["event_counts"].get("IDENTITY_CHANGED") == 1, summary["event_counts"]
    assert summary["identity"]["enrolled"] and summary["identity"]["different"] >= 2
    # ...and it is deleted with the session: no state left, the kept record has none.
    assert store.get(f"iis:session:{run['id']}") is None
    record = stored_text(store, f"iis:record:{run['id']}")
    assert record is not None and "enrolled_at" in record

    # No descriptor in any answer, the record, the report or the service's logs.
    texts = {
        "answers": json.dumps(run["answers"]),
        "end": json.dumps(ended),
        "record": client.get(f"/sessions/{run['id']}").text + record,
        "report": client.get(f"/sessions/{run['id']}/report").text,
        "logs": ray_logs(),
    }
    for where, text in texts.items():
        found = [m for m in marks if m in text]
        assert not found, f"descriptor values in the {where}: {found[:3]}"
        assert '"descriptor"' not in text and "'descriptor'" not in text, where


def test_one_man_talking_leaning_and_touching_his_face_for_53_s_raises_none(
    client: httpx.Client, fixtures_dir: Path
) -> None:
    frames = [
        (t, _jpeg(f)) for t, f in video_frames(fixtures_dir / HONEST_CLIP, stride=5)
    ]  # 25 fps clip: 5 fps
    run = replay(client, "honest", frames)
    assert raised(run["answers"]) == []
    summary = end(client, run["id"])["summary"]
    identity = summary["identity"]
    assert identity["enrolled"] and identity["different"] == 0, identity
    assert identity["same"] >= 10, identity  # checked all along, not only enrolled


def test_the_candidate_stepping_away_and_coming_back_raises_no_identity_change(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    a01 = fixture_bytes["A01_frontal_webcam_man.png"]
    frames = steady(a01, 0.0, 6.0) + steady(fixture_bytes["A07_no_person_pen_on_paper.jpg"], 6.0, 4.0)
    frames += steady(a01, 10.0, 6.0)
    run = replay(client, "away", frames)
    assert raised(run["answers"]) == []
    assert len(raised(run["answers"], "NO_FACE")) == 1  # the absence itself is reported, as before
    back = [a for a in run["answers"] if 10.0 <= a["timestamp"] < 10.5]
    identity = end(client, run["id"])["summary"]["identity"]
    assert identity["different"] == 0 and identity["same"] >= 2, identity
    assert back  # frames after the return were answered (and checked at once: same >= 2)


def stored_text(store: redis.Redis, key: str) -> str | None:
    value = store.get(key)
    return value.decode() if isinstance(value, bytes) else value


def test_policies_change_on_the_running_service_and_refuse_unknown_keys(
    client: httpx.Client, policy_file: Path
) -> None:
    """Issue 24: a policy change needs no restart (the file is read again when it changes); a
    running session keeps the policy it started under."""
    before = client.post("/start-session", json={"candidate_id": "p1"}).json()
    assert before["policy"]["profile"] == "standard" and before["policy"]["stakes"] == "standard"
    text = policy_file.read_text()
    policy_file.write_text(text.replace("default_profile: standard", "default_profile: final_round"))
    deadline = time.monotonic() + 10
    while True:
        after = client.post("/start-session", json={"candidate_id": "p2"}).json()
        if after["policy"]["profile"] == "final_round" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    policy_file.write_text(text)
    assert after["policy"]["profile"] == "final_round" and after["policy"]["stakes"] == "high"
    kept = end(client, before["session_id"])["summary"]["policy"]
    assert kept == before["policy"]  # judged under what it started with
    end(client, after["session_id"])
    typo = client.post("/start-session", json={"candidate_id": "p3", "policy": {"typo": 1}})
    assert typo.status_code == 422 and typo.json()["code"] == "validation_error", typo.text


def _jpeg(image: Any) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


def descriptor_marks(descriptor: list[float]) -> list[str]:
    """Text a leaked descriptor would leave: each value as Python or JSON prints it (its first
    10 characters: long enough that no other number matches by chance), and 8-decimal roundings."""
    marks = {repr(v)[:10] for v in descriptor if abs(v) >= 1e-3} | {f"{v:.8f}" for v in descriptor}
    return sorted(marks)


def ray_logs() -> str:
    """This Ray session's logs (every replica's and actor's)."""
    import ray

    node = ray._private.worker._global_node
    assert node is not None, "Ray is not initialised"
    folder = Path(node.get_logs_dir_path())
    texts = []
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in {".log", ".out", ".err"}:
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)
