"""Objects deployment without weights: it must say it did not look, never "no phone"."""

from __future__ import annotations

from pathlib import Path

from deployments.objects import ObjectDetector, resolve_weights


def test_weights_resolve_under_model_path_or_as_a_path(tmp_path: Path) -> None:
    assert resolve_weights(tmp_path, "yolo11n.pt") == tmp_path / "yolo11n.pt"
    assert resolve_weights(tmp_path, "/opt/w/yolo.pt") == Path("/opt/w/yolo.pt")
    assert resolve_weights(tmp_path, "sub/yolo.pt") == Path("sub/yolo.pt")


def test_missing_weights_are_reported_unavailable(tmp_path: Path) -> None:
    detector = ObjectDetector(tmp_path, "yolo11n.pt", 0.25)
    detector.load()
    assert not detector.status.available
    assert str(tmp_path / "yolo11n.pt") in (detector.status.detail or "")
    result = detector.analyze(b"\xff\xd8 any frame")
    assert not result.status.available
    assert result.objects == []
