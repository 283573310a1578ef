"""Drive synthetic landmark sequences through the gaze analyzer, the behaviour tracker and the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pytest

from integrity.core.enums import EventType
from integrity.core.paths import REPO_ROOT
from integrity.core.results import GazeAnalysis
from integrity.session.behaviour.tracker import BehaviourSnapshot, BehaviourState, BehaviourTracker
from integrity.session.observation import Observation
from integrity.session.risk.config import RiskConfig
from integrity.session.risk.engine import RiskEngine
from integrity.session.risk.models import EventRecord, RiskState
from integrity.vision.gaze import GazeAnalyzer, GazeConfig
from tests.synthetic_face import Pose, synthetic_face


@dataclass
class Run:
    events: list[EventRecord] = field(default_factory=list)
    observations: list[dict[EventType, Observation]] = field(default_factory=list)
    gazes: list[GazeAnalysis] = field(default_factory=list)
    snapshots: list[BehaviourSnapshot] = field(default_factory=list)
    state: BehaviourState = field(default_factory=BehaviourState)

    def fired(self, event: EventType) -> list[EventRecord]:
        return [e for e in self.events if e.type is event]


Runner = Callable[[Iterable[tuple[float, Pose]]], Run]


@pytest.fixture(scope="session")
def risk_config() -> RiskConfig:
    return RiskConfig.load()


@pytest.fixture(scope="session")
def gaze_analyzer() -> GazeAnalyzer:
    return GazeAnalyzer(GazeConfig.load(REPO_ROOT / "configs" / "gaze.yaml"))


@pytest.fixture
def run_sequence(risk_config: RiskConfig, gaze_analyzer: GazeAnalyzer) -> Runner:
    def run(sequence: Iterable[tuple[float, Pose]]) -> Run:
        tracker = BehaviourTracker(risk_config.behaviour)
        engine = RiskEngine(risk_config)
        risk = RiskState()
        rng = np.random.default_rng(11)
        out = Run()
        for t, pose in sequence:
            face = synthetic_face(pose, rng)
            gaze = gaze_analyzer.analyze(
                face.landmarks, face.width, face.height, face.eye_patch, tracker.neutral(out.state)
            )
            observations, snapshot, judged = tracker.update(out.state, gaze, t)
            out.events += engine.observe(risk, t, observations)
            out.observations.append(observations)
            out.gazes.append(judged if judged is not None else gaze)  # as the service answers
            out.snapshots.append(snapshot)
        return out

    return run


def timeline(seconds: float, fps: float, start: float = 0.0) -> list[float]:
    return [start + i / fps for i in range(round(seconds * fps))]
