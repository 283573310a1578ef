"""FaceDescriber (dlib's face-recognition ResNet on 5-point aligned chips) on the real fixtures:
the same person stays below the threshold across frames and files, strangers are never judged the
same, small and turned faces get no descriptor, and the descriptor never shows in a repr."""

from __future__ import annotations

import itertools
import pickle
import re
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.identity_calibration import (
    PHOTO_PEOPLE,
    Sample,
    clip_samples,
    describe_faces,
    photo_samples,
)
from integrity.core.geometry import Box
from integrity.core.identity import IdentityMatch, distance, judge, mean_descriptor
from integrity.core.paths import IDENTITY_CONFIG, MODELS, dlib_models_dir
from integrity.core.results import HeadPose
from integrity.vision.face import FaceAnalyzer, FaceConfig
from integrity.vision.face_resnet import FaceResNet, UnexpectedNetwork
from integrity.vision.identity import (
    DESCRIPTOR_MODEL,
    FaceDescriber,
    FaceDescription,
    IdentityConfig,
)
from integrity.vision.model_files import missing
from integrity.vision.video import frames_at

CONFIG = IdentityConfig.load()
A01 = "A01_frontal_webcam_man.png"
A05 = "A05_head_turned_away_webcam.png"
GIF = "A_clip_head_turn_away_to_frontal.gif"
MEETING = "A_video_meeting_closeup_passerby_cup_looks_down.m4v"
STANDING = "A_video_webcam_person_standing.mkv"


@pytest.fixture(scope="module")
def face() -> FaceAnalyzer:
    if missing(MODELS):
        pytest.skip(f"face models missing in {MODELS} ({', '.join(missing(MODELS))}): run `make install`")
    analyzer = FaceAnalyzer(dlib_models_dir(), FaceConfig.load(IDENTITY_CONFIG.parent / "face.yaml"))
    analyzer.load()
    assert analyzer.status.available, analyzer.status.detail
    return analyzer


@pytest.fixture(scope="module")
def describer() -> FaceDescriber:
    described = FaceDescriber(dlib_models_dir(), CONFIG)
    assert described.status.available, described.status.detail
    return described


@pytest.fixture(scope="module")
def photos(face: FaceAnalyzer, describer: FaceDescriber, fixtures_dir: Path) -> list[Sample]:
    """Every face of the photos of PHOTO_PEOPLE, left to right."""
    return list(photo_samples(face, describer, fixtures_dir))


def frame_at(path: Path, t: float) -> np.ndarray:
    for time_s, frame in frames_at(path, 25):
        if time_s >= t:
            return frame
    raise AssertionError(f"{path.name} has no frame at {t} s")


def usable(samples: list[Sample]) -> list[Sample]:
    return [s for s in samples if s.description.usable]


def enrolled(samples: list[Sample]) -> dict[tuple[str, str], tuple[list[float], list[Sample]]]:
    """(file, person) -> (mean of the first enrol_samples usable samples, the later usable ones)."""
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in usable(samples):
        groups[(sample.source, sample.person)].append(sample)
    n = CONFIG.enrol_samples
    return {key: (mean_descriptor([s.descriptor for s in g[:n]]), g[n:]) for key, g in groups.items()}


# -- model files ------------------------------------------------------------------------------------
def test_status_names_the_model_and_its_checksum(describer: FaceDescriber) -> None:
    status = describer.status
    assert status.available and status.file == DESCRIPTOR_MODEL
    assert status.sha256 is not None and re.fullmatch(r"[0-9a-f]{64}", status.sha256)
    assert status.runtime is not None and status.runtime.startswith("numpy")


