"""GazeAnalyzer: iris, head pose, direction and per-frame conditions on real and synthetic faces."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageSequence

from integrity.core.enums import EventType, GazeDirection, LandmarkBackend, LidState
from integrity.core.paths import REPO_ROOT, dlib_models_dir
from integrity.core.results import GazeNeutral
from integrity.session.behaviour.tracker import BehaviourState, BehaviourTracker
from integrity.session.risk.config import RiskConfig
from integrity.session.risk.engine import RiskEngine
from integrity.session.risk.models import RiskState
from integrity.vision.face import FaceAnalyzer, FaceConfig
from integrity.vision.gaze import GazeAnalyzer, eye_aspect_ratio
from tests.synthetic_face import Pose, synthetic_face


def analyse(face: FaceAnalyzer, gaze: GazeAnalyzer, data: bytes):  # type: ignore[no-untyped-def]
    reading = gaze.analyze_face(face.analyze(data))
    assert reading is not None, "no face"
    return reading


def test_frontal_faces_look_at_the_screen(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    for name in ("A01_frontal_webcam_man.png", "A02_frontal_portrait_man.png"):
        out = analyse(face, gaze, fixture_bytes[name])
        assert out.direction is GazeDirection.CENTER, name
        assert out.attention >= 80, name
        assert out.iris is not None and out.eyes_off_screen is False, name
        assert out.head_turned is False, name
        assert out.head_pose is not None and abs(out.head_pose.yaw) < 15
        assert not out.blink


def test_turned_head_and_its_mirror_image(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    data = fixture_bytes["A05_head_turned_away_webcam.png"]  # turned ~60 degrees toward image-left
    turned = analyse(face, gaze, data)
    assert turned.direction is GazeDirection.LEFT
    assert turned.head_pose is not None and turned.head_pose.yaw < -30
    assert turned.attention < 50
    assert turned.head_turned is True  # the condition behind LOOKING_AWAY

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    ok, buf = cv2.imencode(".png", cv2.flip(image, 1))
    assert ok
    mirrored = analyse(face, gaze, buf.tobytes())
    assert mirrored.direction is GazeDirection.RIGHT
    assert mirrored.head_pose is not None and mirrored.head_pose.yaw > 30
    assert mirrored.head_turned is True


def test_eye_aspect_ratio_falls_when_the_eye_closes() -> None:
    open_eye = np.array([[0, 0], [10, -6], [20, -6], [30, 0], [20, 6], [10, 6]], dtype=float)
    closed_eye = open_eye * np.array([1.0, 0.1])
    assert eye_aspect_ratio(open_eye) == pytest.approx(0.4)
    assert eye_aspect_ratio(closed_eye) == pytest.approx(0.04)


def test_blink_is_reported(face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    result = face.analyze(fixture_bytes["A01_frontal_webcam_man.png"])
    landmarks = np.array(result.faces[0].landmarks)
    for eye in (slice(36, 42), slice(42, 48)):  # squash both eyes vertically around their centre
        centre = landmarks[eye].mean(axis=0)
        landmarks[eye, 1] = centre[1] + (landmarks[eye, 1] - centre[1]) * 0.1
    out = gaze.analyze(
        [tuple(p) for p in landmarks], result.image_width, result.image_height, result.eye_patch
    )
    assert out.blink
    assert out.eye_aspect_ratio is not None and out.eye_aspect_ratio < 0.1
    # Closed eyes: no iris, no direction, no eyes-off-screen verdict; the head pose still counts.
    assert out.direction is GazeDirection.UNKNOWN
    assert out.iris is None and out.eyes_off_screen is None
    assert out.head_turned is False


def test_wrong_landmarks_are_unavailable_not_guessed(gaze: GazeAnalyzer) -> None:
    out = gaze.analyze([(0.0, 0.0)] * 5, 640, 480)
    assert not out.available and out.direction is GazeDirection.UNKNOWN


def gif_frames(fixtures_dir: Path) -> list[bytes]:
    clip = Image.open(fixtures_dir / "A_clip_head_turn_away_to_frontal.gif")
    frames = []
    for frame in ImageSequence.Iterator(clip):
        rgb = np.array(frame.convert("RGB"))
        ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert ok
        frames.append(buf.tobytes())
    return frames


def test_head_turn_clip_turned_then_frontal(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixtures_dir: Path
) -> None:
    """MANIFEST: frames 0-5 turned strongly toward image-left, about frames 9-22 roughly frontal."""
    frames = gif_frames(fixtures_dir)
    assert len(frames) == 23
    for index in range(6):
        out = analyse(face, gaze, frames[index])
        assert out.head_turned is True and out.direction is GazeDirection.LEFT, index
    for index in (9, 19):  # the frames that face the camera squarely
        out = analyse(face, gaze, frames[index])
        assert out.head_turned is False and out.direction is GazeDirection.CENTER, index
        assert out.attention >= 80, index


def test_head_turned_but_eyes_on_the_camera_is_not_looking_away(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixtures_dir: Path
) -> None:
    """GIF frame 14: head ~40 degrees toward image-right, eyes rotated back to the camera."""
    out = analyse(face, gaze, gif_frames(fixtures_dir)[14])
    assert out.angles is not None and out.angles.head_yaw > 30
    # The eyes turned back against the head (the Face Landmarker's irises read -14.5, dlib's -20+).
    assert out.angles.eye_yaw is not None and out.angles.eye_yaw < -10
    assert out.head_turned is False
    assert out.direction is GazeDirection.CENTER


@pytest.mark.parametrize(
    ("pose", "direction"),
    [
        (Pose(), GazeDirection.CENTER),
        (Pose(h=0.3), GazeDirection.LEFT),
        (Pose(h=0.7), GazeDirection.RIGHT),
        (Pose(yaw_px=-30), GazeDirection.LEFT),
        (Pose(yaw_px=30), GazeDirection.RIGHT),
        (Pose(eye_open=0.15), GazeDirection.UNKNOWN),
    ],
)
def test_synthetic_directions(gaze: GazeAnalyzer, pose: Pose, direction: GazeDirection) -> None:
    synthetic = synthetic_face(pose, np.random.default_rng(1))
    neutral = GazeNeutral(pitch=11.9, v_ratio=-0.034)  # the template's own straight-ahead reading
    out = gaze.analyze(synthetic.landmarks, synthetic.width, synthetic.height, synthetic.eye_patch, neutral)
    assert out.direction is direction


@pytest.mark.parametrize(
    ("pitch_offset", "direction"), [(30.0, GazeDirection.UP), (-30.0, GazeDirection.DOWN)]
)
def test_head_pitch_beyond_the_limit_is_up_or_down(
    gaze: GazeAnalyzer, pitch_offset: float, direction: GazeDirection
) -> None:
    synthetic = synthetic_face(Pose(), np.random.default_rng(1))
    neutral = GazeNeutral(pitch=11.9 - pitch_offset, v_ratio=-0.034)
    out = gaze.analyze(synthetic.landmarks, synthetic.width, synthetic.height, synthetic.eye_patch, neutral)
    assert out.direction is direction
    assert out.head_turned is True  # beyond head_pitch_limit_deg, with the gaze beyond its limit too


def test_the_neutral_pose_moves_the_centre(gaze: GazeAnalyzer) -> None:
    """A camera off to one side: the same frame is 'right' by default, 'center' once calibrated."""
    synthetic = synthetic_face(Pose(h=0.62, yaw_px=12), np.random.default_rng(2))
    args = (synthetic.landmarks, synthetic.width, synthetic.height, synthetic.eye_patch)
    default = gaze.analyze(*args)
    assert default.direction is GazeDirection.RIGHT and default.eyes_off_screen
    assert default.head_pose is not None and default.iris is not None
    neutral = GazeNeutral(
        yaw=default.head_pose.yaw,
        pitch=default.head_pose.pitch,
        h_ratio=default.iris.h_ratio,
        v_ratio=default.iris.v_ratio,
        source="calibrated",
    )
    calibrated = gaze.analyze(*args, neutral)
    assert calibrated.direction is GazeDirection.CENTER
    assert calibrated.eyes_off_screen is False and calibrated.head_turned is False
    assert calibrated.attention == 100


def test_tiny_eyes_give_no_iris_reading(gaze: GazeAnalyzer) -> None:
    synthetic = synthetic_face(Pose(h=0.3, scale=0.4), np.random.default_rng(3))
    out = gaze.analyze(synthetic.landmarks, synthetic.width, synthetic.height, synthetic.eye_patch)
    assert out.iris is None and out.method == "head_pose"
    assert out.eyes_off_screen is None  # cannot tell: never "eyes on screen"


# -- lids and occlusion --------------------------------------------------------------------------------
def cover_eyes(data: bytes, landmarks: list[tuple[float, float]], which: str) -> bytes:
    """The photo with a skin-coloured patch (a hand, a cup) drawn over one or both eyes."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    points = np.asarray(landmarks)
    cheek = (points[2] + points[31]) / 2.0
    colour = image[int(cheek[1]) - 2 : int(cheek[1]) + 3, int(cheek[0]) - 2 : int(cheek[0]) + 3]
    eyes = {"image_left": points[36:42], "image_right": points[42:48], "both": points[36:48]}[which]
    (x0, y0), (x1, y1) = eyes.min(axis=0), eyes.max(axis=0)
    width = x1 - x0
    centre = (int((x0 + x1) / 2), int((y0 + y1) / 2))
    axes = (int(0.6 * width + 4), int(0.35 * width + 4))
    cv2.ellipse(image, centre, axes, 0, 0, 360, colour.reshape(-1, 3).mean(axis=0).tolist(), -1)
    noisy = image + np.random.default_rng(0).normal(0, 4, image.shape)
    ok, buf = cv2.imencode(".png", np.clip(noisy, 0, 255).astype(np.uint8))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize(
    ("photo", "which"),
    [
        ("A01_frontal_webcam_man.png", "image_left"),
        ("A01_frontal_webcam_man.png", "image_right"),
        ("A01_frontal_webcam_man.png", "both"),
        ("A02_frontal_portrait_man.png", "image_left"),
        ("A02_frontal_portrait_man.png", "both"),
    ],
)
def test_a_covered_eye_makes_the_gaze_unknown(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes], photo: str, which: str
) -> None:
    data = fixture_bytes[photo]
    clean = face.analyze(data)
    found = face.analyze(cover_eyes(data, clean.faces[0].landmarks, which))
    assert found.count == 1
    main = found.faces[0]
    out = gaze.analyze(main.landmarks, found.image_width, found.image_height, found.eye_patch)
    # Covered (no darker than the skin around it), or the landmarks close the eye over the patch.
    assert out.unreadable_eyes or out.blink
    assert out.direction is GazeDirection.UNKNOWN
    assert out.iris is None and out.eyes_off_screen is None
    assert out.lids is None or out.lids.held_direction is None  # never a look down either


