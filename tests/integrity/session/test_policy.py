"""Rules per interview (configs/policy.yaml): resolving a policy, and sessions judged under it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from integrity.core.enums import EventType, Treatment, Verdict
from integrity.core.paths import POLICY_CONFIG
from integrity.core.results import Box, DetectedObject, ModelStatus, ObjectAnalysis
from integrity.session.conditions import object_observations
from integrity.session.policy import (
    Allowance,
    PolicyBook,
    PolicyConfig,
    PolicyFile,
    PolicyRequest,
    Stakes,
    UnknownProfile,
)
from integrity.session.risk.config import RiskConfig
from integrity.session.state import FrameFacts
from tests.integrity.session.gaze_scenes import FRONTAL_PITCH, SCREEN, Script, hold, play
from tests.integrity.session.test_gaze_scenarios import on_screen

BASE = RiskConfig.load()


@pytest.fixture(scope="module")
def book() -> PolicyBook:
    return PolicyBook(PolicyConfig.load(POLICY_CONFIG), BASE)


def test_no_policy_is_the_service_default_and_changes_nothing(book: PolicyBook) -> None:
    policy = book.resolve(None)
    assert policy.profile == "standard" and policy.stakes is Stakes.STANDARD
    assert policy.allowances == dict.fromkeys(Allowance, False) and policy.is_default
    assert policy.set_by == ["service default (profile standard)"]
    config = policy.risk_config(BASE)
    assert config.events == BASE.events  # the table as it is (its own treatments kept)
    assert config.risk == BASE.risk
    assert "allowed: nothing beyond the defaults" in policy.description


def test_a_request_goes_over_the_key_default_over_the_service_default() -> None:
    config = PolicyConfig.load(POLICY_CONFIG).model_copy(update={"api_keys": {"abc123": "screening"}})
    book = PolicyBook(config, BASE)
    keyed = book.resolve(None, key_id="abc123")
    assert keyed.profile == "screening" and keyed.stakes is Stakes.LOW
    asked = book.resolve(PolicyRequest(stakes=Stakes.HIGH, notes_allowed=True), key_id="abc123")
    assert asked.stakes is Stakes.HIGH and asked.allowances[Allowance.NOTES_ALLOWED]
    assert asked.set_by == [
        "service default (profile standard)",
        "API key default (profile screening)",
        "request",
    ]
    named = book.resolve(PolicyRequest(profile="open_book", stakes=Stakes.STANDARD))
    assert named.profile == "open_book" and named.stakes is Stakes.STANDARD
    assert named.allowances[Allowance.OPEN_BOOK] and named.allowed_labels == ["book"]


def test_unknown_keys_and_profiles_are_refused(book: PolicyBook) -> None:
    with pytest.raises(ValidationError, match="typo"):
        PolicyRequest.model_validate({"typo": 1})
    with pytest.raises(ValidationError):
        PolicyRequest.model_validate({"notes_allowed": "yes"})  # not quietly read as true
    with pytest.raises(ValidationError):
        PolicyRequest.model_validate({"stakes": "extreme"})
    with pytest.raises(UnknownProfile, match="no_such_profile"):
        book.resolve(PolicyRequest(profile="no_such_profile"))


def test_stakes_scale_the_events_and_move_the_thresholds_not_the_guards(book: PolicyBook) -> None:
    high = book.resolve(PolicyRequest(stakes=Stakes.HIGH)).risk_config(BASE)
    low = book.resolve(PolicyRequest(stakes=Stakes.LOW)).risk_config(BASE)
    phone = EventType.PHONE_DETECTED
    assert (
        low.events[phone].risk_increase < BASE.events[phone].risk_increase < high.events[phone].risk_increase
    )
    assert high.risk.cheating_threshold < BASE.risk.cheating_threshold < low.risk.cheating_threshold
    for config in (high, low):  # never quicker to accuse on weak evidence
        assert config.risk.cheating_min_severity == BASE.risk.cheating_min_severity
        assert config.risk.corroborate_s == BASE.risk.corroborate_s
        assert config.risk.min_observed_share == BASE.risk.min_observed_share


def lowered_looks(seconds: float, count: int, fps: float = 5.0) -> Script:
    """Calibration, then ``count`` looks down at the desk (lids lowered) of ``seconds`` each."""
    desk = replace(SCREEN, head_pitch=FRONTAL_PITCH - 8, eye_pitch=-25, lid_drop=16)
    script = on_screen(10.0, 0.0, fps)
    t = 10.0
    for k in range(count):
        script += hold(desk, seconds, t, fps) + on_screen(12.0, t + seconds, fps, seed=k)
        t += seconds + 12.0
    return script


async def test_notes_allowed_reports_long_looks_down_without_risk(book: PolicyBook) -> None:
    script = lowered_looks(10.0, 4)
    strict = await play(script)
    looks = [e for e in strict.summary.timeline if e.type is EventType.EYES_OFF_SCREEN]
    assert len(looks) == 4 and all(e.risk_increase == 15 for e in looks)
    assert strict.summary.peak_risk_score > 30 and strict.summary.policy is None

    notes = book.resolve(PolicyRequest(notes_allowed=True))
    allowed = await play(script, policy=notes)
    looks = [e for e in allowed.summary.timeline if e.type is EventType.EYES_OFF_SCREEN]
    assert len(looks) == 4  # still reported, for the reviewer
    assert all(e.risk_increase == 0 and e.ongoing_risk == 0 for e in looks)
    assert all(e.evidence["policy"] == "notes_allowed: reported without risk" for e in looks)
    assert allowed.summary.peak_risk_score == 0.0 and allowed.verdict is Verdict.CLEAN
    assert allowed.summary.policy == notes
    assert allowed.summary.verdict_basis is not None and allowed.summary.verdict_basis.counted_events == []


async def test_notes_allowed_does_not_excuse_eyes_closed_or_a_face_gone(book: PolicyBook) -> None:
    """Only the kind the allowance names (a look down) is excused: a candidate gone for 10 s is not."""
    notes = book.resolve(PolicyRequest(notes_allowed=True))
    fps = 5.0
    script = on_screen(10.0, 0.0, fps) + [(10.0 + i / fps, None) for i in range(int(10 * fps))]
    script += on_screen(10.0, 20.0, fps)
    outcome = await play(script, policy=notes)
    gone = [e for e in outcome.summary.timeline if e.type is EventType.NO_FACE]
    assert len(gone) == 1 and gone[0].risk_increase == 20 and "policy" not in gone[0].evidence


def _phone(t: float) -> ObjectAnalysis:
    box = Box(x=200, y=300, width=60, height=110)
    phone = DetectedObject(label="cell phone", confidence=0.9, box=box, event=EventType.PHONE_DETECTED)
    return ObjectAnalysis(status=ModelStatus(available=True), objects=[phone] if 12.0 <= t < 40.0 else [])


async def test_phone_allowed_reports_the_phone_and_the_default_counts_it(book: PolicyBook) -> None:
    script = on_screen(50.0, 0.0, 5.0)
    counted = await play(script, objects=_phone)
    phones = [e for e in counted.summary.timeline if e.type is EventType.PHONE_DETECTED]
    assert len(phones) == 1 and phones[0].risk_increase == 30

    allowed = await play(script, objects=_phone, policy=book.resolve(PolicyRequest(phone_allowed=True)))
    phones = [e for e in allowed.summary.timeline if e.type is EventType.PHONE_DETECTED]
    assert len(phones) == 1 and phones[0].risk_increase == 0 and phones[0].ongoing_risk == 0
    assert allowed.summary.peak_risk_score == 0.0 and allowed.verdict is Verdict.CLEAN


def test_open_book_leaves_books_uncounted_and_says_so(book: PolicyBook) -> None:
    box = Box(x=10, y=10, width=80, height=60)
    found = [
        DetectedObject(label="book", confidence=0.9, box=box, event=EventType.SUSPICIOUS_OBJECT),
        DetectedObject(label="laptop", confidence=0.8, box=box, event=EventType.SUSPICIOUS_OBJECT),
    ]
    facts = FrameFacts(
        timestamp=1.0, faces=1, objects=ObjectAnalysis(status=ModelStatus(available=True), objects=found)
    )
    labels = frozenset(book.resolve(PolicyRequest(open_book=True)).allowed_labels)
    seen = object_observations(facts, None, labels)[EventType.SUSPICIOUS_OBJECT]
    assert seen.value is True and seen.evidence["label"] == "laptop"  # a laptop still counts
    assert seen.evidence["allowed_by_policy"] == ["book"] and seen.evidence["objects"] == 1
    only_book = facts.model_copy(
        update={"objects": ObjectAnalysis(status=ModelStatus(available=True), objects=found[:1])}
    )
    assert object_observations(only_book, None, labels)[EventType.SUSPICIOUS_OBJECT].value is False


def test_two_allowances_on_one_event_the_more_lenient_wins(book: PolicyBook) -> None:
    policy = book.resolve(PolicyRequest(notes_allowed=True, open_book=True, second_screen_allowed=True))
    down = policy.treatments[EventType.EYES_OFF_SCREEN]["down"]
    assert down.treatment is Treatment.REPORT and down.because in {"notes_allowed", "open_book"}
    assert policy.allowed_labels == ["book", "laptop", "tv"]


def test_the_policy_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_CONFIG.read_text())
    now = [0.0]
    policies = PolicyFile(BASE, path, check_s=1.0, clock=lambda: now[0])
    assert policies.resolve(None).stakes is Stakes.STANDARD
    path.write_text(
        POLICY_CONFIG.read_text().replace("default_profile: standard", "default_profile: final_round")
    )
    assert policies.resolve(None).stakes is Stakes.STANDARD  # checked at most once a second
    now[0] = 1.5
    assert policies.resolve(None).profile == "final_round" and policies.resolve(None).stakes is Stakes.HIGH
    path.write_text("default_profile: [broken")
    now[0] = 3.0
    assert policies.resolve(None).profile == "final_round"  # the last good file stays in force
    assert policies.error is not None
