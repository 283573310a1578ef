"""What the vision analyzers return (through the deployments that wrap them): plain pydantic models,
cheap to pickle between replicas.

Coordinates are pixels of the original frame as displayed (x to the right, y down).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from integrity.core.enums import EventType, FaceCheck, FaceDetector, GazeDirection, LandmarkBackend, LidState
from integrity.core.geometry import Box

__all__ = ["Box", "FaceCheck", "FaceDetector"]  # re-exported: results carry them


class ModelStatus(BaseModel):
    """Whether a model is loaded, and if not, why: the service never pretends it looked."""

    model_config = ConfigDict(frozen=True)

    available: bool
    detail: str | None = None
    file: str | None = Field(None, description="the weights file in use")
    sha256: str | None = Field(None, description="checksum of that file")
    runtime: str | None = Field(None, description="what runs it: dlib, litert, onnxruntime, ...")


class HeadPose(BaseModel):
    yaw: float = Field(description="degrees, positive when the head turns toward image-right")
    pitch: float = Field(description="degrees, positive when the head tilts up")
    roll: float = Field(description="degrees, positive when the head tilts clockwise in the image")


class MeshReading(BaseModel):
    """What the Face Landmarker adds for one face beyond its 68 points: the irises' centres, the
    mesh's own head pose and the blendshape scores (0..1, the same meaning on every face)."""

    presence: float = Field(ge=0, le=1, description="the landmark model's face-presence score")
    irises: tuple[tuple[float, float], tuple[float, float]] = Field(
        description="iris centres, frame pixels: the image-left eye's, then the image-right eye's"
    )
    pose: HeadPose | None = None
    blendshapes: dict[str, float] = Field(default_factory=dict)


class DetectedFace(BaseModel):
    box: Box = Field(description="the detector's box")
    score: float = Field(description="the detector's confidence, 0..1")
    detector: FaceDetector
    checks: list[FaceCheck] = Field(
        default_factory=list,
        description="checks a doubtful candidate passed to be counted (empty: its score sufficed)",
    )
    landmarks: list[tuple[float, float]] = Field(
        default_factory=list,
        description="68 iBUG points (with the Face Landmarker: the mesh points nearest to them); the "
        "main face's always, other faces' only with the dlib backend",
    )
    mesh: MeshReading | None = Field(None, description="Face Landmarker backend, main face only")
    mouth_contrast: float | None = Field(
        None,
        description="main face only: the lips' median grey level minus the cheeks' (negative: lips "
        "darker, as they are; near 0 or above: a cup, a hand in front of the mouth)",
    )


class EyePatch(BaseModel):
    """A grey crop of the primary face's eye band, so the gaze analyzer needs no full frame.

    ``origin`` and ``scale`` map patch pixels back to the frame: frame = origin + patch / scale.
    """

    width: int
    height: int
    pixels: bytes  # row-major uint8, width * height bytes
    origin: tuple[float, float]
    scale: float


class FaceAnalysis(BaseModel):
    image_width: int
    image_height: int
    detector: FaceDetector
    landmark_backend: LandmarkBackend = LandmarkBackend.DLIB_68
    faces: list[DetectedFace]
    unverified: list[Box] = Field(
        default_factory=list,
        description="candidates below the sure score that failed verification: not counted as faces",
    )
    primary: int | None = Field(
        None, description="index of the candidate's face: the largest (of similar ones, the most central)"
    )
    eye_patch: EyePatch | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.faces)


NeutralSource = Literal["default", "provisional", "calibrated", "refined"]


class GazeNeutral(BaseModel):
    """The candidate's neutral pose (looking at the screen), from the session's calibration.

    Gaze decisions are made relative to it, so an off-centre camera does not read as looking away.
    """

    model_config = ConfigDict(frozen=True)

    yaw: float = 0.0
    pitch: float = 0.0
    h_ratio: float = 0.5
    v_ratio: float = -0.1
    eye_aspect_ratio: float = 0.28
    upper_lid: float = Field(0.22, description="upper lid above the eye-corner line, eye widths")
    lower_lid: float = Field(0.08, description="lower lid below the eye-corner line, eye widths")
    eye_darkness: float | None = Field(None, description="eyes against the skin around them, 0..1")
    mouth_contrast: float | None = Field(None, description="lips against the cheeks (grey levels)")
    look_down: float | None = Field(None, description="the Face Landmarker's eyeLookDown at neutral")
    look_up: float | None = Field(None, description="...and its eyeLookUp (None: dlib's points)")
    source: NeutralSource = "default"
    samples: int = 0


EyeSide = Literal["image_left", "image_right"]


class EyeIris(BaseModel):
    side: EyeSide
    h_ratio: float = Field(description="iris between the eye corners: 0 image-left corner, 1 image-right")
    v_ratio: float = Field(description="iris below (+) or above (-) the corner line, in eye widths")
    confidence: float = Field(ge=0, le=1)
    center: tuple[float, float] = Field(description="iris centre in frame pixels")


