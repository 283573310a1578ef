"""The verdict: a risk state held against the thresholds of ``risk`` in configs/risk_engine.yaml.

CHEATING needs the risk (the peak, or the final one: ``verdict_basis``) at ``cheating_threshold``, an
event of ``cheating_min_severity`` or worse, and corroboration: a critical event whose episode held
``corroborate_s``, or events of that severity from two independent causes. Without those it stops at
SUSPICIOUS (from ``suspicious_threshold``). Below that, INCONCLUSIVE when the face could be judged for
less than ``min_observed_share`` of the session, else CLEAN (docs/API.md, "Verdict rules").

The rules read the state and the risk now; the risk's decay is the engine's
(:meth:`integrity.session.risk.engine.RiskEngine.score_at`).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from integrity.core.enums import EventType, Severity, Verdict
from integrity.session.risk.config import RiskConfig
from integrity.session.risk.models import RiskState


class VerdictBasis(BaseModel):
    """How the verdict was reached: the numbers and the events that counted (summary, docs/API.md)."""

    verdict: Verdict
    reason: str
    basis: str = Field(description="peak or final: which risk the thresholds are held against")
    score: float
    suspicious_threshold: float
    cheating_threshold: float
    corroboration: str | None = Field(
        None, description="what backs CHEATING: a critical episode held long enough, or two causes"
    )
    counted_events: list[str] = Field(default_factory=list, description="ids of events that carried risk")
    observed_share: float | None = Field(None, description="share of the session the face could be judged")
    min_observed_share: float


class Judge:
    """The verdict rules of a :class:`RiskConfig`, applied to a :class:`RiskState` and its risk now
    (``score``: the decayed risk at the moment judged)."""

    def __init__(self, config: RiskConfig) -> None:
        self.config = config

    def _severe_enough(self, state: RiskState) -> bool:
        worst = state.worst_severity
        return worst is not None and worst.rank >= self.config.risk.cheating_min_severity.rank

    def corroboration(self, state: RiskState) -> str | None:
        """What backs an accusation: a critical event whose episode held ``corroborate_s``, or events
        of ``cheating_min_severity`` or worse from two independent causes. None: nothing does."""
        params = self.config.risk
        counted = [
            e
            for e in state.timeline
            if e.risk_increase > 0 and not e.evidence.get("became_static_background")
        ]
        for event in counted:
            if event.severity is Severity.CRITICAL and event.duration_s >= params.corroborate_s:
                return f"{event.type} ({event.id}) held {event.duration_s:g} s >= {params.corroborate_s:g} s"
        severe = [e for e in counted if e.severity.rank >= params.cheating_min_severity.rank]
        causes = sorted({self.config.cause(e.type) for e in severe})
        if len(causes) >= 2:
            return f"independent causes: {', '.join(causes)}"
        return None

    @staticmethod
    def observed_share(state: RiskState) -> float | None:
        """Share of the session the face could be judged (NO_FACE's coverage: known vs. not)."""
        cov = state.coverage.get(EventType.NO_FACE)
        return None if cov is None or cov.total_s <= 0 else cov.observed_share

    def is_cheating(self, state: RiskState, score: float) -> bool:
        """The per-frame flag: the risk now (``score``) at the cheating threshold, backed by
        corroborated evidence."""
        return (
            score >= self.config.risk.cheating_threshold
            and self._severe_enough(state)
            and self.corroboration(state) is not None
        )

    def verdict(self, state: RiskState, score: float) -> tuple[Verdict, str]:
        basis = self.basis(state, score)
        return basis.verdict, basis.reason

    def basis(self, state: RiskState, score: float) -> VerdictBasis:
        """The verdict with everything it rested on; ``score`` is the risk now (the final basis)."""
        params = self.config.risk
        score = state.peak if params.verdict_basis == "peak" else score
        label = f"{params.verdict_basis} risk {score:.1f}"
        share = self.observed_share(state)
        corroborated = self.corroboration(state)
        if score >= params.cheating_threshold and not self._severe_enough(state):
            verdict, reason = (
                Verdict.SUSPICIOUS,
                f"{label} >= {params.cheating_threshold:g} but no event of severity "
                f"{params.cheating_min_severity} or worse",
            )
        elif score >= params.cheating_threshold and corroborated is None:
            verdict, reason = (
                Verdict.SUSPICIOUS,
                f"{label} >= {params.cheating_threshold:g} but not corroborated (no critical event held "
                f"{params.corroborate_s:g} s, nor two independent causes)",
            )
        elif score >= params.cheating_threshold:
            verdict, reason = Verdict.CHEATING, f"{label} >= {params.cheating_threshold:g}; {corroborated}"
        elif score >= params.suspicious_threshold:
            verdict, reason = Verdict.SUSPICIOUS, f"{label} >= {params.suspicious_threshold:g}"
        elif share is not None and share < params.min_observed_share:
            verdict, reason = (
                Verdict.INCONCLUSIVE,
                f"{label} < {params.suspicious_threshold:g} but the face could be judged only "
                f"{share:.0%} of the session (< {params.min_observed_share:.0%})",
            )
        else:
            verdict, reason = Verdict.CLEAN, f"{label} < {params.suspicious_threshold:g}"
        return VerdictBasis(
            verdict=verdict,
            reason=reason,
            basis=params.verdict_basis,
            score=round(score, 3),
            suspicious_threshold=params.suspicious_threshold,
            cheating_threshold=params.cheating_threshold,
            corroboration=corroborated,
            counted_events=[e.id for e in state.timeline if e.risk_increase > 0],
            observed_share=None if share is None else round(share, 3),
            min_observed_share=params.min_observed_share,
        )
