"""Face identity, the parts the sessions judge with: the match rules (grey zone) and the descriptor
arithmetic. The model that computes descriptors is integrity/vision/identity.py; its config
(configs/identity.yaml) extends :class:`IdentityRules`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Self

import numpy as np
from pydantic import Field, model_validator

from integrity.core.config import ConfigSection, read_mapping
from integrity.core.paths import IDENTITY_CONFIG


class IdentityMatch(StrEnum):
    SAME = "same"
    DIFFERENT = "different"
    UNSURE = "unsure"  # in the grey zone: cannot tell, never reported as a different person


class IdentityRules(ConfigSection):
    """How checks are judged and scheduled (configs/identity.yaml; the model's settings extend it)."""

    enabled: bool = True
    threshold: float = Field(0.6, gt=0, lt=2)
    unsure_below: float = Field(0.5, gt=0, lt=2)
    unsure_above: float = Field(0.7, gt=0, lt=2)
    enrol_samples: int = Field(5, ge=1)
    interval_s: float = Field(2.0, gt=0)
    jitter: float = Field(0.25, ge=0, lt=1)
    """The caller spreads its periodic checks by +- this fraction of ``interval_s`` (so sessions that
    started together do not all check in the same instant)."""

    @model_validator(mode="after")
    def _grey_zone_around_threshold(self) -> Self:
        if not self.unsure_below <= self.threshold <= self.unsure_above:
            zone = f"[{self.unsure_below}, {self.unsure_above})"
            raise ValueError(f"the grey zone {zone} must hold the threshold {self.threshold}")
        return self

    @classmethod
    def load(cls, path: Path = IDENTITY_CONFIG) -> Self:
        return cls.model_validate(read_mapping(path))

    @classmethod
    def rules_of(cls, path: Path = IDENTITY_CONFIG) -> IdentityRules:
        """Only these rules out of the whole file (the model's own settings left to it)."""
        raw = read_mapping(path)
        return IdentityRules.model_validate({k: v for k, v in raw.items() if k in IdentityRules.model_fields})


def distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Euclidean distance between two descriptors (dlib's convention: < 0.6 is one person)."""
    if len(a) != len(b):
        raise ValueError(f"descriptors of different lengths: {len(a)} and {len(b)}")
    return math.dist(a, b)


def mean_descriptor(samples: Sequence[Sequence[float]]) -> list[float]:
    """The element-wise mean of several descriptors of one face: the enrolment."""
    if not samples:
        raise ValueError("no descriptors to average")
    if len({len(s) for s in samples}) != 1:
        raise ValueError("descriptors of different lengths")
    return [float(v) for v in np.mean(np.asarray(samples, dtype=np.float64), axis=0)]


def judge(d: float, rules: IdentityRules) -> IdentityMatch:
    """SAME below the grey zone, DIFFERENT at or above it, UNSURE inside it."""
    if d < rules.unsure_below:
        return IdentityMatch.SAME
    if d >= rules.unsure_above:
        return IdentityMatch.DIFFERENT
    return IdentityMatch.UNSURE
