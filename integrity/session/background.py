"""Static background and the room: faces and objects that sit still in the frame all along (a photo
or a poster on the wall, a bookshelf) are learned and then not counted while they stay unchanged.

Pure logic over plain pydantic state (it lives in ``SessionState``, so Redis keeps it too). Each frame
the learner gets the frame's *extra* faces (every verified face but the candidate's, the primary one),
its unverified face candidates (a photo's face may pass verification in some frames and not in others:
both feed one track) and its objects. Objects are learned by class (``objects``, per label): books,
laptops, screens may be background; never a phone, never a person box, never the candidate's face.
Detections the model is not sure of (no event) still feed their class's tracks, so a poster read as
"tv" at 0.3 in one frame and 0.7 in the next stays one track.

The room: objects already in view in the session's first ``room_s`` seconds are the room, static at
once (a poster read as a "tv" raises nothing in the first seconds, before any learning could). They
stay the room while unchanged; moved, they count again until learned again like anything else.

What the candidate looks at: a static or room object counts while the candidate's gaze goes to it
(the gaze's direction, in the image, points from the candidate's face to it), and a *weak* class
(``evidence: weak``: a "tv" box is most often a poster, a window or a picture) counts only then. A
class with ``evidence: none`` is reported, never counted.

Detections are matched to tracks of the same kind and label by box overlap (IoU). A track is anchored
at the box it started with; it becomes *static* once it has been seen for ``learn_s`` of session
time, in at least ``min_presence`` of the frames that looked for it, without its box leaving the
anchor by more than the jitter tolerance (centre shift and size change relative to the box) for
``move_s`` (and ``move_frames``) or longer. A static track's detections are suppressed while they
stay within that tolerance, and for less than ``move_s`` outside it (a detector outlier, not a move).
A track off its anchor for ``move_s`` (moved, resized) is re-anchored at the new box and must be
learned again, so a photo being moved, or a head that sways as live heads do, counts.

Extra faces without boxes (callers that pass only a count) are *unplaced*: they cannot be matched, are
never learned and so never suppressed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from integrity.core.config import ConfigSection
from integrity.core.enums import EventType, GazeDirection
from integrity.core.geometry import Box
from integrity.core.results import DetectedObject

TrackKind = Literal["face", "object"]
FACE_LABEL = "face"
EvidenceWeight = Literal["strong", "weak", "none"]


class ObjectClassRule(ConfigSection):
    """What a sure detection of one object class counts for (``background.objects``, per label)."""

    room: bool = Field(True, description="may be the room or learned as static background")
    evidence: EvidenceWeight = Field(
        "strong",
        description="strong: counts when new, or while looked at; weak: counts only while looked at; "
        "none: reported, never counted",
    )


# Classes not listed: SUSPICIOUS_OBJECT ones as a book; others (phones, persons) are never learned.
DEFAULT_OBJECT_RULES: dict[str, ObjectClassRule] = {
    "cell phone": ObjectClassRule(room=False),
    "book": ObjectClassRule(),
    "laptop": ObjectClassRule(),
    "tablet": ObjectClassRule(),
    "tv": ObjectClassRule(evidence="weak"),
    "remote": ObjectClassRule(evidence="weak"),
}


class BackgroundConfig(ConfigSection):
    """The ``background`` section of configs/risk_engine.yaml."""

    enabled: bool = True
    learn_s: float = Field(20.0, gt=0, description="seen unchanged this long (session time) to be static")
    min_presence: float = Field(
        0.6, gt=0, le=1, description="...in at least this share of the frames that looked for it"
    )
    min_frames: int = Field(10, ge=1, description="...and in at least this many frames")
    # A photo's box moves only by the detector's jitter (about 1-2 % of the box, a pixel or two); a
    # live head sways by several percent within seconds (breathing, posture), so it never stays
    # inside these for learn_s.
    max_shift: float = Field(
        0.05, ge=0, description="centre shift from the anchor box, as a share of the box's mean side"
    )
    max_resize: float = Field(0.08, ge=0, description="width / height change from the anchor box, as a share")
    jitter_px: float = Field(
        3.0, ge=0, description="shift and size tolerance never below this many pixels (small, far boxes)"
    )
    match_iou: float = Field(
        0.3, gt=0, le=1, description="a detection continues a track overlapping this much"
    )
    move_s: float = Field(
        0.5,
        ge=0,
        description="a box off its anchor this long (consecutive frames) has moved; a shorter excursion "
        "is a detector outlier: a static track stays static (and suppressed), a learning one learns on",
    )
    move_frames: int = Field(3, ge=1, description="...over at least this many frames")
    max_miss_s: float = Field(5.0, gt=0, description="a track still learning, unseen this long, is dropped")
    forget_s: float = Field(
        300.0, gt=0, description="a static track unseen this long (hidden, taken down) is forgotten"
    )
    max_tracks: int = Field(32, ge=1, description="tracks kept at most (learning ones are evicted first)")
    room_s: float = Field(
        5.0, ge=0, description="objects in view this long from the first frame are the room: static at once"
    )
    objects: dict[str, ObjectClassRule] = Field(
        default_factory=lambda: dict(DEFAULT_OBJECT_RULES), description="per object class (label)"
    )

    def object_rule(self, obj: DetectedObject) -> ObjectClassRule | None:
        """The class's rule; None: not an object of the room (phones, persons, unknown classes)."""
        rule = self.objects.get(obj.label)
        if rule is None and obj.event is EventType.SUSPICIOUS_OBJECT:
            return ObjectClassRule()
        return rule


