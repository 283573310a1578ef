"""Face identity: is the face in front of the camera still the candidate enrolled at the start?
(issue 24, IDENTITY_CHANGED).

* Model: dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``, a 128-d
  descriptor; two faces of one person are within Euclidean distance 0.6 by dlib's convention) on the
  chip that dlib's 5-point predictor (``shape_predictor_5_face_landmarks.dat``) aligns. Both are
  public domain, in the ``face_recognition_models`` package, found like the 68-point model
  (:func:`integrity.core.paths.dlib_models_dir`, without importing the package). The ResNet runs
  with numpy (``runtime: numpy``, :mod:`integrity.vision.face_resnet`: the same descriptor, ~6x less
  CPU than the BLAS-less dlib wheel) unless configured or unable to, then with dlib itself.
* The 5-point predictor was trained on dlib HOG boxes: HOG is run on a small crop around the
  detector's (BlazeFace) box and its box is used; where HOG finds none, the detector's box mapped to
  HOG's shape (``box`` in configs/identity.yaml, as ``box_map`` in configs/face.yaml).
* A face too small or turned too far gets no descriptor: such descriptors drift toward other people's
  and would raise a false IDENTITY_CHANGED. Distances in the grey zone around the threshold are
  :attr:`IdentityMatch.UNSURE`, never DIFFERENT.

Calibration on the shared fixtures: ``python -m benchmarks.identity_calibration``.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Literal

import cv2
import dlib
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from integrity.core.checksums import sha256_of
from integrity.core.geometry import Box, overlap_of_smaller
from integrity.core.identity import IdentityRules
from integrity.core.results import HeadPose, ModelStatus
from integrity.core.timing import ms_since
from integrity.vision.face import BoxMap
from integrity.vision.face_resnet import FaceResNet
from integrity.vision.face_verify import square_crop
from integrity.vision.imaging import BGRImage, decode, encode_jpeg, read_header

logger = logging.getLogger(__name__)

DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
ALIGNMENT_MODEL = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_SIZE = 128
CHIP_PX = 150  # the ResNet's input: dlib's aligned face chip...
CHIP_PADDING = 0.25  # ...with dlib's default padding around the face (what the model was trained on)


class IdentityConfig(IdentityRules):
    """configs/identity.yaml: the match rules, and the model's own settings."""

    min_face_px: int = Field(60, ge=20)
    max_yaw_deg: float = Field(25.0, gt=0, le=90)
    max_pitch_deg: float = Field(20.0, gt=0, le=90)
    crop_px: int = Field(112, ge=32, le=512)
    box: BoxMap = BoxMap(scale=1.0, dx=0.01, dy=-0.02)
    hog_align: bool = True
    hog_box_px: int = Field(100, ge=80)
    hog_margin: float = Field(0.5, ge=0.2)
    hog_min_overlap: float = Field(0.5, gt=0, le=1)
    runtime: Literal["numpy", "dlib"] = "numpy"


class FaceDescription(BaseModel):
    """One face's identity descriptor, or why there is none.

    ``descriptor`` is biometric data: it never goes into a response, a session record, a report or a
    log. Only a distance and its :class:`IdentityMatch` leave the process that compares. So repr()
    and str() do not show it, and ``model_dump()``/JSON leave it out (pickling, as Ray does, keeps
    it): read the attribute to keep it.
    """

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    usable: bool
    why: str | None = Field(None, description="why there is no descriptor (too small, turned, ...)")
    descriptor: list[float] | None = Field(None, repr=False, exclude=True)
    face_px: int = Field(description="the face box's longer side, frame pixels")
    crop_jpeg: bytes | None = Field(None, repr=False, description="crop_px square JPEG of the aligned face")
    timings_ms: float = 0.0

    def __repr__(self) -> str:
        descriptor = "hidden" if self.descriptor is not None else "None"
        crop = f"{len(self.crop_jpeg)} bytes" if self.crop_jpeg is not None else "None"
        return (
            f"FaceDescription(usable={self.usable}, why={self.why!r}, face_px={self.face_px}, "
            f"descriptor={descriptor}, crop_jpeg={crop}, timings_ms={self.timings_ms})"
        )

    __str__ = __repr__


