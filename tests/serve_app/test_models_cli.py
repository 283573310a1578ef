"""``python -m serve_app.models_cli``: fetch (download, verify, prepare) with defaults from Settings.

Downloads go to ``file://`` URLs (urllib's own scheme: the same code path as https, no network),
or to a closed local port for the offline case.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from integrity.core.checksums import sha256_of
from integrity.vision.yolo_weights import REPO_MANIFEST, read_manifest, release_url
from serve_app.models_cli import main
from tests.integrity.vision.objects_model import ONNX, WEIGHTS, exported_model_dir


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/yolo11n.pt"  # nothing listens there any more: refused at once


def test_the_default_model_has_an_official_pinned_download() -> None:
    assert (
        release_url("yolo11n.pt")
        == "https://github.com/ultralytics/assets/releases/download/v8.3.0/yolo11n.pt"
    )
    assert release_url("custom.pt") is None and release_url("yolo11n.onnx") is None
    assert len(next(iter(read_manifest(REPO_MANIFEST)["yolo11n.pt"]))) == 64


def test_fetch_downloads_verifies_and_prepares(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = exported_model_dir() / WEIGHTS
    target = tmp_path / "models"
    target.mkdir()
    # The cached export beside it: prepare finds it current by SHA-256 (the download has a new time).
    for name in (ONNX, f"{ONNX}.json"):
        shutil.copy2(exported_model_dir() / name, target / name)
    (target / "checksums.sha256").write_text(f"{sha256_of(source)}  {WEIGHTS}\n")
    code = main(["fetch", WEIGHTS, "--model-path", str(target), "--url", source.as_uri()])
    out = capsys.readouterr().out
    assert code == 0, out
    assert sha256_of(target / WEIGHTS) == sha256_of(source)
    assert "downloaded from file://" in out and "matches the pinned checksum" in out
    assert "cached ONNX export" in out and "checksum verified" in out


def test_fetch_removes_a_download_that_does_not_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "checksums.sha256").write_text(f"{'0' * 64}  {WEIGHTS}\n")
    source = exported_model_dir() / WEIGHTS
    code = main(["fetch", WEIGHTS, "--model-path", str(tmp_path), "--url", source.as_uri()])
    assert code == 1
    assert "does not match the pinned checksum; file removed" in capsys.readouterr().err
    assert not (tmp_path / WEIGHTS).exists()


def test_offline_fetch_is_optional_for_make_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = closed_port_url()
    assert main(["fetch", "yolo11n.pt", "--model-path", str(tmp_path), "--url", url]) == 1
    assert main(["fetch", "yolo11n.pt", "--model-path", str(tmp_path), "--url", url, "--optional"]) == 0
    err = capsys.readouterr().err
    assert f"could not download {url}" in err and "will run without object detection" in err
    assert list(tmp_path.iterdir()) == []  # no partial download left behind


def test_defaults_come_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """YOLO_MODEL and MODEL_PATH reach the command through Settings (the only reader of the environment)."""
    monkeypatch.setenv("MODEL_PATH", str(tmp_path))
    monkeypatch.setenv("YOLO_MODEL", "custom-model.onnx")
    assert main(["fetch", "--optional"]) == 0
    err = capsys.readouterr().err
    assert f"no YOLO weights at {tmp_path / 'custom-model.onnx'}" in err
    assert "no official download for custom-model.onnx" in err