@pytest.fixture(scope="module")
def dlib_face() -> FaceAnalyzer:
    """The selectable dlib_68 backend, for the rules whose figures were read with its points."""
    config = FaceConfig.load(REPO_ROOT / "configs" / "face.yaml")
    analyzer = FaceAnalyzer(
        dlib_models_dir(), config.model_copy(update={"landmarks": LandmarkBackend.DLIB_68})
    )
    analyzer.load()
    return analyzer


def test_covered_eyes_never_raise_eyes_off_screen(
    dlib_face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    face = dlib_face
    """3 s at the camera, then 4 s each with a hand over one eye, the other, both. One covered eye:
    unknown, no event. Both: the landmarks close the eyes over the hand, which cannot be told from
    closed eyes; closed longer than a blink (1 s) they are off the screen ("closed"), and held 3 s
    that is one EYES_OFF_SCREEN, never a direction."""
    data = fixture_bytes["A01_frontal_webcam_man.png"]
    clean = face.analyze(data)
    frames = [clean] * 30
    for which in ("image_left", "image_right", "both"):
        frames += [face.analyze(cover_eyes(data, clean.faces[0].landmarks, which))] * 40
    config = RiskConfig.load()
    tracker, engine, state, risk = (
        BehaviourTracker(config.behaviour),
        RiskEngine(config),
        BehaviourState(),
        RiskState(),
    )
    directions, events = [], []
    for n, found in enumerate(frames):
        main = found.faces[0]
        reading = gaze.analyze(
            main.landmarks,
            found.image_width,
            found.image_height,
            found.eye_patch,
            tracker.neutral(state),
            main.mesh,
        )
        observations, _, judged = tracker.update(state, reading, n * 0.1)
        observation = observations[EventType.EYES_OFF_SCREEN]
        if n < 30:  # the first 3 s calibrate: nothing is judged before the neutral exists
            assert observation.value is None and observation.evidence["reason"] == "calibration pending"
        elif n < 110 or observation.value is None:
            assert observation.value is None
        else:
            assert observation.kind == "closed" and observation.evidence["closed_s"] > 1.0
        events += engine.observe(risk, n * 0.1, observations)
        directions.append(judged.direction if judged is not None else GazeDirection.UNKNOWN)
    assert set(directions[:30]) == {GazeDirection.CENTER}
    assert set(directions[30:]) == {GazeDirection.UNKNOWN}
    assert [(e.type, e.evidence["direction"]) for e in events] == [(EventType.EYES_OFF_SCREEN, "closed")]
    assert events[0].timestamp >= 14.0  # closed at 11.0, held 3 s


def test_lids_lowered_closed_and_open_on_synthetic_eyes(gaze: GazeAnalyzer) -> None:
    neutral = GazeNeutral(pitch=11.9, v_ratio=-0.034, upper_lid=0.26, lower_lid=0.03)
    states = {}
    for name, pose in {
        "open": Pose(),
        "lowered": Pose(lid_drop=0.7, v=0.06),  # the upper lid follows the eye down
        "closed": Pose(eye_open=0.1),  # both lids meet: a blink
    }.items():
        synthetic = synthetic_face(pose, np.random.default_rng(4))
        out = gaze.analyze(
            synthetic.landmarks, synthetic.width, synthetic.height, synthetic.eye_patch, neutral
        )
        assert out.lids is not None
        states[name] = out
    assert states["open"].lids is not None and states["open"].lids.state is LidState.OPEN
    lowered = states["lowered"].lids
    assert lowered is not None and lowered.state is LidState.LOWERED
    assert lowered.pitch_deg <= -12 and lowered.held_direction is GazeDirection.DOWN
    assert states["lowered"].direction is GazeDirection.UNKNOWN  # one frame: a blink or a look down
    # Lids that meet: a blink. (This face's lower lid sits so close to the corner line that it
    # cannot rise much: its shape may read as lowered; then only the duration tells.)
    closed = states["closed"]
    assert closed.blink and closed.direction is GazeDirection.UNKNOWN and closed.iris is None
