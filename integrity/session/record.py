"""What outlives a session: its record (verdict, events, risk over time, models, reviews).

A record is built from the session's state when it ends or expires, kept in the session store for
the retention period, and answered for an open session too (built live). Reviewers confirm or
dismiss events; the *reviewed* verdict is the automatic rules replayed without the dismissed ones.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from integrity.core.enums import Severity, Verdict
from integrity.session.behaviour.tracker import BehaviourSnapshot
from integrity.session.browser import BrowserSignalsSeen
from integrity.session.identity_watch import IdentitySummary
from integrity.session.object_watch import ObjectCoverage
from integrity.session.policy import EffectivePolicy
from integrity.session.risk.models import EventRecord

ReviewDecision = Literal["confirmed", "dismissed"]
RecordStatus = Literal["active", "ended", "expired"]

# The models a frame goes through; a record says for each whether it ran throughout the session.
PIPELINE_MODELS = ("face", "gaze", "objects")


class Review(BaseModel):
    """A reviewer's decision on one event (the latest one counts)."""

    event_id: str
    decision: ReviewDecision
    note: str | None = None
    reviewer: str = Field(description="who decided: a short hash of the API key, or 'open'")
    at: float = Field(description="server time of the decision (Unix seconds)")


class RiskSeries(BaseModel):
    """Risk over stream time, sampled for the record's chart: about one point per ``interval_s``,
    two points (before and after) at each frame that raised events. Bounded: past ``limit`` points
    every other one is dropped (jumps kept) and the interval doubles, so a long session stays small.
    """

    points: list[tuple[float, float]] = Field(default_factory=list)  # (stream time, risk)
    interval_s: float = 1.0

    limit: ClassVar[int] = 720

    def add(self, ts: float, risk: float, jump_from: float | None = None) -> None:
        point = (round(ts, 3), round(risk, 2))
        if self.points and point[0] < self.points[-1][0]:  # booked late (an object result): in order
            if jump_from is not None:
                bisect.insort(self.points, (point[0], round(jump_from, 2)))
            bisect.insort(self.points, point)
        elif jump_from is not None:
            self.points.append((point[0], round(jump_from, 2)))
            self.points.append(point)
        elif self.points and ts - self.points[-1][0] < self.interval_s:
            return
        else:
            self.points.append(point)
        if len(self.points) > self.limit:
            self._thin()

    def _thin(self) -> None:
        pts = self.points
        n = len(pts)
        self.points = [
            p
            for i, p in enumerate(pts)
            if i % 2 == 0 or pts[i - 1][0] == p[0] or (i + 1 < n and pts[i + 1][0] == p[0]) or i == n - 1
        ]
        self.interval_s *= 2


class RiskPoint(BaseModel):
    t: float = Field(description="stream time (seconds)")
    risk: float = Field(description="risk score 0-100 at that time")


class ModelAvailability(BaseModel):
    available: bool = Field(description="ran on every frame of the session")
    detail: str | None = Field(None, description="why not, when it did not")


class VerdictRules(BaseModel):
    """The thresholds the verdicts were judged against (configs/risk_engine.yaml)."""

    basis: Literal["peak", "final"]
    suspicious_threshold: float
    cheating_threshold: float
    cheating_min_severity: Severity


class SessionRecord(BaseModel):
    session_id: str
    status: RecordStatus = Field(description="active (still open), ended, or expired (idle too long)")
    candidate_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    started_at: float = Field(description="server time of the start (Unix seconds)")
    ended_at: float | None = Field(None, description="server time of the end or expiry")
    stream_start: float | None = Field(None, description="stream time of the start (timeline origin)")
    stream_end: float | None = Field(None, description="stream time of the last frame")
    duration_seconds: float
    frames_analyzed: int
    verdict: Verdict = Field(description="the automatic verdict")
    verdict_reason: str
    final_risk_score: float
    peak_risk_score: float
    peak_at: float | None = None
    average_attention: float | None = None
    event_counts: dict[str, int] = Field(default_factory=dict)
    events: Sequence[EventRecord] = Field(default_factory=list, description="the first 1000 events")
    events_truncated: int = 0
    risk_timeline: list[RiskPoint] = Field(default_factory=list)
    models: dict[str, ModelAvailability] = Field(default_factory=dict)
    reviews: dict[str, Review] = Field(default_factory=dict, description="event id -> latest decision")
    reviewed_verdict: Verdict | None = Field(
        None, description="the verdict without the dismissed events; null until an event is reviewed"
    )
    reviewed_verdict_reason: str | None = None
    reviewed_peak_risk_score: float | None = None
    rules: VerdictRules
    behaviour: BehaviourSnapshot | None = None
    objects: ObjectCoverage | None = Field(
        None, description="how well the session was watched for objects (object analyses are sampled)"
    )
    policy: EffectivePolicy | None = Field(None, description="the interview's rules it was judged under")
    identity: IdentitySummary | None = Field(None, description="the identity watch (no descriptor)")
    browser: BrowserSignalsSeen | None = Field(None, description="which of the page's signals were sent")
    kept_until: float | None = Field(None, description="server time after which the record is deleted")

    def event(self, event_id: str) -> EventRecord | None:
        return next((e for e in self.events if e.id == event_id), None)


def models_seen(unavailable: dict[str, str]) -> dict[str, ModelAvailability]:
    """Each pipeline model's availability over a session, from the reasons it did not run."""
    names = list(PIPELINE_MODELS) + sorted(set(unavailable) - set(PIPELINE_MODELS))
    return {
        name: ModelAvailability(available=name not in unavailable, detail=unavailable.get(name))
        for name in names
    }
