"""Objects deployment on a real YOLO11n exported to ONNX (random weights, see objects_model.py).

Without weights it must say it did not look, never "no phone"; with them, the whole path (load,
export, cache, inference, decoding, NMS, mapping) runs for real, without torch or torchvision.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from deployments.objects import ObjectDeployment
from integrity.core.checksums import sha256_of
from integrity.core.enums import EventType
from integrity.core.results import ObjectAnalysis
from integrity.vision.object_mapping import ObjectsConfig
from integrity.vision.objects import ObjectAnalyzer, resolve_weights
from integrity.vision.yolo_weights import cached_onnx_is_current, prepare_model
from serve_app.settings import REPO_ROOT
from tests.integrity.vision.objects_model import ONNX, WEIGHTS, copy_model_dir, exported_model_dir

PHONE_EVENTS = {EventType.PHONE_DETECTED, EventType.PHONE_PARTIAL_DETECTED}


@pytest.fixture(scope="module")
def detector() -> ObjectAnalyzer:
    found = ObjectAnalyzer(exported_model_dir(), WEIGHTS, 0.25)
    found.load()
    assert found.status.available, found.status.detail
    return found


def deployment_class() -> Any:
    """The plain class behind the Serve deployment (``@serve.deployment`` hides it from mypy)."""
    wrapped: Any = ObjectDeployment
    return wrapped.func_or_class


# -- without weights ------------------------------------------------------------------------------------
def test_weights_resolve_under_model_path_or_as_a_path(tmp_path: Path) -> None:
    assert resolve_weights(tmp_path, "yolo11n.pt") == tmp_path / "yolo11n.pt"
    assert resolve_weights(tmp_path, "/opt/w/yolo.pt") == Path("/opt/w/yolo.pt")
    assert resolve_weights(tmp_path, "sub/yolo.pt") == Path("sub/yolo.pt")


def test_missing_weights_are_reported_unavailable(tmp_path: Path) -> None:
    detector = ObjectAnalyzer(tmp_path, "yolo11n.pt", 0.25)
    detector.load()
    assert not detector.status.available
    detail = detector.status.detail or ""
    assert detail.startswith("no YOLO weights") and str(tmp_path / "yolo11n.pt") in detail
    assert "make models" in detail  # the official weights have a download
    assert detector.status.file == str(tmp_path / "yolo11n.pt") and detector.status.runtime == "onnxruntime"
    result = detector.analyze(b"\xff\xd8 any frame")
    assert not result.status.available and result.status == detector.status
    assert result.objects == []


def test_deployment_without_weights_answers_unavailable(tmp_path: Path) -> None:
    deployment = deployment_class()(tmp_path, "yolo11n.pt", 0.25, ObjectsConfig())
    assert not deployment.status().available
    result = asyncio.run(deployment.analyze(b"frame"))
    assert not result.status.available and result.objects == []


# -- export and cache -----------------------------------------------------------------------------------
def test_export_is_cached_beside_the_weights_with_its_source_recorded() -> None:
    directory = exported_model_dir()
    record = json.loads((directory / f"{ONNX}.json").read_text())
    assert record["source"] == WEIGHTS and record["sha256"] == sha256_of(directory / WEIGHTS)
    assert record["dynamic"] is True and record["ultralytics"]
    again = prepare_model(directory, WEIGHTS)
    assert again.exported is False and again.file == directory / ONNX
    assert again.runtime == "onnxruntime" and again.sha256 == record["sha256"]


def test_cache_survives_a_touch_but_not_a_changed_file(tmp_path: Path) -> None:
    directory = copy_model_dir(tmp_path / "m")
    weights, onnx = directory / WEIGHTS, directory / ONNX
    os.utime(weights, ns=(1_000_000_000, 1_000_000_000))  # new time, same bytes: the SHA-256 decides
    assert cached_onnx_is_current(weights, onnx) is not None
    with weights.open("ab") as fh:
        fh.write(b"\0")
    assert cached_onnx_is_current(weights, onnx) is None


def test_checksum_manifest_refuses_other_weights(tmp_path: Path) -> None:
    directory = copy_model_dir(tmp_path / "m")
    manifest = directory / "checksums.sha256"
    manifest.write_text(f"# pinned\n{'0' * 64}  {WEIGHTS}\n")
    detector = ObjectAnalyzer(directory, WEIGHTS, 0.25)
    detector.load()
    assert not detector.status.available
    assert "do not match the checksum" in (detector.status.detail or "")
    assert not detector.analyze(b"frame").status.available

    manifest.write_text(f"{sha256_of(directory / WEIGHTS)}  {WEIGHTS}\n")
    assert prepare_model(directory, WEIGHTS).verified is True


def test_the_default_weights_are_pinned_to_the_official_checksum(tmp_path: Path) -> None:
    """``yolo11n.pt`` is listed in models/checksums.sha256: other bytes under that name are refused."""
    shutil.copy2(exported_model_dir() / WEIGHTS, tmp_path / "yolo11n.pt")
    detector = ObjectAnalyzer(tmp_path, "yolo11n.pt", 0.25)
    detector.load()
    assert not detector.status.available
    assert "do not match the checksum listed for yolo11n.pt" in (detector.status.detail or "")
    assert not (tmp_path / "yolo11n.onnx").exists()  # refused before any export


def test_an_unknown_format_is_reported(tmp_path: Path) -> None:
    (tmp_path / "model.engine").write_bytes(b"x")
    detector = ObjectAnalyzer(tmp_path, "model.engine", 0.25)
    detector.load()
    assert not detector.status.available and detector.status.runtime is None
    assert "not a format this service runs" in (detector.status.detail or "")


def test_unexportable_weights_are_reported(tmp_path: Path) -> None:
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    detector = ObjectAnalyzer(tmp_path, "broken.pt", 0.25)
    detector.load()
    assert not detector.status.available
    assert "could not be exported to ONNX" in (detector.status.detail or "")
    assert not (tmp_path / "broken.onnx").exists()


def test_onnx_file_can_be_named_directly(detector: ObjectAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    direct = ObjectAnalyzer(exported_model_dir(), ONNX, 0.25)
    direct.load()
    assert direct.status.available and direct.status.runtime == "onnxruntime"
    assert direct.status.sha256 == sha256_of(exported_model_dir() / ONNX)
    frame = fixture_bytes["A01_frontal_webcam_man.png"]
    assert direct.analyze(frame).objects == detector.analyze(frame).objects


def test_a_model_without_the_configured_classes_is_unavailable() -> None:
    config = ObjectsConfig(classes={"unicorn": EventType.SUSPICIOUS_OBJECT})
    detector = ObjectAnalyzer(exported_model_dir(), WEIGHTS, 0.25, config)
    detector.load()
    assert not detector.status.available
    assert "knows none of the configured object classes" in (detector.status.detail or "")


# -- inference on the fixture photos ---------------------------------------------------------------------
def check_well_formed(result: ObjectAnalysis, width: int, height: int) -> None:
    assert result.status.available
    for obj in result.objects:
        box = obj.box
        assert box.x >= 0 and box.y >= 0 and box.width > 0 and box.height > 0
        assert box.x + box.width <= width and box.y + box.height <= height
        assert 0 < obj.confidence <= 1
        if obj.label == "cell phone" and obj.confidence >= 0.6:  # sure: evidence
            assert obj.event in PHONE_EVENTS
            assert obj.partial is (obj.event == EventType.PHONE_PARTIAL_DETECTED)
        elif obj.label == "cell phone":  # reported, but no evidence (configs/objects.yaml)
            assert obj.event is None
        else:
            assert obj.label == "person" and obj.event is None
    confidences = [o.confidence for o in result.objects]
    assert confidences == sorted(confidences, reverse=True)


def test_detects_on_every_fixture(detector: ObjectAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    seen: set[tuple[str, EventType | None]] = set()
    for name, data in fixture_bytes.items():
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
        result = detector.analyze(data)
        check_well_formed(result, width, height)
        phones = [o for o in result.objects if o.label == "cell phone"]
        assert phones, f"{name}: the phone-biased head found no phone"
        assert len(result.objects) <= detector.config.max_detections
        seen |= {(o.label, o.event) for o in result.objects}
        assert {"decode", "inference", "postprocess"} <= result.timings_ms.keys()
    assert ("person", None) in seen
    assert ("cell phone", EventType.PHONE_PARTIAL_DETECTED) in seen
    assert ("cell phone", EventType.PHONE_DETECTED) in seen


def test_threshold_applies_to_the_real_model(fixture_bytes: dict[str, bytes]) -> None:
    strict = ObjectAnalyzer(exported_model_dir(), WEIGHTS, 0.999)
    strict.load()
    result = strict.analyze(fixture_bytes["A03_two_faces_webcam.png"])
    assert result.status.available and all(o.confidence >= 0.899 for o in result.objects)


def test_a_batch_answers_each_frame(detector: ObjectAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    a01, a08 = fixture_bytes["A01_frontal_webcam_man.png"], fixture_bytes["A08_two_phones_laptop_no_face.jpg"]
    single = detector.analyze(a01)
    batch = detector.analyze_many([a01, b"broken", a01, a08])
    assert [r.status.available for r in batch] == [True, False, True, True]
    assert "could not be decoded" in (batch[1].status.detail or "")
    assert batch[0].objects == batch[2].objects == single.objects  # same shape: same answer
    assert batch[0].timings_ms["batch_size"] == 3
    assert batch[3].objects


def test_serving_path_never_imports_torch_or_torchvision(fixtures_dir: Path) -> None:
    """Load (from the cached export) and infer in the deployment class, in a fresh interpreter."""
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        from pathlib import Path
        from deployments.objects import ObjectDeployment, ObjectsConfig

        deployment = ObjectDeployment.func_or_class(Path(sys.argv[1]), sys.argv[3], 0.25, ObjectsConfig())
        result = asyncio.run(deployment.analyze(Path(sys.argv[2]).read_bytes()))
        print(json.dumps({
            "available": result.status.available,
            "objects": len(result.objects),
            "loaded": sorted(m for m in ("torch", "torchvision", "ultralytics") if m in sys.modules),
        }))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    frame = fixtures_dir / "A08_two_phones_laptop_no_face.jpg"
    done = subprocess.run(
        [sys.executable, "-c", script, str(exported_model_dir()), str(frame), WEIGHTS],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["available"] is True and report["objects"] > 0
    assert report["loaded"] == []
