"""FaceAnalyzer on the real photo fixtures (called directly, no Serve): BlazeFace on every frame,
checks of doubtful candidates, dlib's 68 landmarks on the mapped box."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import dlib
import numpy as np
import pytest

from integrity.core.enums import FaceDetector
from integrity.core.errors import ModelUnavailable
from integrity.core.paths import MODELS, REPO_ROOT, dlib_models_dir
from integrity.vision.face import LANDMARK_MODEL, FaceAnalyzer, FaceConfig
from integrity.vision.imaging import ImageDecodeError
from integrity.vision.model_files import MODEL_FILES, missing
from tests.conftest import FACE_COUNTS

CONFIG = REPO_ROOT / "configs" / "face.yaml"
A11 = "A11_face_three_quarter_with_dog.jpg"


def load(config: FaceConfig | None = None, models_dir: Path = MODELS) -> FaceAnalyzer:
    if models_dir == MODELS and missing(MODELS):
        pytest.skip(f"face models missing in {MODELS} ({', '.join(missing(MODELS))}): run `make install`")
    face = FaceAnalyzer(dlib_models_dir(), config or FaceConfig.load(CONFIG), models_dir)
    face.load()
    assert face.status.available, face.status.detail
    return face


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return load()


def encode(image: np.ndarray, ext: str = ".jpg") -> bytes:
    ok, buf = cv2.imencode(ext, image, [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == ".jpg" else [])
    assert ok
    return buf.tobytes()


def decoded(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_every_fixture_is_counted_right_on_a_plain_frame(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    counts = {name: analyzer.analyze(data).count for name, data in fixture_bytes.items()}
    wrong = {name: n for name, n in counts.items() if n not in FACE_COUNTS[name]}
    assert wrong == {}, f"miscounted {wrong}"


def test_the_dog_beside_a11s_face_is_an_unverified_candidate(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    """BlazeFace scores the Great Dane's head like the girl's face; the checks tell them apart."""
    candidates = analyzer.detect(decoded(fixture_bytes[A11]))
    assert len(candidates) == 2  # the detector alone would count the dog
    result = analyzer.analyze(fixture_bytes[A11])
    (face,) = result.faces
    (dog,) = result.unverified
    assert face.box.y > 150 and face.box.x < 260  # the girl, left of and below the dog (MANIFEST)
    assert dog.y < 120 and 250 < dog.x + dog.width / 2 < 400  # the dog's head, top centre
    assert len(face.checks) >= 2  # counted because enough checks agreed, not on its score
    # The same holds on the fixture scaled into a 640x480 webcam frame and at lower quality.
    image = decoded(fixture_bytes[A11])
    frame = np.zeros((480, 640, 3), np.uint8)
    small = cv2.resize(image, (319, 480), interpolation=cv2.INTER_AREA)
    frame[:, 160:479] = small
    for variant in (frame, cv2.flip(image, 1)):
        assert analyzer.analyze(encode(variant, ".png")).count == 1
    ok, low_quality = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 50])
    assert ok and analyzer.analyze(low_quality.tobytes()).count == 1


def test_sure_faces_cost_no_checks(analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    result = analyzer.analyze(fixture_bytes["A01_frontal_webcam_man.png"])
    assert result.faces[0].checks == [] and result.faces[0].score >= analyzer.config.sure_score
    assert "verify" not in result.timings_ms and result.detector is FaceDetector.BLAZEFACE_FULL_RANGE


def test_the_main_face_is_the_largest_or_of_two_alike_the_most_central(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    two = analyzer.analyze(fixture_bytes["A03_two_faces_webcam.png"])  # 67 and 68 px wide
    assert two.primary == 0 and two.faces[0].box.x > 240  # the man, nearer the middle of the frame
    group = analyzer.analyze(fixture_bytes["A04_group_meeting_laptop_notebook.jpg"])
    assert group.faces[0].box.width == max(f.box.width for f in group.faces)


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


@pytest.mark.parametrize("name", ["A01_frontal_webcam_man.png", "A02_frontal_portrait_man.png"])
def test_landmarks_on_the_mapped_box_match_those_on_hogs_own_box(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes], name: str
) -> None:
    """The shape predictor was trained on HOG boxes: on the mapped detector box it must agree."""
    image = decoded(fixture_bytes[name])
    (rect,) = dlib.get_frontal_face_detector()(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), 1)
    predictor = dlib.shape_predictor(str(dlib_models_dir() / LANDMARK_MODEL))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    reference = np.array([(p.x, p.y) for p in predictor(gray, rect).parts()], dtype=float)
    ours = np.array(analyzer.analyze(fixture_bytes[name]).faces[0].landmarks)
    inter_ocular = np.linalg.norm(reference[36:42].mean(axis=0) - reference[42:48].mean(axis=0))
    assert np.abs(ours - reference).mean() / inter_ocular < 0.03


@pytest.mark.parametrize("factor", [2, 8])
def test_boxes_are_in_original_pixels_at_any_frame_size(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes], factor: int
) -> None:
    """x8 makes a 3840x2160 JPEG, decoded at half size inside libjpeg; boxes still map back."""
    small = analyzer.analyze(fixture_bytes["A01_frontal_webcam_man.png"]).faces[0]
    image = decoded(fixture_bytes["A01_frontal_webcam_man.png"])
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


def test_short_range_is_selectable(fixture_bytes: dict[str, bytes]) -> None:
    config = FaceConfig.load(CONFIG).model_copy(update={"detector": FaceDetector.BLAZEFACE_SHORT_RANGE})
    short = load(config)
    assert short.status.file == MODEL_FILES["face_detection_short_range.tflite"].name
    for name in ("A01_frontal_webcam_man.png", "A02_frontal_portrait_man.png", "A03_two_faces_webcam.png"):
        result = short.analyze(fixture_bytes[name])
        assert result.count in FACE_COUNTS[name] and result.detector is FaceDetector.BLAZEFACE_SHORT_RANGE
        assert len(result.faces[0].landmarks) == 68


def test_status_names_each_model_with_file_checksum_and_runtime(analyzer: FaceAnalyzer) -> None:
    statuses = analyzer.statuses
    assert set(statuses) == {"face", "face_landmarks", "face_verifier"}
    detector = statuses["face"]
    assert detector.file == "face_detection_full_range_sparse.tflite"
    assert detector.sha256 == MODEL_FILES[detector.file].sha256
    assert detector.runtime is not None and detector.runtime.startswith("litert")
    landmarks = statuses["face_landmarks"]  # the Face Landmarker by default (configs/face.yaml)
    assert landmarks.file == "face_landmarker.task"
    assert landmarks.sha256 == MODEL_FILES["face_landmarker.task"].sha256
    assert landmarks.runtime is not None and landmarks.runtime.startswith("litert")
    assert statuses["face_verifier"].file == "face_landmark.tflite"


def test_missing_model_files_make_the_face_model_unavailable_with_the_reason(tmp_path: Path) -> None:
    face = FaceAnalyzer(dlib_models_dir(), FaceConfig.load(CONFIG), tmp_path)
    face.load()  # does not raise: the replica stays up and says why
    assert not face.status.available
    detail = face.status.detail or ""
    assert "face_detection_full_range_sparse.tflite" in detail and "make install" in detail
    with pytest.raises(ModelUnavailable, match="make install"):
        face.analyze(b"\x89PNG")
    # A file that is there but not the pinned one is refused too.
    (tmp_path / "face_detection_full_range_sparse.tflite").write_bytes(b"not a model")
    face.load()
    assert not face.status.available and "SHA-256" in (face.status.detail or "")


def test_concurrent_frames_are_safe_and_give_the_sequential_answers(
    analyzer: FaceAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    """Serve runs sync methods in a thread pool; LiteRT interpreters and dlib are not thread-safe."""
    names = [
        "A01_frontal_webcam_man.png",
        "A03_two_faces_webcam.png",
        "A04_group_meeting_laptop_notebook.jpg",
        A11,
    ] * 4
    expected = {name: analyzer.analyze(fixture_bytes[name]) for name in set(names)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda name: analyzer.analyze(fixture_bytes[name]), names))
    for name, result in zip(names, results, strict=True):
        assert result.faces == expected[name].faces and result.unverified == expected[name].unverified
