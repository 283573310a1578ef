"""Rules per interview: the ``policy`` a session starts under (stakes and allowances, configs/policy.yaml).

A request asks for a profile and overrides (:class:`PolicyRequest`); :meth:`PolicyBook.resolve` turns
it, with the service's and the API key's defaults, into an :class:`EffectivePolicy`: numbers and
treatments, no names left to look up. The session keeps that, so a later change of the file (read
again when it changes: :class:`PolicyFile`) applies to sessions started afterwards and never changes
a running session's verdict. :meth:`EffectivePolicy.risk_config` is the event table the session's
risk engine judges under.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from integrity.core.config import ConfigSection, YamlConfig
from integrity.core.enums import EventType, Treatment
from integrity.core.paths import POLICY_CONFIG
from integrity.session.risk.config import EventRule, PolicyTreatment, RiskConfig

logger = logging.getLogger(__name__)


class Stakes(StrEnum):
    LOW = "low"
    STANDARD = "standard"
    HIGH = "high"


class Allowance(StrEnum):
    """What an interview may permit (what each one changes: configs/policy.yaml)."""

    NOTES_ALLOWED = "notes_allowed"
    OPEN_BOOK = "open_book"
    SECOND_SCREEN_ALLOWED = "second_screen_allowed"
    PHONE_ALLOWED = "phone_allowed"
    OTHERS_PRESENT_ALLOWED = "others_present_allowed"


class PolicyRequest(BaseModel):
    """An interview's policy as a caller asks for it: a profile, and stakes or allowances over it.
    Unknown keys are errors (a misspelt allowance must not silently leave the default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str | None = Field(
        None, min_length=1, max_length=64, description="a profile of configs/policy.yaml"
    )
    stakes: Stakes | None = Field(None, description="low, standard or high: event weights and thresholds")
    notes_allowed: StrictBool | None = Field(None, description="looking down at paper notes, reading them")
    open_book: StrictBool | None = Field(None, description="books in view and read")
    second_screen_allowed: StrictBool | None = Field(None, description="a second monitor or laptop in use")
    phone_allowed: StrictBool | None = Field(None, description="a phone in view (reported, no risk)")
    others_present_allowed: StrictBool | None = Field(
        None, description="other faces in view (reported, no risk)"
    )

    def allowances(self) -> dict[Allowance, bool]:
        return {a: v for a in Allowance if (v := getattr(self, a.value)) is not None}


class StakesLevel(ConfigSection):
    risk_scale: float = Field(1.0, gt=0, le=10)
    suspicious_threshold: float | None = Field(None, ge=0)
    cheating_threshold: float | None = Field(None, ge=0)


class EventAllowance(ConfigSection):
    treatment: Treatment
    kinds: list[str] = Field(default_factory=list, description="only these kinds; empty: every kind")


class AllowanceRule(ConfigSection):
    events: dict[EventType, EventAllowance] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list, description="object labels not counted at all")


class PolicyConfig(YamlConfig):
    """configs/policy.yaml."""

    default_profile: str = "standard"
    stakes: dict[Stakes, StakesLevel]
    allowances: dict[Allowance, AllowanceRule]
    profiles: dict[str, PolicyRequest] = Field(default_factory=dict)
    api_keys: dict[str, str] = Field(default_factory=dict, description="key id -> default profile")

    @model_validator(mode="after")
    def _complete(self) -> PolicyConfig:
        missing = sorted(set(Stakes) - set(self.stakes)) + sorted(set(Allowance) - set(self.allowances))
        if missing:
            raise ValueError(f"policy config lacks {missing}")
        for name, profile in self.profiles.items():
            if profile.profile is not None:
                raise ValueError(f"profiles.{name}: a profile cannot name another profile")
        names = {self.default_profile, *self.api_keys.values()}
        unknown = sorted(names - set(self.profiles))
        if unknown:
            raise ValueError(f"default_profile/api_keys name unknown profiles {unknown}")
        return self

    @classmethod
    def load_default(cls) -> PolicyConfig:
        return cls.load(POLICY_CONFIG)


class UnknownProfile(ValueError):
    pass


class EffectivePolicy(BaseModel):
    """The policy a session is judged under, resolved into numbers (in the start answer, the
    summary, the record and the report)."""

    profile: str
    stakes: Stakes
    allowances: dict[str, bool] = Field(description="every allowance (Allowance), true or false")
    set_by: list[str] = Field(description="where it came from, in order: service default, API key, request")
    risk_scale: float
    suspicious_threshold: float
    cheating_threshold: float
    treatments: dict[EventType, dict[str, PolicyTreatment]] = Field(
        default_factory=dict, description="per event, by kind ('' for every kind): reported or not raised"
    )
    allowed_labels: list[str] = Field(default_factory=list, description="object labels not counted")

    @property
    def description(self) -> str:
        """One line for the report: "judged under: ..."."""
        allowed = [str(a) for a, on in self.allowances.items() if on]
        return (
            f"profile {self.profile}, {self.stakes} stakes (event risk x{self.risk_scale:g}, suspicious from "
            f"{self.suspicious_threshold:g}, cheating from {self.cheating_threshold:g}); "
            f"allowed: {', '.join(allowed) if allowed else 'nothing beyond the defaults'}"
        )

    @property
    def is_default(self) -> bool:
        return not self.treatments and not self.allowed_labels and self.risk_scale == 1.0

    def risk_config(self, base: RiskConfig) -> RiskConfig:
        """The event table and verdict thresholds this policy judges under."""
        risk = base.risk.model_copy(
            update={
                "suspicious_threshold": self.suspicious_threshold,
                "cheating_threshold": self.cheating_threshold,
            }
        )
        events: dict[EventType, EventRule] = {}
        for event_type, rule in base.events.items():
            events[event_type] = rule.model_copy(
                update={
                    "risk_increase": rule.risk_increase * self.risk_scale,
                    "ongoing_risk_per_min": rule.ongoing_risk_per_min * self.risk_scale,
                    "treatments": {**rule.treatments, **self.treatments.get(event_type, {})},
                }
            )
        return base.model_copy(update={"risk": risk, "events": events})


