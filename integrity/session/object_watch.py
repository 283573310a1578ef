"""How well a session was watched for objects.

Object analyses are sampled (at most about one a second per session, more on a trigger) and run
off the frame's path, so a session is watched for objects only part of the time; under load the
ingress sheds them first. Each booked result covers the session for ``fresh_s`` after its frame
(or until the next result, if sooner): the share of session time so covered is the session's
object coverage, reported beside its verdict so that a reviewer knows how well objects were
watched, and a clean result with little coverage is not read as "no phone".
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ObjectCoverage(BaseModel):
    """The session's object watch so far, in figures."""

    share: float | None = Field(
        description="share of session time covered by a fresh object result (None: no session time yet)"
    )
    covered_s: float = Field(description="seconds of session time covered by a fresh object result")
    session_s: float = Field(description="seconds of session time so far (first to last frame)")
    analyses: int = Field(description="object analyses booked")
    unavailable: int = Field(description="of them, frames the object model could not analyse")
    shed: int = Field(description="frames whose due object analysis was dropped under load")
    mean_interval_s: float | None = Field(description="mean time between booked analyses")
    fresh_s: float = Field(description="how long one result covers the session after its frame")
    last_result_at: float | None = Field(description="stream time of the latest analysed frame")


class ObjectWatch(BaseModel):
    """Session state: the object analyses booked so far (plain, serialisable)."""

    analyses: int = 0
    unavailable: int = 0
    shed: int = 0
    first_at: float | None = None
    last_at: float | None = None
    covered_s: float = 0.0  # fresh time between consecutive results (the last one's not yet)

    def book(self, ts: float, fresh_s: float, available: bool = True) -> bool:
        """Book a result for the frame at stream time ``ts``; False (not booked) when it is older
        than the latest one booked (results of one session are booked in frame order)."""
        if self.last_at is not None and ts < self.last_at:
            return False
        self.analyses += 1
        if not available:
            self.unavailable += 1
            return True
        if self.last_at is not None:
            self.covered_s += min(ts - self.last_at, fresh_s)
        if self.first_at is None:
            self.first_at = ts
        self.last_at = ts
        return True

    def coverage(self, start: float | None, end: float | None, fresh_s: float) -> ObjectCoverage:
        """The figures for the session from stream time ``start`` to ``end`` (its frames' span)."""
        session = max(0.0, end - start) if start is not None and end is not None else 0.0
        covered = self.covered_s
        if self.last_at is not None and end is not None:
            covered += min(max(0.0, end - self.last_at), fresh_s)
        covered = min(covered, session) if session > 0 else covered
        good = self.analyses - self.unavailable
        interval = None
        if good >= 2 and self.first_at is not None and self.last_at is not None:
            interval = round((self.last_at - self.first_at) / (good - 1), 3)
        return ObjectCoverage(
            share=round(covered / session, 4) if session > 0 else None,
            covered_s=round(covered, 3),
            session_s=round(session, 3),
            analyses=self.analyses,
            unavailable=self.unavailable,
            shed=self.shed,
            mean_interval_s=interval,
            fresh_s=fresh_s,
            last_result_at=self.last_at,
        )