def test_the_numpy_network_gives_dlibs_own_descriptor(
    face: FaceAnalyzer, describer: FaceDescriber, fixtures_dir: Path
) -> None:
    """The ResNet read from the .dat and run with numpy (the default runtime) against dlib running
    the same file, on every face of the photos and frames of two clips: the same descriptor to
    float32 rounding, so the calibrated thresholds hold for both."""
    by_dlib = FaceDescriber(dlib_models_dir(), CONFIG.model_copy(update={"runtime": "dlib"}))
    assert by_dlib.status.available and (by_dlib.status.runtime or "").startswith("dlib")
    images = [frame_at(fixtures_dir / MEETING, t) for t in (12.0, 56.0)]
    for name in PHOTO_PEOPLE:
        photo = cv2.imread(str(fixtures_dir / name), cv2.IMREAD_COLOR)
        assert photo is not None, name
        images.append(photo)
    images.append(frame_at(fixtures_dir / GIF, 1.5))
    compared = 0
    for image in images:
        theirs = [
            d.descriptor for _, d in describe_faces(face, by_dlib, image, main_only=False) if d.descriptor
        ]
        for _, ours in describe_faces(face, describer, image, main_only=False):
            if ours.descriptor is None:
                continue
            nearest = min(float(np.abs(np.subtract(ours.descriptor, t)).max()) for t in theirs)
            assert nearest < 1e-5, nearest
            compared += 1
    assert compared >= 6


def test_the_numpy_reader_refuses_any_other_file(tmp_path: Path) -> None:
    """(FaceDescriber then has dlib run the file.)"""
    with pytest.raises(UnexpectedNetwork):
        FaceResNet(dlib_models_dir() / "shape_predictor_5_face_landmarks.dat")
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes((dlib_models_dir() / DESCRIPTOR_MODEL).read_bytes()[:1_000_000])
    with pytest.raises(UnexpectedNetwork):
        FaceResNet(truncated)


def test_missing_model_files_leave_it_unavailable_with_the_reason(tmp_path: Path) -> None:
    describer = FaceDescriber(tmp_path, CONFIG)  # no exception
    assert not describer.status.available
    assert describer.status.detail is not None and DESCRIPTOR_MODEL in describer.status.detail
    described = describer.describe(np.zeros((240, 320, 3), np.uint8), Box(x=100, y=60, width=100, height=100))
    assert not described.usable and described.descriptor is None
    assert described.why is not None and described.why.startswith("model unavailable")
    (tmp_path / DESCRIPTOR_MODEL).write_bytes(b"not a model")
    (tmp_path / "shape_predictor_5_face_landmarks.dat").write_bytes(b"nor this")
    corrupt = FaceDescriber(tmp_path, CONFIG)
    assert not corrupt.status.available and "not loaded" in (corrupt.status.detail or "")


def test_disabled_loads_nothing() -> None:
    describer = FaceDescriber(dlib_models_dir(), CONFIG.model_copy(update={"enabled": False}))
    assert not describer.status.available and "disabled" in (describer.status.detail or "")


# -- the same person, different people ------------------------------------------------------------
def test_the_man_of_a01_is_the_man_in_a03(photos: list[Sample]) -> None:
    """Two frames of the Intel sample set: A01 (frontal, smiling) and A03's right-hand face."""
    men = [s for s in usable(photos) if s.person == "intel_man"]
    assert {s.source for s in men} == {A01, "A03_two_faces_webcam.png"}
    d = distance(men[0].descriptor, men[1].descriptor)
    assert d < CONFIG.threshold and judge(d, CONFIG) is not IdentityMatch.DIFFERENT


def test_the_woman_of_a03_is_the_woman_turning_back_in_the_gif(
    photos: list[Sample], face: FaceAnalyzer, describer: FaceDescriber, fixtures_dir: Path
) -> None:
    """MANIFEST: the GIF is A05's woman; A03's left-hand face is her too (same face and dress)."""
    (woman,) = [s for s in usable(photos) if s.person == "intel_woman"]
    assert woman.source == "A03_two_faces_webcam.png"
    frontal = [
        described
        for t, frame in frames_at(fixtures_dir / GIF, None)
        if t >= 0.7  # MANIFEST: frontal from about frame 9 (12.5 fps)
        for _, described in describe_faces(face, describer, frame, main_only=True)
        if described.usable
    ]
    assert len(frontal) >= 5
    worst = max(distance(woman.descriptor, d.descriptor or []) for d in frontal)
    assert worst < CONFIG.threshold


