"""The page's signals as conditions (real frames through the service: tests/integration/
test_browser_signals.py). ``lips`` stands for the behaviour tracker's lips observation."""

from __future__ import annotations

from integrity.core.enums import EventType
from integrity.session.browser import (
    HEARD,
    LIPS_ONLY,
    AudioFeatures,
    BrowserConfig,
    BrowserSignalsSeen,
    ClientSignals,
    browser_observations,
)
from integrity.session.observation import Observation

CFG = BrowserConfig()
LOUD = AudioFeatures(rms_dbfs=-25, speech_prob=0.9)
QUIET = AudioFeatures(rms_dbfs=-55, speech_prob=0.6)
SILENT = AudioFeatures(rms_dbfs=-80, speech_prob=0.05)


def lips(moving: bool) -> Observation:
    spread, cycles = (0.06, 3.0) if moving else (0.002, 0.0)
    evidence = {"mar_std": spread, "lip_cycles": cycles, "threshold_mar_std": 0.03, "threshold_cycles": 2}
    return Observation(value=moving, evidence=evidence)


def test_whispering_needs_quiet_speech_aloud_is_speaking_and_no_audio_is_the_lips_alone() -> None:
    def whisper(audio: AudioFeatures | None, moving: bool = True) -> Observation:
        return browser_observations(audio, None, lips(moving), True, 1.0, CFG)[EventType.WHISPERING]

    assert (whisper(QUIET).value, whisper(QUIET).kind) == (True, HEARD)
    assert whisper(LOUD).value is False and whisper(LOUD).evidence["heard"] == "speech aloud"
    assert (whisper(None).value, whisper(None).kind) == (True, LIPS_ONLY)
    assert whisper(QUIET, moving=False).value is False


def test_a_second_voice_is_speech_while_the_mouth_is_still_and_seen() -> None:
    def voice(audio: AudioFeatures, moving: bool, face: bool = True) -> bool | None:
        return browser_observations(audio, None, lips(moving), face, 1.0, CFG)[EventType.SECOND_VOICE].value

    assert voice(LOUD, moving=False) is True
    assert voice(LOUD, moving=True) is False  # the candidate speaking
    assert voice(SILENT, moving=False) is False
    assert voice(LOUD, moving=False, face=False) is None  # whose voice? cannot tell


def test_page_signals_and_what_was_never_measured() -> None:
    away = ClientSignals(visible=False, focused=True, hidden_ms=3200, screens=2, paste_count=0)
    seen = browser_observations(None, away, None, True, 10.0, CFG)
    assert seen[EventType.TAB_SWITCH].value is True and seen[EventType.TAB_SWITCH].since == 6.8
    assert seen[EventType.SECOND_SCREEN].value is True and seen[EventType.PASTE].value is False
    unknown = browser_observations(None, ClientSignals(), None, True, 10.0, CFG)
    assert unknown == {}  # nothing measured: nothing observed, never "fine"
    assert browser_observations(None, None, None, True, 1.0, CFG) == {}


def test_the_signals_seen_say_what_was_never_sent() -> None:
    seen = BrowserSignalsSeen()
    for _ in range(4):
        seen.add(LOUD, ClientSignals(visible=True, focused=True))
    seen.add(None, None)
    assert (seen.frames, seen.audio, seen.client) == (5, 4, 4)
    assert seen.measured == {"visible": 4, "focused": 4}
    line = seen.describe()
    assert "audio features on 4 of 5 frames" in line and "never measured by the page: fullscreen" in line
