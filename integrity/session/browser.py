"""What the candidate's browser measured beside the camera (issue 25): voice levels, focus, screens.

Each frame may carry ``audio`` (the microphone's level and how likely speech was, over the interval
since the previous frame: features only, never audio) and ``client`` (whether the page stayed
visible and focused, fullscreen, how many screens, and counters). They feed four conditions and
sharpen WHISPERING:

* WHISPERING: the mouth moves while speech is present but quiet (``whisper_max_dbfs``); speaking
  aloud is not whispering. Without audio the lips alone cannot tell speaking from whispering: the
  observation is of kind ``lips_only``, reported without risk as before.
* SECOND_VOICE: speech present while the candidate's mouth is still and visible: someone else talks.
* TAB_SWITCH: the page hidden or unfocused; a frame after a hidden spell says how long it lasted
  (``hidden_ms``), so the spell is timed from when it began even when the hidden page sent nothing.
* SECOND_SCREEN: more than one screen. PASTE: text pasted into the page.

A signal the page could not measure (absent, or null) is unknown, never "fine".
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from integrity.core.config import ConfigSection
from integrity.core.enums import EventType
from integrity.session.observation import Observation

LIPS_ONLY = "lips_only"  # WHISPERING's kind without audio: the lips alone (no risk)
HEARD = "heard"  # ...and with quiet speech heard


class AudioFeatures(BaseModel):
    """The microphone over the interval since the previous frame (computed by the page)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rms_dbfs: float = Field(ge=-160, le=0, allow_inf_nan=False, description="RMS level, dBFS")
    speech_prob: float = Field(ge=0, le=1, allow_inf_nan=False, description="how likely speech was present")


class ClientSignals(BaseModel):
    """The page over the interval since the previous frame; null: the page could not measure it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    visible: bool | None = Field(None, description="false: the page was hidden at some time in the interval")
    focused: bool | None = Field(
        None, description="false: the window lost focus at some time in the interval"
    )
    fullscreen: bool | None = None
    screens: int | None = Field(None, ge=0, le=64, description="screens attached (Window Management API)")
    hidden_ms: int | None = Field(None, ge=0, le=86_400_000, description="ms the page was hidden")
    blur_count: int | None = Field(None, ge=0, le=100_000)
    paste_count: int | None = Field(None, ge=0, le=100_000)


class BrowserSignalsSeen(BaseModel):
    """Which of the page's signals the session had, in frames: what the report says was watched
    (a signal never sent is not watched, and says nothing about the session)."""

    frames: int = 0
    audio: int = Field(0, description="frames with audio features")
    client: int = Field(0, description="frames with page signals")
    measured: dict[str, int] = Field(
        default_factory=dict,
        description="per page signal (visible, focused, screens, ...): frames it was measured",
    )

    def add(self, audio: AudioFeatures | None, client: ClientSignals | None) -> None:
        self.frames += 1
        self.audio += audio is not None
        if client is not None:
            self.client += 1
            for name, value in client.model_dump().items():
                if value is not None:
                    self.measured[name] = self.measured.get(name, 0) + 1

    def describe(self) -> str:
        """One line for the report."""
        if not self.frames:
            return "no frames"
        parts = [f"audio features on {self.audio} of {self.frames} frames"]
        parts.append(f"page signals on {self.client} of {self.frames} frames")
        if self.client:
            unmeasured = [n for n in ClientSignals.model_fields if not self.measured.get(n)]
            if unmeasured:
                parts.append(f"never measured by the page: {', '.join(unmeasured)}")
        return "; ".join(parts)


class BrowserConfig(ConfigSection):
    """configs/risk_engine.yaml ``browser``."""

    speech_min_prob: float = Field(0.5, ge=0, le=1, description="speech present from this probability")
    speech_min_dbfs: float = Field(-70.0, le=0, description="...and this level (below: silence, hum)")
    whisper_max_dbfs: float = Field(
        -45.0, le=0, description="speech quieter than this is whispered; louder is speaking aloud"
    )
    still_mar_std: float = Field(
        0.012, ge=0, description="the mouth is still: its opening varies less than this over the window"
    )


def browser_observations(
    audio: AudioFeatures | None,
    client: ClientSignals | None,
    lips: Observation | None,
    face_seen: bool,
    ts: float,
    cfg: BrowserConfig,
) -> dict[EventType, Observation]:
    """The frame's browser conditions, and WHISPERING re-read with the audio (``lips``: the
    behaviour tracker's lips-moving observation; ``face_seen``: one face was counted)."""
    out: dict[EventType, Observation] = {}
    if lips is not None:
        out[EventType.WHISPERING] = _whispering(lips, audio, cfg)
    if audio is not None:
        out[EventType.SECOND_VOICE] = _second_voice(audio, lips, face_seen, cfg)
    if client is not None:
        out |= _client(client, ts)
    return out