class IrisReading(BaseModel):
    """Both eyes' iris positions and their confidence-weighted mean."""

    h_ratio: float
    v_ratio: float
    confidence: float = Field(ge=0, le=1)
    eyes: list[EyeIris]


class GazeAngles(BaseModel):
    """Degrees relative to the neutral pose; yaw positive toward image-right, pitch positive up."""

    head_yaw: float
    head_pitch: float
    eye_yaw: float | None = Field(None, description="eye-in-head rotation from the iris; None without iris")
    eye_pitch: float | None = None
    gaze_yaw: float = Field(description="head + eyes (head only without iris)")
    gaze_pitch: float


class LidReading(BaseModel):
    """Where the eyelids are (mean of both eyes), against the candidate's neutral.

    Looking down, the upper lid follows the eye down while the lower lid stays (or drops a little);
    in a blink, a wink or a squint the lower lid rises to meet it. A lowered frame alone cannot be
    told from the first frames of a blink: the session does it by duration (``held_*`` below).
    """

    upper: float = Field(description="upper lid above the eye-corner line, eye widths")
    lower: float = Field(description="lower lid below the eye-corner line, eye widths")
    pitch_deg: float = Field(
        description="eye pitch the upper lid's move from neutral implies (negative: lowered)"
    )
    lower_raise: float = Field(description="how far the lower lid rose above its neutral, eye widths")
    state: LidState
    held_direction: GazeDirection | None = Field(
        None, description="lowered: the direction once the lowering has lasted longer than a blink"
    )
    held_eyes_off_screen: bool | None = Field(
        None, description="lowered: the eyes-off-screen condition once held longer than a blink"
    )


class EyeScores(BaseModel):
    """The Face Landmarker's eye blendshapes, both eyes averaged (0..1): trained to mean the same on
    every face, so they carry the vertical gaze, the look aside and blinks on people never seen."""

    down: float
    up: float
    left: float = Field(description="toward image-left (one eye in, the other out)")
    right: float = Field(description="toward image-right")
    blink: float = Field(description="eyeBlink, both eyes averaged")
    blink_one: float = Field(description="the more closed eye's eyeBlink (a wink shows here)")
    squint: float
    smile: float = Field(0.0, description="mouthSmile, both sides averaged: a smile narrows the eyes")


GazeMethod = Literal["iris+head_pose", "lids+head_pose", "head_pose", "blendshapes+head_pose", "none"]


class GazeAnalysis(BaseModel):
    available: bool = True
    direction: GazeDirection = GazeDirection.UNKNOWN
    attention: float = Field(0.0, ge=0, le=100)
    head_pose: HeadPose | None = None
    iris: IrisReading | None = Field(None, description="None when the eyes are too small, closed or unclear")
    angles: GazeAngles | None = None
    eye_aspect_ratio: float | None = None
    mouth_aspect_ratio: float | None = None
    mouth_width_px: float | None = None
    eye_span_px: float | None = Field(None, description="the smaller eye, corner to corner, frame pixels")
    blink: bool = False
    lids: LidReading | None = None
    eye_darkness: float | None = Field(
        None, description="eyes against the skin around them: 0 no darker (covered), 1 black"
    )
    lowered_s: float | None = Field(
        None, description="how long the lids have been lowered (session time); None when not lowered"
    )
    mouth_contrast: float | None = Field(
        None, description="the lips' grey level minus the cheeks' (the face stage's measure)"
    )
    mouth_covered: bool = Field(
        False,
        description="something as light as skin in front of the mouth (a cup, a hand): eyes cast "
        "down at it are not evidence of a look off the screen",
    )
    unreadable_eyes: list[EyeSide] = Field(
        default_factory=list,
        description="open eyes large enough to read that show no iris at all (occluded?): gaze unknown",
    )
    eyes_off_screen: bool | None = Field(
        None, description="iris-based gaze beyond the limit; None when the iris could not be judged"
    )
    head_turned: bool | None = Field(None, description="head beyond the yaw/pitch limit from neutral")
    limits: dict[str, float] = Field(default_factory=dict, description="thresholds applied, in degrees")
    neutral: GazeNeutral | None = None
    eye_scores: EyeScores | None = Field(None, description="Face Landmarker backend only")
    calibration: Literal["pending", "done"] | None = Field(
        None,
        description="pending: the candidate's neutral does not exist yet; directions are reported "
        "but raise no gaze event (set by the session)",
    )
    method: GazeMethod = Field("iris+head_pose", description="what the direction was judged from")
    failure: str | None = Field(None, description="why the gaze is unavailable for this frame")
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @property
    def lids_open(self) -> bool:
        """Neither lowered nor closed (or not measured)."""
        return self.lids is None or self.lids.state is LidState.OPEN


class DetectedObject(BaseModel):
    label: str
    confidence: float
    box: Box
    partial: bool = False
    event: EventType | None = Field(None, description="the event this object supports, if any")


class ObjectAnalysis(BaseModel):
    status: ModelStatus
    objects: list[DetectedObject] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