def unusable_because(face_px: int, pose: HeadPose | None, config: IdentityConfig) -> str | None:
    """Why a face of this size and pose gets no descriptor, or None when it is fit for one."""
    if face_px < config.min_face_px:
        return f"face {face_px} px < {config.min_face_px} px"
    if pose is not None:
        if abs(pose.yaw) > config.max_yaw_deg:
            return f"head turned {abs(pose.yaw):.0f}° > {config.max_yaw_deg:.0f}°"
        if abs(pose.pitch) > config.max_pitch_deg:
            return f"head tilted {abs(pose.pitch):.0f}° > {config.max_pitch_deg:.0f}°"
    return None


class FaceDescriber:
    """Descriptors of faces the face stage found; thread-safe (dlib's predictor, and its network
    where it runs, take one face at a time; the numpy network any number)."""

    def __init__(self, model_dir: Path, config: IdentityConfig) -> None:
        self.model_dir = model_dir
        self.config = config
        self.runtime = f"dlib {dlib.__version__}"
        self._predictor: Any = None
        self._network: Any = None  # dlib's own, where the numpy one does not run
        self._resnet: FaceResNet | None = None
        self._hog: Any = dlib.get_frontal_face_detector() if config.hog_align else None
        self._lock = threading.Lock()
        self._status = self._load()

    def _load(self) -> ModelStatus:
        if not self.config.enabled:
            return ModelStatus(available=False, detail="identity check disabled (configs/identity.yaml)")
        descriptor_path = self.model_dir / DESCRIPTOR_MODEL
        alignment_path = self.model_dir / ALIGNMENT_MODEL
        for path in (descriptor_path, alignment_path):
            if not path.is_file():
                return ModelStatus(
                    available=False,
                    detail=f"{path.name} not found in {self.model_dir} (pip package face_recognition_models)",
                    file=path.name,
                    runtime=self.runtime,
                )
        fallback = ""
        if self.config.runtime == "numpy":
            try:
                self._resnet = FaceResNet(descriptor_path)
                self.runtime = f"numpy {np.__version__}, alignment dlib {dlib.__version__}"
            except (ValueError, OSError) as exc:  # another file or format (UnexpectedNetwork): dlib runs it
                fallback = f"; numpy runtime not used ({exc})"
                logger.warning("identity ResNet: %s; dlib runs it instead", exc)
        try:
            self._predictor = dlib.shape_predictor(str(alignment_path))
            if self._resnet is None:
                self._network = dlib.face_recognition_model_v1(str(descriptor_path))
        except Exception as exc:  # a corrupt file: say so, as for a missing one
            self._predictor = self._network = self._resnet = None
            return ModelStatus(
                available=False, detail=f"identity models not loaded: {exc}", runtime=self.runtime
            )
        return ModelStatus(
            available=True,
            detail="dlib face-recognition ResNet v1 (128-d) on 5-point aligned chips (public domain)"
            + fallback,
            file=DESCRIPTOR_MODEL,
            sha256=sha256_of(descriptor_path),
            runtime=self.runtime,
        )

    @property
    def status(self) -> ModelStatus:
        return self._status

    def describe_frame(self, data: bytes, box: Box, pose: HeadPose | None = None) -> FaceDescription:
        """:meth:`describe` on an encoded JPEG/PNG frame (``box`` in its pixels); raises
        ``ImageDecodeError`` for bytes that are not one."""
        started = time.perf_counter()
        image, _ = decode(data, read_header(data))  # full size: the box is in the frame's pixels
        described = self.describe(image, box, pose)
        return described.model_copy(update={"timings_ms": round(ms_since(started), 2)})

    def describe(self, image: BGRImage, box: Box, pose: HeadPose | None = None) -> FaceDescription:
        """The descriptor of the face in ``box`` (the detector's box, frame pixels) of a BGR frame.

        ``pose`` is the head pose the face stage read, if any; without one the pose is not checked.
        """
        started = time.perf_counter()
        cfg = self.config
        face_px = max(box.width, box.height)

        def unusable(why: str) -> FaceDescription:
            return FaceDescription(
                usable=False, why=why, face_px=face_px, timings_ms=round(ms_since(started), 2)
            )

        if self._predictor is None:
            return unusable(f"model unavailable: {self._status.detail}")
        if (why := unusable_because(face_px, pose, cfg)) is not None:
            return unusable(why)
        height, width = image.shape[:2]
        if box.x >= width or box.y >= height or box.x + box.width <= 0 or box.y + box.height <= 0:
            return unusable("face box outside the frame")
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)  # dlib's models were trained on RGB
        mapped = _dlib_box(box, cfg.box)
        with self._lock:
            rect = dlib.rectangle(*(round(v) for v in self._hog_box(rgb, mapped) or mapped))
            shape = self._predictor(rgb, rect)
            chip = dlib.get_face_chip(rgb, shape, size=CHIP_PX, padding=CHIP_PADDING)
            if self._resnet is None:
                descriptor = [float(v) for v in self._network.compute_face_descriptor(chip)]
        if self._resnet is not None:  # numpy's BLAS releases the GIL: outside the lock
            descriptor = [float(v) for v in self._resnet.describe(chip)]
        crop = cv2.resize(
            cv2.cvtColor(chip, cv2.COLOR_RGB2BGR), (cfg.crop_px, cfg.crop_px), interpolation=cv2.INTER_AREA
        )
        return FaceDescription(
            usable=True,
            descriptor=descriptor,
            face_px=face_px,
            crop_jpeg=encode_jpeg(crop),
            timings_ms=round(ms_since(started), 2),
        )

    def _hog_box(
        self, rgb: BGRImage, mapped: tuple[float, float, float, float]
    ) -> tuple[float, float, float, float] | None:
        """dlib HOG's own box for this face, found on a crop around it scaled so the face is
        ``hog_box_px`` wide; None when HOG finds none there (a turned or covered face).

        The 5-point predictor was trained on HOG's boxes: on a detector box mapped to HOG's shape it
        misplaces the eyes of a head looking down, whose two boxes differ most."""
        cfg = self.config
        if self._hog is None:
            return None
        left, top, right, bottom = mapped
        size = right - left
        side = size * (1 + 2 * cfg.hog_margin)
        out = round(cfg.hog_box_px * side / size)
        crop = square_crop(rgb, (left + right) / 2, (top + bottom) / 2, side, out)
        scale = side / out  # crop pixels -> frame pixels
        x0, y0 = (left + right) / 2 - side / 2, (top + bottom) / 2 - side / 2
        best, best_overlap = None, cfg.hog_min_overlap
        for rect in self._hog(crop, 0):
            found = (
                x0 + rect.left() * scale,
                y0 + rect.top() * scale,
                x0 + (rect.right() + 1) * scale,
                y0 + (rect.bottom() + 1) * scale,
            )
            if (overlap := overlap_of_smaller(found, mapped)) >= best_overlap:
                best, best_overlap = found, overlap
        return best


def _dlib_box(box: Box, mapping: BoxMap) -> tuple[float, float, float, float]:
    """The square box (left, top, right, bottom) dlib's HOG would draw around this detector box.

    The box may be clipped at the frame edge: its longer side is the face's size."""
    side = max(box.width, box.height)
    cx = box.x + box.width / 2 + mapping.dx * side
    cy = box.y + box.height / 2 + mapping.dy * side
    half = mapping.scale * side / 2
    return cx - half, cy - half, cx + half, cy + half
