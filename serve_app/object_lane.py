"""Objects off the frame's critical path: this ingress replica's object analyses, sampled per session.

The frame pipeline asks the lane, per frame, whether the session's frame is due for an object
analysis (``integrity.vision.object_sampling``: about once a second, at once on a trigger from the
face stage). A due frame's analysis runs as a task of its own, beside the frame: the frame is
answered as soon as its face, gaze and session update are done. When the analysis arrives the
task books it into the session at the frame's stream time (``record_objects``: its own lane of the
risk engine, so debounce and episodes stay on the frames' time), keeps it as the session's latest
result (shown, with its age, in the session's next answers; its person boxes lend the frames the
"a person without a face" signal), and holds the events it raised for the session's next answer.
Their evidence image is the analysed frame's.

Shedding: a session has one analysis in flight at most and the replica ``max_inflight``; a due
frame beyond them goes without (counted: the session's ``objects_shed``), and an analysis the
objects deployment refuses (its queue full) or fails is booked as "not looked at" for its frame.

Trusted replays (``TRUST_CLIENT_TIME``: offline recordings sent faster than real time) sample on the
frames' own timestamps, and a frame waits for the session's analysis in flight (live, it would have
been booked before the next frame arrived), so a replay is sampled and booked as live.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from integrity.core.enums import PERSON_LABEL
from integrity.core.errors import IntegrityError, SessionEnded, SessionExpired, SessionNotFound
from integrity.core.results import Box, FaceAnalysis, GazeAnalysis, ModelStatus, ObjectAnalysis
from integrity.session.risk.models import EventRecord
from integrity.session.state import FrameFacts, ObjectOutcome
from integrity.vision.object_sampling import ObjectSampler, ObjectSamplingConfig, Trigger

logger = logging.getLogger(__name__)

GONE = (SessionNotFound, SessionEnded, SessionExpired)
STATS_WINDOW_S = 60.0  # /health's object figures are over this much recent time


class ObjectBooking(Protocol):
    async def record_objects(self, session_id: str, facts: FrameFacts) -> ObjectOutcome: ...


class ObjectModel(Protocol):
    async def analyze(self, data: bytes) -> ObjectAnalysis: ...


EvidenceSink = Callable[
    [str, bytes, list[EventRecord], FaceAnalysis, GazeAnalysis | None, ObjectAnalysis],
    Awaitable[dict[str, str]],
]


class FrameNotBooked(Exception):
    """The frame an analysis belongs to was not booked (refused, failed): nothing to book."""


@dataclass(frozen=True, slots=True)
class BookedFrame:
    """What an object analysis is booked with: the frame's facts as the session booked them (its
    stream time, faces, judged gaze), and the face stage's result for the evidence image."""

    facts: FrameFacts
    face: FaceAnalysis
    gaze: GazeAnalysis | None


@dataclass(frozen=True, slots=True)
class LatestObjects:
    """A session's latest object result on this replica."""

    analysis: ObjectAnalysis
    frame_time: float  # the analysed frame's stream time
    received: float  # monotonic receipt of the analysed frame
    sampled_at: float  # the time sampling ran on (the frame's own timestamp in a trusted replay)
    triggers: tuple[str, ...] = ()

    def age(self, at: float) -> float:
        """Its age at ``at``, on the clock sampling runs on (``ObjectLane.clock``)."""
        return max(0.0, at - self.sampled_at)

    def persons(self) -> list[Box]:
        return [o.box for o in self.analysis.objects if o.label == PERSON_LABEL]


@dataclass(frozen=True, slots=True)
class LateEvent:
    """An event an object result raised after its frame was answered, for the session's next answer."""

    event: EventRecord
    evidence_url: str | None


@dataclass(slots=True)
class Sampled:
    """What the lane did with one frame."""

    started: bool = False
    shed: bool = False
    triggers: list[Trigger] = field(default_factory=list)
    analysis: asyncio.Future[ObjectAnalysis] | None = None  # this frame's own, where it was started


@dataclass(frozen=True, slots=True)
class ObjectLaneStats:
    """This replica's object watch over the last ``window_s`` (``/health``)."""

    interval_s: float
    window_s: float
    sessions: int  # sessions with frames in the window
    coverage: float | None  # mean share of their time in the window covered by a fresh result
    analyses_per_s: float
    shed_per_s: float
    triggered_per_s: float
    in_flight: int
    max_inflight: int


@dataclass(slots=True)
class _Watch:
    """One session's recent frames and results on this replica (monotonic times)."""

    first_frame: float
    last_frame: float
    results: deque[float] = field(default_factory=deque)