def test_different_people_in_the_photos_are_never_judged_the_same(photos: list[Sample]) -> None:
    faces = usable(photos)
    assert len({s.person for s in faces}) >= 7  # A01/A03's man, A02, A03's woman, 3 of A04, A09's
    strangers = [
        distance(a.descriptor, b.descriptor)
        for a, b in itertools.combinations(faces, 2)
        if a.person != b.person
    ]
    verdicts = [judge(d, CONFIG) for d in strangers]
    assert min(strangers) >= CONFIG.unsure_below, sorted(strangers)[:3]
    assert IdentityMatch.SAME not in verdicts
    # dlib's 0.6 separates most of them; the rest are "cannot tell", never a wrong SAME
    assert sum(d >= CONFIG.threshold for d in strangers) >= 0.8 * len(strangers)


@pytest.mark.slow
def test_every_clip_stays_its_person_and_strangers_are_never_the_same(
    photos: list[Sample], face: FaceAnalyzer, describer: FaceDescriber, fixtures_dir: Path
) -> None:
    """Frames every 2 s of every clip against the clip's own enrolment (as the session would
    compare), and every enrolment against every other person's frames and photos."""
    samples = photos + list(clip_samples(face, describer, fixtures_dir, every=2.0))
    enrolments = enrolled(samples)
    clips = {
        source for source, _ in enrolments if not source.startswith("A0") and not source.startswith("A1")
    }
    # every clip with a face big enough is enrolled; the standing webcam's (~55 px) never is
    assert clips == {s.source for s in samples if s.t is not None} - {STANDING}
    for (source, person), (enrolment, later) in enrolments.items():
        for sample in later:
            d = distance(enrolment, sample.descriptor)
            assert d < CONFIG.threshold, f"{person} in {source} at {sample.t:.1f} s: {d:.3f}"
            assert judge(d, CONFIG) is not IdentityMatch.DIFFERENT
    stranger_distances = [
        distance(enrolment, sample.descriptor)
        for (_, person), (enrolment, _) in enrolments.items()
        for sample in usable(samples)
        if sample.person != person
    ]
    assert min(stranger_distances) >= CONFIG.unsure_below
    assert sum(d >= CONFIG.unsure_above for d in stranger_distances) >= 0.5 * len(stranger_distances)


# -- faces that get no descriptor ---------------------------------------------------------------------
def test_small_faces_are_not_usable(face: FaceAnalyzer, describer: FaceDescriber, fixtures_dir: Path) -> None:
    """The standing webcam user (~55 px) and the meeting clip's passer-by (~40 px)."""
    for clip, t in ((STANDING, 1.0), (MEETING, 2.8)):
        ((_, described),) = describe_faces(face, describer, frame_at(fixtures_dir / clip, t), main_only=True)
        assert not described.usable and described.descriptor is None and described.crop_jpeg is None
        assert described.why is not None and re.fullmatch(r"face \d+ px < 60 px", described.why), (
            described.why
        )


def test_turned_faces_are_not_usable(
    face: FaceAnalyzer, describer: FaceDescriber, fixture_bytes: dict[str, bytes]
) -> None:
    """A05: head turned about 60° (MANIFEST) with the pose the face stage reads; A01 with a pitch."""
    (found,) = face.analyze(fixture_bytes[A05]).faces
    assert found.mesh is not None and found.mesh.pose is not None
    described = describer.describe_frame(fixture_bytes[A05], found.box, found.mesh.pose)
    assert not described.usable and described.descriptor is None
    assert described.why is not None and re.fullmatch(r"head turned \d+° > 25°", described.why), described.why
    (frontal,) = face.analyze(fixture_bytes[A01]).faces
    tilted = describer.describe_frame(fixture_bytes[A01], frontal.box, HeadPose(yaw=0, pitch=-35, roll=0))
    assert not tilted.usable and tilted.why == "head tilted 35° > 20°"
    assert describer.describe_frame(fixture_bytes[A01], frontal.box, HeadPose(yaw=10, pitch=5, roll=0)).usable


