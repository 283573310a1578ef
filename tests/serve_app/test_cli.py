"""`integrity analyze`: the fixture clip in process (issue 15, acceptance 3), a folder of short
recordings one by one and spread over Ray."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from integrity.vision.video import frames_at, sampled_count, video_info
from serve_app.cli import main

CLIP = "A_video_gaze_center_left_center.mp4"


def still_clip(path: Path, image: bytes, seconds: float = 3.0, fps: int = 10) -> Path:
    """An mp4 showing one photo for ``seconds``."""
    frame = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert frame is not None
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0])
    )
    for _ in range(int(seconds * fps)):
        writer.write(frame)
    writer.release()
    return path


def test_frames_are_sampled_at_the_asked_rate(fixtures_dir: Path) -> None:
    info = video_info(fixtures_dir / CLIP)
    times = [t for t, _ in frames_at(fixtures_dir / CLIP, 10)]
    assert abs(len(times) - sampled_count(info, 10)) <= 2
    gaps = np.diff(times)
    assert gaps.min() > 0.07 and gaps.max() < 0.13  # ~0.1 s at 24 fps


def test_analyze_the_gaze_clip(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json, out_html = tmp_path / "gaze.json", tmp_path / "gaze.html"
    code = main(["analyze", str(fixtures_dir / CLIP), "--report", str(out_html), "--json", str(out_json)])
    assert code == 0
    captured = capsys.readouterr()
    assert f"{CLIP}: CLEAN (peak risk 15.0; EYES_OFF_SCREEN x1)" in captured.out
    assert "153/153" in captured.err and "frame/s" in captured.err  # the progress bar, with its rate

    body = json.loads(out_json.read_text())
    off = [e for e in body["events"] if e["type"] == "EYES_OFF_SCREEN"]
    assert len(off) == 1 and 5.8 <= off[0]["timestamp"] <= 10.3  # MANIFEST: eyes left 5.8-10.3 s
    assert body["status"] == "ended" and body["verdict"] == "CLEAN"
    assert body["source"]["fps"] == 10 and body["source"]["frames"] == 153
    image = tmp_path / off[0]["evidence_url"]
    assert (
        image == tmp_path / "gaze.evidence" / f"{off[0]['id']}.jpg" and image.read_bytes()[:2] == b"\xff\xd8"
    )
    page = out_html.read_text()
    assert "<svg" in page and page.count("data:image/jpeg;base64,") == 1 and "EYES_OFF_SCREEN" in page


@pytest.fixture
def folder(fixture_bytes: dict[str, bytes], tmp_path: Path) -> Path:
    videos = tmp_path / "videos"
    videos.mkdir()
    still_clip(videos / "one_face.mp4", fixture_bytes["A01_frontal_webcam_man.png"])
    still_clip(videos / "two_faces.mp4", fixture_bytes["A03_two_faces_webcam.png"])
    (videos / "notes.txt").write_text("not a recording")
    return videos


def check_folder_outputs(out: Path, printed: str) -> None:
    assert "one_face.mp4: CLEAN (peak risk 0.0; no events)" in printed
    assert "two_faces.mp4: CLEAN (peak risk 25.0; MULTIPLE_FACES x1)" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "one_face.html",
        "one_face.json",
        "two_faces.evidence",
        "two_faces.html",
        "two_faces.json",
    ]
    two = json.loads((out / "two_faces.json").read_text())
    assert [e["type"] for e in two["events"]] == ["MULTIPLE_FACES"]
    assert (out / two["events"][0]["evidence_url"]).is_file()


def test_analyze_a_folder_one_by_one(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["analyze", str(folder), "--report", str(out), "--json", str(out), "--quiet"]) == 0
    check_folder_outputs(out, capsys.readouterr().out)


@pytest.mark.integration
def test_analyze_a_folder_over_ray(
    ray_session: None, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["analyze", str(folder), "--report", str(out), "--json", str(out), "--address", "auto"])
    assert code == 0
    captured = capsys.readouterr()
    check_folder_outputs(out, captured.out)
    assert "2/2" in captured.err  # one bar over the recordings


def test_nothing_to_analyze(tmp_path: Path) -> None:
    assert main(["analyze", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        main(["analyze", str(tmp_path / "missing.mp4")])


def test_key_id_names_a_key_as_the_service_does(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """configs/policy.yaml's api_keys are keyed by this id: it must be the one the service computes."""
    from serve_app.api.auth import Authenticator
    from serve_app.tokens import SessionTokens

    monkeypatch.setattr("sys.stdin", io.StringIO("k-123456\n"))
    assert main(["key-id"]) == 0
    printed = capsys.readouterr().out.strip()
    caller = Authenticator(("other", "k-123456"), SessionTokens(b"s" * 32, 60.0)).identify("k-123456", None)
    assert printed == caller.key_id and "k-123456" not in printed