class Looking(BaseModel):
    """Where the candidate looks: the gaze's direction (in the image) from the candidate's face."""

    direction: GazeDirection
    face: Box

    def at(self, box: Box) -> bool:
        """Whether ``box`` lies where the gaze points: its centre beyond the face's edge that way."""
        cx, cy = box.x + box.width / 2.0, box.y + box.height / 2.0
        face = self.face
        match self.direction:
            case GazeDirection.LEFT:
                return cx < face.x
            case GazeDirection.RIGHT:
                return cx > face.x + face.width
            case GazeDirection.UP:
                return cy < face.y
            case GazeDirection.DOWN:
                return cy > face.y + face.height
            case _:
                return False


class BackgroundTrack(BaseModel):
    """One background candidate: where it sits (its anchor box) and how long it has sat still."""

    id: int
    kind: TrackKind
    label: str
    anchor: Box = Field(description="the box it was first seen at (since it last moved)")
    box: Box = Field(description="the box it was last seen at")
    since: float = Field(description="session time it was first seen at its anchor")
    last_seen: float
    looked: int = Field(0, description="frames that looked for it since `since`")
    seen: int = Field(0, description="...and found it unchanged")
    static_since: float | None = Field(None, description="session time it was learned as static")
    room: bool = Field(False, description="in view since the session's first seconds, where it still is")
    moves: int = Field(0, description="times it left its anchor (re-anchored, learned again)")
    off_since: float | None = Field(None, description="first of the consecutive frames seen off its anchor")
    off_frames: int = Field(0, description="how many frames those are")


class BackgroundState(BaseModel):
    tracks: list[BackgroundTrack] = Field(default_factory=list)
    next_id: int = 1
    started: float | None = Field(None, description="session time of the first frame (the room's start)")


class StaticHit(BaseModel):
    """A detection suppressed as static background, as the observation's evidence reports it."""

    kind: TrackKind
    label: str
    box: Box
    static_since: float = Field(description="session time it was learned as static")
    seen_since: float = Field(description="session time it has sat at this place since")
    room: bool = Field(False, description="part of the room: in view since the session's first seconds")

    def evidence(self) -> dict[str, object]:
        found: dict[str, object] = {
            "kind": self.kind,
            "label": self.label,
            "box": self.box.model_dump(),
            "static_since": round(self.static_since, 3),
            "seen_since": round(self.seen_since, 3),
        }
        if self.room:
            found["room"] = True
        return found


class NotCounted(BaseModel):
    """A sure object that is not evidence in this frame, and why (weak class not looked at, ...)."""

    label: str
    box: Box
    reason: str

    def evidence(self) -> dict[str, object]:
        return {"label": self.label, "box": self.box.model_dump(), "reason": self.reason}