# -- the description ---------------------------------------------------------------------------------
def test_describe_frame_gives_the_descriptor_and_an_aligned_crop(
    face: FaceAnalyzer, describer: FaceDescriber, fixture_bytes: dict[str, bytes]
) -> None:
    (found,) = face.analyze(fixture_bytes[A01]).faces
    described = describer.describe_frame(fixture_bytes[A01], found.box)
    assert described.usable and described.why is None
    assert described.descriptor is not None and len(described.descriptor) == 128
    assert described.face_px == max(found.box.width, found.box.height) and described.timings_ms > 0
    crop = cv2.imdecode(np.frombuffer(described.crop_jpeg or b"", np.uint8), cv2.IMREAD_COLOR)
    assert crop is not None and crop.shape == (CONFIG.crop_px, CONFIG.crop_px, 3)
    decoded = cv2.imdecode(np.frombuffer(fixture_bytes[A01], np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    again = describer.describe(decoded, found.box)
    assert distance(again.descriptor or [], described.descriptor) < 1e-6


def test_the_descriptor_never_shows_in_repr_str_or_dump(
    face: FaceAnalyzer, describer: FaceDescriber, fixture_bytes: dict[str, bytes]
) -> None:
    (found,) = face.analyze(fixture_bytes[A01]).faces
    described = describer.describe_frame(fixture_bytes[A01], found.box)
    assert described.descriptor is not None
    numbers = {f"{v:.4f}"[:6] for v in described.descriptor if abs(v) >= 0.01}
    for text in (repr(described), str(described), f"{described}", f"{described!r}"):
        assert "descriptor=hidden" in text
        assert not any(n in text for n in numbers), text
        assert "[" not in text
    dumped = described.model_dump()
    assert "descriptor" not in dumped and "descriptor" not in described.model_dump_json()
    # Ray pickles it between processes: the descriptor survives that
    assert pickle.loads(pickle.dumps(described)).descriptor == described.descriptor


# -- pure functions and config ------------------------------------------------------------------------
def test_distance_mean_and_judge() -> None:
    assert distance([0.0, 3.0], [4.0, 0.0]) == pytest.approx(5.0)
    with pytest.raises(ValueError):
        distance([0.0], [0.0, 1.0])
    assert mean_descriptor([[0.0, 2.0], [1.0, 4.0]]) == [0.5, 3.0]
    with pytest.raises(ValueError):
        mean_descriptor([])
    assert judge(CONFIG.unsure_below - 0.01, CONFIG) is IdentityMatch.SAME
    assert judge(CONFIG.unsure_below, CONFIG) is IdentityMatch.UNSURE
    assert judge(CONFIG.threshold, CONFIG) is IdentityMatch.UNSURE  # the grey zone holds the threshold
    assert judge(CONFIG.unsure_above, CONFIG) is IdentityMatch.DIFFERENT


def test_config_file_loads_and_the_grey_zone_must_hold_the_threshold(tmp_path: Path) -> None:
    assert IdentityConfig.load(IDENTITY_CONFIG) == CONFIG
    assert CONFIG.unsure_below < CONFIG.threshold < CONFIG.unsure_above
    assert CONFIG.enrol_samples == 5 and CONFIG.interval_s == 2.0 and CONFIG.crop_px == 112
    with pytest.raises(ValueError, match="grey zone"):
        IdentityConfig(threshold=0.6, unsure_below=0.65, unsure_above=0.7)
    typo = tmp_path / "identity.yaml"
    typo.write_text("threshhold: 0.5\n", encoding="utf-8")
    with pytest.raises(ValueError):
        IdentityConfig.load(typo)


def test_a_face_description_is_frozen() -> None:
    described = FaceDescription(usable=False, why="face 40 px < 60 px", face_px=40)
    with pytest.raises(ValueError):
        described.usable = True  # type: ignore[misc]


def test_photo_people_match_the_manifests_face_counts() -> None:
    from tests.conftest import FACE_COUNTS

    for name, people in PHOTO_PEOPLE.items():
        assert max(FACE_COUNTS[name]) == len(people), name
