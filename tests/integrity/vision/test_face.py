"""FaceAnalyzer on the real photo fixtures (called directly, no Serve)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from integrity.core.enums import ScanMode
from integrity.vision.face import FaceAnalyzer, FaceConfig
from integrity.vision.imaging import ImageDecodeError
from serve_app.settings import REPO_ROOT, Settings
from tests.conftest import FACE_COUNTS


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    face = FaceAnalyzer(Settings().face_models_dir, FaceConfig.load(REPO_ROOT / "configs" / "face.yaml"))
    face.load()
    return face


def encode(image: np.ndarray, ext: str = ".jpg") -> bytes:
    ok, buf = cv2.imencode(ext, image, [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == ".jpg" else [])
    assert ok
    return buf.tobytes()


def test_deep_scan_counts_every_fixture(analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    counts = {name: analyzer.analyze(data, deep=True).count for name, data in fixture_bytes.items()}
    wrong = {name: n for name, n in counts.items() if n not in FACE_COUNTS[name]}
    assert wrong == {}, f"deep scan miscounted {wrong}"


def test_fast_pass_is_right_on_clear_frames_and_says_when_in_doubt(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    for name in ("A01", "A02", "A03", "A05", "A06", "A07", "A08", "A10"):
        (full,) = [n for n in fixture_bytes if n.startswith(name)]
        result = analyzer.analyze(fixture_bytes[full])
        assert result.scan is ScanMode.FAST
        assert result.count in FACE_COUNTS[full], full
    # A04: HOG alone sees 3 of the 4 faces, but it reports the weak candidates instead of hiding them.
    group = analyzer.analyze(fixture_bytes["A04_group_meeting_laptop_notebook.jpg"])
    assert group.count == 3
    assert len(group.doubtful) >= 1


def test_deep_scan_uses_mmod_for_the_face_hog_doubts(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    group = analyzer.analyze(fixture_bytes["A04_group_meeting_laptop_notebook.jpg"], deep=True)
    assert {f.detector for f in group.faces} >= {"hog", "hog+mmod"}
    assert "verify" in group.timings_ms


def test_small_faces_ask_for_fine_fast_passes(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    data = fixture_bytes["A11_face_three_quarter_with_dog.jpg"]  # one ~65 px face in a 640x962 photo
    assert analyzer.analyze(data).count == 0  # the base fast pass cannot see it
    deep = analyzer.analyze(data, deep=True)
    assert deep.count == 1 and deep.needs_fine
    assert analyzer.analyze(data, fine=True).count == 1
    frontal = analyzer.analyze(fixture_bytes["A01_frontal_webcam_man.png"], deep=True)
    assert not frontal.needs_fine


def test_landmarks_and_eye_patch_of_the_main_face(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    result = analyzer.analyze(fixture_bytes["A01_frontal_webcam_man.png"])
    (face,) = result.faces
    assert (result.image_width, result.image_height) == (480, 270)
    assert len(face.landmarks) == 68
    points = np.array(face.landmarks)
    box = face.box
    inside = (
        (points[:, 0] >= box.x - 0.2 * box.width)
        & (points[:, 0] <= box.x + 1.2 * box.width)
        & (points[:, 1] >= box.y - 0.2 * box.height)
        & (points[:, 1] <= box.y + 1.3 * box.height)
    )
    assert inside.all()
    # iBUG order: the eye on image-left (36-41) is left of the one on image-right (42-47).
    assert points[36:42, 0].mean() < points[42:48, 0].mean()
    patch = result.eye_patch
    assert patch is not None and len(patch.pixels) == patch.width * patch.height
    assert patch.width > 2 * patch.height  # an eye band, not a face


@pytest.mark.parametrize("factor", [2, 8])
def test_boxes_are_in_original_pixels_at_any_frame_size(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes], factor: int
) -> None:
    """x8 makes a 3840x2160 JPEG, decoded at half size inside libjpeg; boxes still map back."""
    small = analyzer.analyze(fixture_bytes["A01_frontal_webcam_man.png"]).faces[0]
    image = cv2.imdecode(
        np.frombuffer(fixture_bytes["A01_frontal_webcam_man.png"], np.uint8), cv2.IMREAD_COLOR
    )
    assert image is not None
    big = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    result = analyzer.analyze(encode(big))
    assert (result.image_width, result.image_height) == (480 * factor, 270 * factor)
    (face,) = result.faces
    centre_small = np.array([small.box.x + small.box.width / 2, small.box.y + small.box.height / 2])
    centre_big = np.array([face.box.x + face.box.width / 2, face.box.y + face.box.height / 2]) / factor
    assert np.abs(centre_big - centre_small).max() < 0.15 * small.box.width
    assert face.box.width / factor == pytest.approx(small.box.width, rel=0.25)


def test_undecodable_bytes_raise(analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    with pytest.raises(ImageDecodeError):
        analyzer.analyze(b"definitely not an image")
    jpeg = fixture_bytes["A07_no_person_pen_on_paper.jpg"]
    with pytest.raises(ImageDecodeError):
        analyzer.analyze(jpeg[:5000])  # header intact, pixels gone


def test_face_config_file_matches_the_model() -> None:
    config = FaceConfig.load(Path(REPO_ROOT / "configs" / "face.yaml"))
    assert config.detect_max_side <= config.deep_hog_max_side <= config.work_max_side


def test_concurrent_calls_are_safe_and_give_the_sequential_answers(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    """Serve runs sync methods in a thread pool; unguarded, concurrent dlib calls crashed the replica."""
    names = ["A01_frontal_webcam_man.png", "A03_two_faces_webcam.png", "A05_head_turned_away_webcam.png"] * 4
    expected = {name: analyzer.analyze(fixture_bytes[name]).faces for name in set(names)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda name: analyzer.analyze(fixture_bytes[name]), names))
    assert [r.faces for r in results] == [expected[name] for name in names]
