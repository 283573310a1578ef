"""Identity checks off the frame's path (issue 24): is the enrolled candidate still the one there?

After a frame is booked, the lane decides whether its session's face is due a check: while the
enrolment is incomplete, every ``enrol_spacing_s``; then every ``interval_s`` (+- ``jitter``) of the
session's time, and at once when the face comes back after frames without it or with more than one
face, when the face jumps (another size or place from one frame to the next: someone else sat
down), and right after a check that found someone else (the confirming second check). Only a single
verified face, frontal and large enough (``unusable_because``), is worth a check: a due check on a
face too small or turned waits for the next frame that shows one (nothing is booked for it: the
risk engine's identity lane has no fresh reading meanwhile). The check runs as its own task (the
identity deployment, at a lower CPU priority); its result is booked at its frame's stream time
(``record_identity``), and events it raises reach the session's next answer. Trusted replays run
on the frames' timestamps and wait for the check in flight, so a replay is checked as live.

The descriptor passes through here on its way to the session store and is never kept or logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from integrity.core.errors import SessionEnded, SessionExpired, SessionNotFound
from integrity.core.geometry import Box
from integrity.core.results import FaceAnalysis, GazeAnalysis, HeadPose, ModelStatus
from integrity.session.identity_watch import IdentityCheck
from integrity.session.risk.models import EventRecord
from integrity.session.state import IdentityOutcome
from integrity.vision.identity import FaceDescription, IdentityConfig, unusable_because
from serve_app.object_lane import LateEvent

logger = logging.getLogger(__name__)

GONE = (SessionNotFound, SessionEnded, SessionExpired)
ENROL_SPACING_S = 0.4  # enrolment samples at least this far apart (frames a few hundred ms apart differ)
JUMP_SHIFT = 0.5  # the face's centre moved this share of its width from one frame to the next...
JUMP_RESIZE = 1.5  # ...or its width changed by this factor: check at once
MAX_INFLIGHT = 2  # checks in flight on this replica (one per session); more due ones wait their turn

IdentityBooking = Callable[[str, IdentityCheck], Awaitable[IdentityOutcome]]


class IdentityModel(Protocol):
    """The face identity model (descriptors), asked off the frame's path."""

    async def describe(self, data: bytes, box: Box, pose: HeadPose | None) -> FaceDescription: ...

    async def status(self) -> ModelStatus: ...


IdentityEvidence = Callable[[str, list[EventRecord], bytes | None, bytes | None], Awaitable[dict[str, str]]]


@dataclass(slots=True)
class _Watch:
    next_due: float = float("-inf")
    enrolled: bool = False
    confirm: bool = False
    away: bool = False  # frames without the one face since the last check
    last_box: Box | None = None
    task: asyncio.Task[None] | None = None
    late: list[LateEvent] = field(default_factory=list)
    seen: float = 0.0  # monotonic, for forgetting sessions that went away