class ObjectLane:
    def __init__(
        self,
        model: ObjectModel,
        sessions: ObjectBooking,
        config: ObjectSamplingConfig,
        *,
        replay: bool = False,
        evidence: EvidenceSink | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        frames_busy: Callable[[], bool] | None = None,
    ) -> None:
        """``frames_busy``: whether the replica's frames are queueing (then analyses are shed)."""
        self.frames_busy = frames_busy
        self.model = model
        self.sessions = sessions
        self.config = config
        self.replay = replay
        self.evidence = evidence
        self.monotonic = monotonic
        self.sampler = ObjectSampler(config)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._latest: dict[str, LatestObjects] = {}
        self._late: dict[str, list[LateEvent]] = {}
        self._watch: dict[str, _Watch] = {}
        self._events: deque[tuple[float, str]] = deque()  # (monotonic, "started" | "shed" | "triggered")
        self._swept = float("-inf")  # monotonic time of the last sweep of stale sessions

    # -- per frame ------------------------------------------------------------------------------------
    def clock(self, frame_time: float | None) -> float:
        """The time sampling runs on: the frames' own timestamps in a trusted replay (however slowly
        the replay is processed), else the replica's monotonic clock (a live client's timestamps
        must not decide how often it is watched)."""
        if self.replay and frame_time is not None:
            return frame_time
        return self.monotonic()

    async def on_arrival(
        self, session_id: str, data: bytes, frame_time: float | None, booked: asyncio.Future[BookedFrame]
    ) -> Sampled:
        """Before the face stage: start the frame's analysis if its session is due."""
        now = self.monotonic()
        watch = self._watch.get(session_id)
        if watch is None:
            self._watch[session_id] = _Watch(now, now)
        else:
            watch.last_frame = now
        at = self.clock(frame_time)
        if self.replay:
            # A replay runs faster than its recording did: its next frame waits for the session's
            # analysis in flight, which live would have been booked before that frame arrived.
            previous = self._tasks.get(session_id)
            if previous is not None and not previous.done():
                await asyncio.wait({previous})
        if not self.sampler.due(session_id, at):
            return Sampled()
        return self._start(session_id, data, at, booked, [])

    def on_face(
        self,
        session_id: str,
        data: bytes,
        frame_time: float | None,
        face: FaceAnalysis,
        gaze: GazeAnalysis | None,
        booked: asyncio.Future[BookedFrame],
        sampled: Sampled,
    ) -> Sampled:
        """After the face stage: a frame not yet sampled is, at once, on a trigger."""
        at = self.clock(frame_time)
        found = self.sampler.trigger(session_id, at, face, gaze)
        if sampled.started or sampled.shed or not found:
            return sampled
        return self._start(session_id, data, at, booked, found)

    def _start(
        self,
        session_id: str,
        data: bytes,
        at: float,
        booked: asyncio.Future[BookedFrame],
        why: list[Trigger],
    ) -> Sampled:
        now = self.monotonic()
        busy = not self.replay and self.frames_busy is not None and self.frames_busy()
        if not self.sampler.begin(session_id, at, why, frames_busy=busy):
            self._note(now, "shed")
            return Sampled(shed=True, triggers=why)
        self._note(now, "started")
        if why:
            self._note(now, "triggered")
        analysis = asyncio.ensure_future(self._objects(data))
        task = asyncio.ensure_future(self._analyse(session_id, data, analysis, booked, now, at, tuple(why)))
        self._tasks[session_id] = task
        task.add_done_callback(lambda _: self._finished(session_id, task))
        return Sampled(started=True, triggers=why, analysis=analysis)

    def _finished(self, session_id: str, task: asyncio.Task[None]) -> None:
        self.sampler.done(session_id)
        if self._tasks.get(session_id) is task:
            del self._tasks[session_id]

    async def _analyse(
        self,
        session_id: str,
        data: bytes,
        running: asyncio.Future[ObjectAnalysis],
        booked: asyncio.Future[BookedFrame],
        received: float,
        at: float,
        why: tuple[str, ...],
    ) -> None:
        analysis = await running
        try:
            frame = await booked
        except FrameNotBooked:
            return
        facts = frame.facts.model_copy(update={"objects": analysis, "persons": None, "objects_shed": False})
        try:
            outcome = await self.sessions.record_objects(session_id, facts)
        except GONE:
            self.forget(session_id)
            return
        except Exception:  # the frame went through; its objects are simply not booked
            logger.exception("booking an object result failed")
            return
        if not outcome.booked:
            return
        if analysis.status.available:
            self._latest[session_id] = LatestObjects(analysis, outcome.timestamp, received, at, why)
            watch = self._watch.get(session_id)
            if watch is not None:
                watch.results.append(received)
        if outcome.events:
            urls: dict[str, str] = {}
            if self.evidence is not None:
                urls = await self.evidence(session_id, data, outcome.events, frame.face, frame.gaze, analysis)
            late = self._late.setdefault(session_id, [])
            late += [LateEvent(e, urls.get(e.id)) for e in outcome.events]

    async def _objects(self, data: bytes) -> ObjectAnalysis:
        try:
            return await self.model.analyze(data)
        except IntegrityError as exc:
            detail = f"object analysis refused: {exc.detail}"
        except Exception as exc:  # refused under load (a full queue), failed: not looked at, never "no phone"
            detail = f"object analysis failed: {type(exc).__name__}"
            if "BackPressure" not in type(exc).__name__:
                logger.exception("object analysis failed")
        return ObjectAnalysis(status=ModelStatus(available=False, detail=detail))

    # -- what the answers carry -----------------------------------------------------------------------
    def latest(self, session_id: str, frame_time: float | None) -> LatestObjects | None:
        """The session's latest result, while it is fresh (``carry_s``) at this frame."""
        latest = self._latest.get(session_id)
        if latest is None or latest.age(self.clock(frame_time)) > self.config.carry_s:
            return None
        return latest

    async def own(self, sampled: Sampled, frame_time: float | None) -> LatestObjects | None:
        """This frame's own analysis, where it was started here, waited for ``own_wait_s`` at most
        (not cancelled after: it is booked when it arrives, as any). For a frame without a fresh
        result, a session's first above all: a photo sent once is counted with its person boxes."""
        running = sampled.analysis
        if running is None or self.config.own_wait_s <= 0:
            return None
        await asyncio.wait({running}, timeout=self.config.own_wait_s)
        if not running.done() or running.cancelled() or running.exception() is not None:
            return None
        analysis = running.result()
        if not analysis.status.available:
            return None
        at = self.clock(frame_time)
        return LatestObjects(analysis, frame_time or 0.0, self.monotonic(), at, tuple(sampled.triggers))

    def take_late(self, session_id: str) -> list[LateEvent]:
        return self._late.pop(session_id, [])

    async def drain(self, session_id: str, timeout_s: float) -> None:
        """Wait (bounded) for the session's analysis in flight to be booked: before its end, so
        the summary holds what the frames already sent raised."""
        task = self._tasks.get(session_id)
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=timeout_s)

    def forget(self, session_id: str) -> None:
        self.sampler.forget(session_id)
        self._latest.pop(session_id, None)
        self._late.pop(session_id, None)
        self._watch.pop(session_id, None)

    # -- health ---------------------------------------------------------------------------------------
    def _note(self, now: float, what: str) -> None:
        self._events.append((now, what))
        self._trim(now)

    def _trim(self, now: float) -> None:
        cutoff = now - STATS_WINDOW_S
        while self._events and self._events[0][0] < cutoff:
            self._events.popleft()
        # The sessions' sweep walks every session: at most once a second, not on every analysis.
        if now - self._swept < 1.0:
            return
        self._swept = now
        for session_id, watch in list(self._watch.items()):
            while watch.results and watch.results[0] < cutoff - self.config.carry_s:
                watch.results.popleft()
            if watch.last_frame < cutoff:  # no frame for a minute here: ended elsewhere or expired
                del self._watch[session_id]
                self._latest.pop(session_id, None)
                self._late.pop(session_id, None)

    def stats(self) -> ObjectLaneStats:
        now = self.monotonic()
        self._trim(now)
        window = STATS_WINDOW_S
        counts = {"started": 0, "shed": 0, "triggered": 0}
        for _, what in self._events:
            counts[what] += 1
        shares = [s for s in (self._share(w, now) for w in self._watch.values()) if s is not None]
        return ObjectLaneStats(
            interval_s=self.config.interval_s,
            window_s=window,
            sessions=len(self._watch),
            coverage=round(sum(shares) / len(shares), 4) if shares else None,
            analyses_per_s=round(counts["started"] / window, 3),
            shed_per_s=round(counts["shed"] / window, 3),
            triggered_per_s=round(counts["triggered"] / window, 3),
            in_flight=self.sampler.in_flight,
            max_inflight=self.config.max_inflight,
        )

    def _share(self, watch: _Watch, now: float) -> float | None:
        """The share of the session's recent time (its frames in the window) covered by a result."""
        start = max(watch.first_frame, now - STATS_WINDOW_S)
        end = watch.last_frame
        if end - start <= 0:
            return None
        covered = 0.0
        times = sorted(watch.results)
        for i, t in enumerate(times):
            until = min(t + self.config.carry_s, times[i + 1] if i + 1 < len(times) else end, end)
            covered += max(0.0, until - max(t, start))
        return min(1.0, covered / (end - start))