class Suppressed(BaseModel):
    """What one frame's detections the background learner suppressed."""

    faces: list[StaticHit] = Field(default_factory=list, description="extra faces not counted")
    candidates: list[StaticHit] = Field(
        default_factory=list, description="unverified face candidates not counted"
    )
    objects: dict[int, StaticHit] = Field(
        default_factory=dict, description="by index into the frame's objects: objects not counted"
    )
    not_counted: dict[int, NotCounted] = Field(
        default_factory=dict, description="by index: sure objects of a class that is no evidence here"
    )
    looked_at: dict[int, str] = Field(
        default_factory=dict,
        description="by index: objects counted because the gaze goes to them (static, room or weak "
        "ones), with the gaze's direction",
    )


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0..1)."""
    w = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    h = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


class BackgroundLearner:
    """Stateless rules applied to a :class:`BackgroundState`."""

    def __init__(self, config: BackgroundConfig) -> None:
        self.config = config

    def unchanged(self, anchor: Box, box: Box) -> bool:
        """Whether ``box`` is ``anchor`` up to detector jitter."""
        cfg = self.config
        side = (anchor.width + anchor.height) / 2.0
        shift_tol = max(cfg.max_shift * side, cfg.jitter_px)
        dx = (box.x + box.width / 2.0) - (anchor.x + anchor.width / 2.0)
        dy = (box.y + box.height / 2.0) - (anchor.y + anchor.height / 2.0)
        if (dx * dx + dy * dy) ** 0.5 > shift_tol:
            return False
        for new, old in ((box.width, anchor.width), (box.height, anchor.height)):
            if abs(new - old) > max(cfg.max_resize * old, cfg.jitter_px):
                return False
        return True

    def update(
        self,
        state: BackgroundState,
        ts: float,
        extra_faces: list[Box] | None,
        objects: list[DetectedObject] | None,
        candidates: list[Box] | None = None,
        looking: Looking | None = None,
    ) -> Suppressed:
        """Learn from one frame at session time ``ts``; return what of it is static background (or
        the room), and what is not evidence here.

        ``extra_faces``: the boxes of the frame's faces other than the candidate's; None when the face
        stage did not place them (those faces are not learned, not suppressed). ``candidates``: the
        unverified face candidates' boxes, learned with the faces (None: not placed). ``objects``:
        the object model's detections; None when it did not look. ``looking``: where the candidate
        looks (None: unknown, taken as at the screen).
        """
        out = Suppressed()
        if objects is not None:
            self._weigh(objects, looking, out)
        if not self.config.enabled:
            return out
        if state.started is None:
            state.started = ts
        self._forget(state, ts)
        if extra_faces is not None:
            boxes = extra_faces + (candidates or [])
            faces = [(i, FACE_LABEL, box) for i, box in enumerate(boxes)]
            for i, hit in self._frame(state, ts, "face", faces):
                (out.faces if i < len(extra_faces) else out.candidates).append(hit)
        if objects is not None:
            wanted = [(i, o.label, o.box) for i, o in enumerate(objects) if self._learnable(o)]
            for i, hit in self._frame(state, ts, "object", wanted):
                if objects[i].event is None:
                    continue  # a doubtful detection only keeps its track alive: nothing to suppress
                if looking is not None and looking.at(objects[i].box):
                    out.looked_at[i] = str(looking.direction)  # the room, but the candidate turns to it
                    continue
                out.not_counted.pop(i, None)
                out.objects[i] = hit
        return out

    def _learnable(self, obj: DetectedObject) -> bool:
        rule = self.config.object_rule(obj)
        return rule is not None and rule.room

    def _weigh(self, objects: list[DetectedObject], looking: Looking | None, out: Suppressed) -> None:
        """Sure objects of a weak class count only while looked at; of a class that is no evidence,
        never."""
        for i, obj in enumerate(objects):
            rule = self.config.object_rule(obj)
            if obj.event is None or rule is None or rule.evidence == "strong":
                continue
            if rule.evidence == "none":
                out.not_counted[i] = NotCounted(label=obj.label, box=obj.box, reason="not evidence")
            elif looking is not None and looking.at(obj.box):
                out.looked_at[i] = str(looking.direction)
            else:
                out.not_counted[i] = NotCounted(
                    label=obj.label, box=obj.box, reason="weak evidence, not looked at"
                )

    def _forget(self, state: BackgroundState, ts: float) -> None:
        cfg = self.config
        state.tracks = [
            t
            for t in state.tracks
            if ts - t.last_seen <= (cfg.forget_s if t.static_since is not None else cfg.max_miss_s)
        ]

    def _frame(
        self, state: BackgroundState, ts: float, kind: TrackKind, detections: list[tuple[int, str, Box]]
    ) -> list[tuple[int, StaticHit]]:
        """Match one kind's detections to its tracks, update them; the suppressed detections."""
        cfg = self.config
        tracks = [t for t in state.tracks if t.kind == kind]
        pairs = sorted(
            (
                (iou(t.box, box), n, d)
                for n, t in enumerate(tracks)
                for d, (_, label, box) in enumerate(detections)
                if t.label == label
            ),
            reverse=True,
        )
        matched: dict[int, int] = {}  # detection -> track
        used: set[int] = set()
        for overlap, n, d in pairs:
            if overlap < cfg.match_iou:
                break
            if n in used or d in matched:
                continue
            matched[d] = n
            used.add(n)
        for track in tracks:
            if track.static_since is None:
                track.looked += 1
        hits: list[tuple[int, StaticHit]] = []
        in_room = kind == "object" and state.started is not None and ts - state.started <= cfg.room_s
        for d, (index, label, box) in enumerate(detections):
            if d not in matched:
                added = self._add(state, ts, kind, label, box, room=in_room)
                if added is not None and added.room:
                    hits.append((index, self._hit(added, box)))
                continue
            track = tracks[matched[d]]
            track.last_seen, track.box = ts, box
            if not self.unchanged(track.anchor, box):
                if track.off_since is None:
                    track.off_since = ts
                track.off_frames += 1
                if ts - track.off_since >= cfg.move_s and track.off_frames >= cfg.move_frames:
                    # Moved or resized: not the background it was; learn it again where it is now.
                    track.anchor, track.since, track.looked, track.seen = box, ts, 1, 1
                    track.static_since, track.off_since, track.off_frames = None, None, 0
                    track.room = False
                    track.moves += 1
                    continue
            else:
                track.off_since, track.off_frames = None, 0
            if track.static_since is None:
                if track.off_since is not None:
                    continue  # an outlier while learning: not seen unchanged, not suppressed
                track.seen += 1
                if (
                    ts - track.since >= cfg.learn_s
                    and track.seen >= cfg.min_frames
                    and track.seen >= cfg.min_presence * track.looked
                ):
                    track.static_since = ts
            if track.static_since is not None:
                hits.append((index, self._hit(track, box)))
        return hits

    @staticmethod
    def _hit(track: BackgroundTrack, box: Box) -> StaticHit:
        assert track.static_since is not None
        return StaticHit(
            kind=track.kind,
            label=track.label,
            box=box,
            static_since=track.static_since,
            seen_since=track.since,
            room=track.room,
        )

    def _add(
        self, state: BackgroundState, ts: float, kind: TrackKind, label: str, box: Box, room: bool = False
    ) -> BackgroundTrack | None:
        if len(state.tracks) >= self.config.max_tracks:
            learning = [t for t in state.tracks if t.static_since is None]
            if not learning:
                return None  # all static: the new detection simply counts
            state.tracks.remove(min(learning, key=lambda t: t.last_seen))
        track = BackgroundTrack(
            id=state.next_id,
            kind=kind,
            label=label,
            anchor=box,
            box=box,
            since=ts,
            last_seen=ts,
            looked=1,
            seen=1,
            static_since=ts if room else None,  # in view from the start: the room, static at once
            room=room,
        )
        state.tracks.append(track)
        state.next_id += 1
        return track