class IdentityLane:
    def __init__(
        self,
        model: IdentityModel,
        book: IdentityBooking,
        config: IdentityConfig,
        *,
        replay: bool = False,
        evidence: IdentityEvidence | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        frames_busy: Callable[[], bool] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.model = model
        self.book = book
        self.config = config
        self.replay = replay
        self.evidence = evidence
        self.monotonic = monotonic
        self.frames_busy = frames_busy
        self.rng = rng or random.Random()
        self._watch: dict[str, _Watch] = {}
        self.checks = 0
        self.skipped = 0  # due checks given up to frames (the model busy, frames queued)
        self.not_usable = 0  # due checks put off: the face was too small or turned

    def clock(self, frame_time: float | None) -> float:
        """The frames' own timestamps in a trusted replay, else the replica's monotonic clock."""
        if self.replay and frame_time is not None:
            return frame_time
        return self.monotonic()

    async def before(self, session_id: str) -> None:
        """A replay's frame waits for the session's check in flight (live, it would be booked)."""
        watch = self._watch.get(session_id)
        if self.replay and watch is not None and watch.task is not None and not watch.task.done():
            await asyncio.wait({watch.task})

    def after(
        self,
        session_id: str,
        data: bytes,
        frame_time: float | None,
        face: FaceAnalysis,
        gaze: GazeAnalysis | None,
        booked_at: float,
    ) -> bool:
        """After the frame was booked (at stream time ``booked_at``): start its check when due.
        Returns whether one started."""
        watch = self._watch.setdefault(session_id, _Watch())
        watch.seen = self.monotonic()
        self._sweep(watch.seen)
        primary = face.primary
        if len(face.faces) != 1 or primary is None:
            watch.away, watch.last_box = True, None
            return False
        box = face.faces[primary].box
        jumped = watch.last_box is not None and _jumped(watch.last_box, box)
        watch.last_box = box
        at = self.clock(frame_time)
        due = watch.confirm or watch.away or jumped or at >= watch.next_due
        if not due or (watch.task is not None and not watch.task.done()):
            return False
        pose = _pose(face, gaze)
        if unusable_because(max(box.width, box.height), pose, self.config) is not None:
            # A turned or small face tells nothing: the check stays due (a confirmation too) for
            # the next frame worth one, and costs neither the model nor a session call.
            self.not_usable += 1
            return False
        if not self.replay and (
            self._in_flight() >= MAX_INFLIGHT or (self.frames_busy and self.frames_busy())
        ):
            self.skipped += 1
            return False
        watch.confirm = watch.away = False
        spacing = ENROL_SPACING_S if not watch.enrolled else self.config.interval_s
        spread = 0.0 if self.replay else self.rng.uniform(-1.0, 1.0) * self.config.jitter
        watch.next_due = at + spacing * (1.0 + spread)
        watch.task = asyncio.ensure_future(self._check(session_id, data, box, pose, booked_at))
        self.checks += 1
        return True

    def take_late(self, session_id: str) -> list[LateEvent]:
        watch = self._watch.get(session_id)
        if watch is None or not watch.late:
            return []
        late, watch.late = watch.late, []
        return late

    async def drain(self, session_id: str, timeout_s: float) -> None:
        watch = self._watch.get(session_id)
        if watch is not None and watch.task is not None and not watch.task.done():
            await asyncio.wait({watch.task}, timeout=timeout_s)

    def forget(self, session_id: str) -> None:
        self._watch.pop(session_id, None)

    # -- the check ------------------------------------------------------------------------------------
    async def _check(self, session_id: str, data: bytes, box: Box, pose: HeadPose | None, at: float) -> None:
        try:
            described = await self.model.describe(data, box, pose)
        except Exception as exc:  # refused under load, failed: this check simply did not happen
            logger.warning("identity check failed: %s", type(exc).__name__)
            return
        check = IdentityCheck(
            timestamp=at,
            usable=described.usable,
            why=described.why,
            descriptor=described.descriptor,
            face_px=described.face_px,
            crop_jpeg=described.crop_jpeg,
        )
        try:
            outcome = await self.book(session_id, check)
        except GONE:
            self.forget(session_id)
            return
        except Exception:
            logger.exception("booking an identity check failed")
            return
        watch = self._watch.get(session_id)
        if watch is None:
            return
        watch.enrolled = outcome.reading.enrolled
        watch.confirm = outcome.confirm
        if outcome.events:
            urls: dict[str, str] = {}
            if self.evidence is not None:
                urls = await self.evidence(session_id, outcome.events, outcome.enrol_crop, check.crop_jpeg)
            watch.late += [LateEvent(e, urls.get(e.id)) for e in outcome.events]

    def _in_flight(self) -> int:
        return sum(1 for w in self._watch.values() if w.task is not None and not w.task.done())

    def _sweep(self, now: float) -> None:
        if len(self._watch) < 1024:
            return
        for session_id, watch in list(self._watch.items()):
            if now - watch.seen > 600.0 and (watch.task is None or watch.task.done()):
                del self._watch[session_id]


def _jumped(before: Box, now: Box) -> bool:
    """The face moved or resized from one frame to the next more than a head does (a swap)."""
    bx, by = before.x + before.width / 2, before.y + before.height / 2
    nx, ny = now.x + now.width / 2, now.y + now.height / 2
    width = max(1.0, float(before.width))
    ratio = max(now.width, 1) / width
    return (
        abs(nx - bx) > JUMP_SHIFT * width
        or abs(ny - by) > JUMP_SHIFT * width
        or not (1 / JUMP_RESIZE <= ratio <= JUMP_RESIZE)
    )


def _pose(face: FaceAnalysis, gaze: GazeAnalysis | None) -> HeadPose | None:
    """The head pose the face stage read (the mesh's, else the gaze's), for the frontal gate."""
    if face.primary is not None and face.faces[face.primary].mesh is not None:
        mesh = face.faces[face.primary].mesh
        if mesh is not None and mesh.pose is not None:
            return mesh.pose
    return gaze.head_pose if gaze is not None else None
