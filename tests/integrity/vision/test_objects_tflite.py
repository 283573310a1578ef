"""The object detector on real weights: Ultralytics YOLOv8n (COCO) as a TFLite export, run by LiteRT.

The model is ../shared/models/yolov8n_int8.tflite (see its MANIFEST); these tests skip, saying so,
where that file is absent. What they prove: the file decides the runtime, the input size follows
the model (640, whatever imgsz_cpu says), the box decoding is right (the phone lands where the
fixtures' MANIFEST measured it), the class mapping gives the events, and concurrent frames are safe.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from integrity.core.enums import EventType
from integrity.core.results import ObjectAnalysis
from integrity.vision.object_mapping import ObjectsConfig
from integrity.vision.objects import ObjectAnalyzer
from integrity.vision.yolo_onnx import ModelFormatError
from integrity.vision.yolo_tflite import YoloTfliteRuntime, _dequantize, _quantize, read_metadata
from tests.conftest import REPO

SHARED_MODELS = (REPO.parent / "shared" / "models").resolve()
TFLITE = SHARED_MODELS / "yolov8n_int8.tflite"

A04 = "A04_group_meeting_laptop_notebook.jpg"
A08 = "A08_two_phones_laptop_no_face.jpg"
A09 = "A09_two_faces_landline_handsets.jpg"
PHONE_EVENTS = {EventType.PHONE_DETECTED, EventType.PHONE_PARTIAL_DETECTED}


@pytest.fixture(scope="module")
def tflite() -> Path:
    if not TFLITE.is_file():
        pytest.skip(f"real YOLO weights not found at {TFLITE} (expected ../shared/models beside the repo)")
    return TFLITE


@pytest.fixture(scope="module")
def detector(tflite: Path) -> ObjectAnalyzer:
    # imgsz_cpu 320 on purpose: the export has a fixed 640x640 input, which must win.
    found = ObjectAnalyzer(tflite.parent, str(tflite), 0.25, ObjectsConfig(imgsz_cpu=320))
    found.load()
    assert found.status.available, found.status.detail
    return found


def expected_sha256(path: Path) -> str:
    for line in (path.parent / "SHA256SUMS").read_text().splitlines():
        digest, _, name = line.partition("  ")
        if name.strip() == path.name:
            return digest
    return hashlib.sha256(path.read_bytes()).hexdigest()


def labelled(result: ObjectAnalysis) -> dict[str, list[EventType | None]]:
    found: dict[str, list[EventType | None]] = {}
    for obj in result.objects:
        found.setdefault(obj.label, []).append(obj.event)
    return found


# -- the model and its metadata ------------------------------------------------------------------------
def test_metadata_appended_to_the_tflite_is_read(tflite: Path) -> None:
    meta = read_metadata(tflite)
    assert meta["imgsz"] == [640, 640] and meta["stride"] == 32 and meta["task"] == "detect"
    model = YoloTfliteRuntime(tflite)
    assert model.names[67] == "cell phone" and model.names[63] == "laptop" and len(model.names) == 80
    assert model.metadata_imgsz == (640, 640) and model.fixed_size == (640, 640)
    assert model.channels_last is True and model.runtime == "litert" and model.version == "8.1.42"


def test_a_tflite_without_metadata_is_refused(tflite: Path, tmp_path: Path) -> None:
    data = tflite.read_bytes()
    bare = tmp_path / "bare.tflite"
    bare.write_bytes(data[: data.rindex(b"PK\x03\x04")])  # the model without the appended zip
    assert read_metadata(bare) == {}
    with pytest.raises(ModelFormatError, match="no class names"):
        YoloTfliteRuntime(bare)


def test_the_file_decides_the_runtime_and_the_model_the_input_size(
    detector: ObjectAnalyzer, tflite: Path
) -> None:
    status = detector.status
    assert status.runtime == "litert" and status.file == str(tflite)
    assert status.sha256 == expected_sha256(tflite)
    assert detector.imgsz == 640 and detector.rect is False
    detail = status.detail or ""
    assert "litert on cpu" in detail and "imgsz 640 (fixed by the model)" in detail
    assert "cell phone" in detail and "laptop" in detail


def test_nothing_is_written_beside_the_model(tflite: Path) -> None:
    before = sorted(p.name for p in tflite.parent.iterdir())
    ObjectAnalyzer(tflite.parent, tflite.name, 0.25).load()
    assert sorted(p.name for p in tflite.parent.iterdir()) == before


def test_int8_boundaries_round_trip() -> None:
    detail = {"dtype": np.int8, "quantization": (1 / 255, -128)}
    batch = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    quantized = _quantize(batch, detail)
    assert quantized.dtype == np.int8 and quantized[0, 0] == -128 and quantized[0, 2] == 127
    assert _dequantize(quantized, detail) == pytest.approx(batch, abs=1 / 255)


# -- the fixture photos -----------------------------------------------------------------------------------
def test_a08_phone_and_laptop(detector: ObjectAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    result = detector.analyze(fixture_bytes[A08])
    found = labelled(result)
    assert EventType.PHONE_DETECTED in found.get("cell phone", []), found
    assert EventType.SUSPICIOUS_OBJECT in found.get("laptop", []), found
    # The phone on the table: about x 1315-1600, y 690-945 (fixtures MANIFEST), in frame pixels.
    phone = next(o for o in result.objects if o.event == EventType.PHONE_DETECTED)
    box = phone.box
    assert phone.confidence > 0.5 and not phone.partial
    assert box.x == pytest.approx(1315, abs=40) and box.x + box.width == pytest.approx(1600, abs=40)
    assert box.y == pytest.approx(690, abs=40) and box.y + box.height == pytest.approx(945, abs=40)
    assert result.timings_ms["inference"] > 0


def test_a04_laptop_and_no_phone(detector: ObjectAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    found = labelled(detector.analyze(fixture_bytes[A04]))
    assert EventType.SUSPICIOUS_OBJECT in found.get("laptop", []), found
    assert "cell phone" not in found
    assert len(found.get("person", [])) >= 4


def test_a09_landline_handsets_are_no_phone(
    detector: ObjectAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    result = detector.analyze(fixture_bytes[A09])
    assert result.status.available
    assert not any(o.event in PHONE_EVENTS for o in result.objects), result.objects
    assert "person" in labelled(result)


# -- threads ---------------------------------------------------------------------------------------------
def test_concurrent_frames_get_the_answers_of_serial_frames(
    detector: ObjectAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    """The deployment runs frames in a thread pool; LiteRT's interpreter is not thread-safe."""
    names = [A08, A04, A09] * 4
    serial = {name: detector.analyze(fixture_bytes[name]).objects for name in (A08, A04, A09)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda n: detector.analyze(fixture_bytes[n]), names))
    for name, result in zip(names, results, strict=True):
        assert result.status.available
        assert result.objects == serial[name], name


def test_a_batch_runs_frame_by_frame_on_a_fixed_batch_model(
    detector: ObjectAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    frames = [fixture_bytes[A08], b"broken", fixture_bytes[A04]]
    batch = detector.analyze_many(frames)
    assert [r.status.available for r in batch] == [True, False, True]
    assert batch[0].objects == detector.analyze(frames[0]).objects
    assert batch[2].objects == detector.analyze(frames[2]).objects