def _speech(audio: AudioFeatures, cfg: BrowserConfig) -> bool:
    return audio.speech_prob >= cfg.speech_min_prob and audio.rms_dbfs >= cfg.speech_min_dbfs


def _levels(audio: AudioFeatures, cfg: BrowserConfig) -> dict[str, Any]:
    return {
        "rms_dbfs": round(audio.rms_dbfs, 1),
        "speech_prob": round(audio.speech_prob, 2),
        "threshold_speech_prob": cfg.speech_min_prob,
        "threshold_speech_dbfs": cfg.speech_min_dbfs,
        "threshold_whisper_dbfs": cfg.whisper_max_dbfs,
    }


def _whispering(lips: Observation, audio: AudioFeatures | None, cfg: BrowserConfig) -> Observation:
    if audio is None:
        return lips.model_copy(update={"kind": LIPS_ONLY if lips.value else None})
    evidence = {**lips.evidence, **_levels(audio, cfg)}
    if lips.value is None:
        return lips.model_copy(update={"evidence": evidence})
    moving = _mouth_moves(lips)
    if moving is None:
        return Observation(value=None, evidence=evidence, unknown_because="mouth not readable")
    heard = _speech(audio, cfg)
    quiet = heard and audio.rms_dbfs < cfg.whisper_max_dbfs
    if moving and quiet:
        return Observation(value=True, evidence={**evidence, "heard": "quiet speech"}, kind=HEARD)
    if moving and not heard and lips.value:  # lips moving, nothing the microphone calls speech
        return Observation(value=True, evidence={**evidence, "heard": "no speech"}, kind=LIPS_ONLY)
    return Observation(value=False, evidence={**evidence, "heard": "speech aloud" if heard else "no speech"})


def _mouth_moves(lips: Observation) -> bool | None:
    """Whether the mouth articulates over the window (opening varies, with open/close cycles);
    None: too few readable mouth frames."""
    ev = lips.evidence
    spread, cycles = ev.get("mar_std"), ev.get("lip_cycles")
    if not isinstance(spread, (int, float)) or not isinstance(cycles, (int, float)):
        return None
    return spread >= float(ev.get("threshold_mar_std", 0.03)) and cycles >= float(
        ev.get("threshold_cycles", 2)
    )


def _second_voice(
    audio: AudioFeatures, lips: Observation | None, face_seen: bool, cfg: BrowserConfig
) -> Observation:
    evidence = _levels(audio, cfg)
    if not _speech(audio, cfg):
        return Observation(value=False, evidence=evidence)
    if not face_seen or lips is None:
        return Observation(value=None, evidence=evidence, unknown_because="no face: whose voice?")
    spread, cycles = lips.evidence.get("mar_std"), lips.evidence.get("lip_cycles")
    if not isinstance(spread, (int, float)) or not isinstance(cycles, (int, float)):
        return Observation(value=None, evidence=evidence, unknown_because="mouth not readable")
    evidence |= {"mar_std": spread, "lip_cycles": cycles, "threshold_still_mar_std": cfg.still_mar_std}
    still = spread < cfg.still_mar_std and cycles < 1
    moving = _mouth_moves(lips)
    if still:
        return Observation(value=True, evidence=evidence)
    # The candidate's own mouth moves (speaking): not a second voice. In between: cannot tell.
    return Observation(
        value=False if moving else None, evidence=evidence, unknown_because="mouth barely moving"
    )


def _client(client: ClientSignals, ts: float) -> dict[EventType, Observation]:
    out: dict[EventType, Observation] = {}
    evidence = client.model_dump(exclude_none=True)
    if client.visible is not None or client.focused is not None:
        away = client.visible is False or client.focused is False
        since = None
        if away and client.hidden_ms:
            since = ts - client.hidden_ms / 1000.0  # the hidden spell began before this frame
        out[EventType.TAB_SWITCH] = Observation(value=away, evidence=evidence, since=since)
    if client.screens is not None:
        out[EventType.SECOND_SCREEN] = Observation(
            value=client.screens > 1, evidence={"screens": client.screens, "threshold": 2}
        )
    if client.paste_count is not None:
        out[EventType.PASTE] = Observation(
            value=client.paste_count > 0, evidence={"paste_count": client.paste_count}
        )
    return out
