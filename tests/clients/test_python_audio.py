"""The Python client's audio features (issue 25): levels and a voice-band detector from samples or a
WAV file, per frame; only the two numbers are ever sent."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
from interview_integrity_client._common import analyze_body, binary_frame, signals_of
from interview_integrity_client.media import audio_features, wav_features
from interview_integrity_client.models import AudioFeatures

RATE = 16_000


def tone(hz: float, seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return amplitude * np.sin(2 * math.pi * hz * t)


def test_a_voice_band_tone_is_speech_and_its_level_is_measured() -> None:
    voice = audio_features(tone(1000, 0.1, 0.1), RATE)  # RMS 0.0707: -23 dBFS
    assert abs(voice["rms_dbfs"] - 20 * math.log10(0.1 / math.sqrt(2))) < 0.2
    assert voice["speech_prob"] > 0.9
    rumble = audio_features(tone(60, 0.1, 0.1), RATE)  # mains hum: loud, but not in the voice band
    assert rumble["speech_prob"] < 0.1
    quiet = audio_features(tone(1000, 0.1, 0.0005), RATE)  # -69 dBFS: at the silence gate
    assert quiet["speech_prob"] < 0.1
    assert audio_features([], RATE) == {"rms_dbfs": -160.0, "speech_prob": 0.0}


def test_a_wav_file_gives_one_feature_set_per_frame(tmp_path: Path) -> None:
    samples = np.concatenate([tone(1000, 1.0, 0.2), np.zeros(RATE)])
    path = tmp_path / "mic.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes((samples * 32767).astype("<i2").tobytes())
    features = list(wav_features(path, fps=5))
    assert len(features) == 10
    assert all(f["speech_prob"] > 0.9 for f in features[:5])
    assert all(f["rms_dbfs"] == -160.0 and f["speech_prob"] == 0.0 for f in features[5:])


def test_the_features_go_beside_the_frame_and_nowhere_else_without_them() -> None:
    audio: AudioFeatures = {"rms_dbfs": -30.0, "speech_prob": 0.8}
    body = analyze_body("s", b"\xff\xd8jpeg", 1.0, False, signals_of(audio, {"visible": False}))
    assert body["audio"] == audio and body["client"] == {"visible": False}
    assert "audio" not in analyze_body("s", b"\xff\xd8jpeg", 1.0, False, signals_of(None, None))
    assert binary_frame(b"\xff\xd8jpeg") == b"\xff\xd8jpeg"  # nothing to add: the bytes as they are
    assert b'"audio"' in binary_frame(b"\xff\xd8jpeg", None, False, signals_of(audio, None))