class PolicyBook:
    """Resolves requests against one :class:`PolicyConfig`."""

    def __init__(self, config: PolicyConfig, base: RiskConfig) -> None:
        self.config = config
        self.base = base

    def resolve(self, request: PolicyRequest | None, key_id: str | None = None) -> EffectivePolicy:
        cfg = self.config
        layers: list[tuple[str, PolicyRequest]] = [
            (f"service default (profile {cfg.default_profile})", cfg.profiles[cfg.default_profile])
        ]
        key_profile = cfg.api_keys.get(key_id or "")
        if key_profile is not None:
            layers.append((f"API key default (profile {key_profile})", cfg.profiles[key_profile]))
        if request is not None:
            if request.profile is not None:
                if request.profile not in cfg.profiles:
                    known = ", ".join(sorted(cfg.profiles))
                    raise UnknownProfile(f"unknown policy profile {request.profile!r} (known: {known})")
                layers.append((f"request (profile {request.profile})", cfg.profiles[request.profile]))
            if request.stakes is not None or request.allowances():
                layers.append(("request", request))
        profile = next(
            (p.profile for _, p in reversed(layers) if p.profile is not None),
            key_profile or cfg.default_profile,
        )
        stakes = Stakes.STANDARD
        allowances = dict.fromkeys(Allowance, False)
        for _, layer in layers:
            stakes = layer.stakes or stakes
            allowances |= layer.allowances()
        level = cfg.stakes[stakes]
        treatments: dict[EventType, dict[str, PolicyTreatment]] = {}
        labels: set[str] = set()
        for allowance, on in allowances.items():
            if not on:
                continue
            rule = cfg.allowances[allowance]
            labels |= set(rule.labels)
            for event_type, allowed in rule.events.items():
                by_kind = treatments.setdefault(event_type, {})
                for kind in allowed.kinds or [""]:
                    given = by_kind.get(kind)
                    # Two allowances on one event: the more lenient wins (off over report).
                    if given is None or allowed.treatment is Treatment.OFF:
                        by_kind[kind] = PolicyTreatment(treatment=allowed.treatment, because=str(allowance))
        base = self.base.risk
        return EffectivePolicy(
            profile=profile,
            stakes=stakes,
            allowances={str(a): on for a, on in allowances.items()},
            set_by=[name for name, _ in layers],
            risk_scale=level.risk_scale,
            suspicious_threshold=(
                base.suspicious_threshold
                if level.suspicious_threshold is None
                else level.suspicious_threshold
            ),
            cheating_threshold=(
                base.cheating_threshold if level.cheating_threshold is None else level.cheating_threshold
            ),
            treatments=treatments,
            allowed_labels=sorted(labels),
        )


class PolicyFile:
    """configs/policy.yaml, read again when it changes (checked at most every ``check_s``): policies
    change on a running service without a restart. A file that no longer loads leaves the last good
    one in force, and says so in the log (and in :attr:`error`)."""

    def __init__(
        self,
        base: RiskConfig,
        path: Path = POLICY_CONFIG,
        check_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.base = base
        self.check_s = check_s
        self.clock = clock
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self.book = PolicyBook(PolicyConfig.load(path), base)
        self.loaded_at = time.time()
        self.error: str | None = None
        self._checked = clock()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def current(self) -> PolicyBook:
        now = self.clock()
        if now - self._checked < self.check_s:
            return self.book
        with self._lock:
            self._checked = now
            stamp = self._stat()
            if stamp is not None and stamp != self._stamp:
                self._stamp = stamp
                try:
                    self.book = PolicyBook(PolicyConfig.load(self.path), self.base)
                    self.loaded_at = time.time()
                    self.error = None
                    logger.info("policy config %s reloaded", self.path)
                except Exception as exc:  # keep serving under the last good file
                    self.error = f"{type(exc).__name__}: {exc}"
                    logger.error(
                        "policy config %s does not load; keeping the previous one: %s", self.path, exc
                    )
        return self.book

    def resolve(self, request: PolicyRequest | None, key_id: str | None = None) -> EffectivePolicy:
        return self.current().resolve(request, key_id)
