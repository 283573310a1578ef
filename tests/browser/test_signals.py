"""The page's signals end to end in headless Chromium (issue 25, acceptance 3): /demo with the fake
microphone (Chromium's fake capture device beeps) shows a changing level and sends audio features
with its frames; another page brought to the front for 3 s is reported by the service as one
TAB_SWITCH. The React example's build does the same with `microphone`. Against the real Serve
application; the screenshots go to .artifacts/browser/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import running_app

pytestmark = pytest.mark.integration

MIN_FRAMES = 3
CLIENT_FIELDS = {"visible", "focused", "fullscreen", "screens", "hidden_ms", "blur_count", "paste_count"}
AWAY_SECONDS = 3.5  # the service reports a page unfocused for 2 s or more


@pytest.fixture(scope="module")
def base_url(serve_port: int, fixtures_dir: Path) -> Iterator[str]:
    with running_app(serve_port):  # open mode: no API key, as the demo runs by default
        yield f"http://127.0.0.1:{serve_port}"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1200, "height": 860}, permissions=["camera", "microphone"]
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.errors = []  # uncaught exceptions in the page fail the test
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()


def _record_frames(page: Any) -> list[dict[str, Any]]:
    """The JSON frame messages the page sends over its WebSocket(s), as they go."""
    sent: list[dict[str, Any]] = []

    def on_message(payload: str | bytes) -> None:
        if isinstance(payload, str):
            message = json.loads(payload)
            if message.get("action") == "frame":
                sent.append(message)

    page.on("websocket", lambda socket: socket.on("framesent", on_message))
    return sent


def _frames_analysed(page: Any) -> int:
    return int(page.text_content("#frames") or 0)


def _wait_for_more_frames(page: Any, count: int) -> None:
    target = _frames_analysed(page) + count
    page.wait_for_function(f"() => Number(document.getElementById('frames').textContent) >= {target}")


def test_demo_sends_audio_features_and_the_service_reports_a_tab_switch(
    page: Any, base_url: str, artifacts: Path
) -> None:
    sent = _record_frames(page)
    page.goto(f"{base_url}/demo?fps=4&candidate=signals-e2e&microphone=1")
    page.click("#start")
    page.wait_for_function(
        "() => document.getElementById('microphone-state').textContent === 'microphone: on'"
    )
    page.wait_for_function(f"() => Number(document.getElementById('frames').textContent) >= {MIN_FRAMES}")

    # The level meter follows the microphone: the fake device's beeps and the silences between.
    levels: list[float] = []
    for _ in range(16):
        levels.append(page.eval_on_selector("[data-testid=audio-level]", "meter => meter.value"))
        page.wait_for_timeout(200)
    assert all(-120 <= level <= 0 for level in levels), levels
    assert len(set(levels)) >= 2, f"the level meter did not change: {levels}"
    assert (page.text_content("#audio-dbfs") or "").endswith(" dBFS")

    # The frames carried the interval's audio features (from the first one the meter measured: a
    # frame whose interval it could not measure goes without) and the page's signals.
    assert len(sent) >= MIN_FRAMES
    first = next(i for i, message in enumerate(sent) if "audio" in message)
    assert len(sent) - first >= MIN_FRAMES
    for message in sent[first:]:
        audio = message["audio"]
        assert isinstance(audio["rms_dbfs"], int | float) and -120 <= audio["rms_dbfs"] <= 0, audio
        assert isinstance(audio["speech_prob"], int | float) and 0 <= audio["speech_prob"] <= 1, audio
    for message in sent:
        assert set(message["client"]) == CLIENT_FIELDS
    assert any(message["audio"]["rms_dbfs"] > -120 for message in sent[first:])  # the beeps were heard
    assert all(message["client"]["visible"] and message["client"]["focused"] for message in sent)

    # Away: another page in front. Playwright makes every page believe it has the focus; without
    # that emulation the demo's window loses the focus to the other page, as a candidate's would.
    page.context.new_cdp_session(page).send("Emulation.setFocusEmulationEnabled", {"enabled": False})
    before_away = len(sent)
    other = page.context.new_page()
    other.set_content("<title>elsewhere</title><p>another tab</p>")
    other.bring_to_front()
    page.wait_for_timeout(AWAY_SECONDS * 1000)
    page.bring_to_front()
    other.close()
    _wait_for_more_frames(page, 6)  # streaming goes on after the return
    page.screenshot(path=str(artifacts / "demo-signals.png"))

    away = [message["client"] for message in sent[before_away:]]
    assert any(client["focused"] is False and client["blur_count"] >= 1 for client in away), away
    assert away[-1]["focused"] is True  # back in front

    session_id = page.text_content("#session-id") or ""
    page.click("#end")
    page.locator("#verdict-value").wait_for(state="visible")
    assert page.text_content("#microphone-state") == "microphone: off"  # released with the session
    assert page.errors == []

    record = httpx.get(f"{base_url}/sessions/{session_id}", timeout=10).raise_for_status().json()
    types = [event["type"] for event in record["events"]]
    assert types.count("TAB_SWITCH") == 1, types  # one episode away, one event


def test_react_example_with_the_microphone_sends_audio_features(
    page: Any, base_url: str, static_server: str, artifacts: Path
) -> None:
    sent = _record_frames(page)
    page.goto(f"{static_server}/index.html?api={base_url}&candidate=react-signals&fps=4&microphone=1")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=microphone]')?.textContent === 'microphone: on'"
    )
    page.wait_for_function(
        f"() => Number(document.querySelector('[data-testid=frames]')?.textContent) >= {MIN_FRAMES}"
    )
    levels: list[float] = []
    for _ in range(16):
        levels.append(page.eval_on_selector("[data-testid=audio-level]", "meter => meter.value"))
        page.wait_for_timeout(200)
    assert all(-120 <= level <= 0 for level in levels), levels
    assert len(set(levels)) >= 2, f"the level meter did not change: {levels}"
    with_audio = [message for message in sent if "audio" in message]
    assert len(with_audio) >= MIN_FRAMES
    assert all(-120 <= message["audio"]["rms_dbfs"] <= 0 for message in with_audio)
    assert all(set(message["client"]) == CLIENT_FIELDS for message in sent)
    page.screenshot(path=str(artifacts / "react-signals.png"))

    page.click("[data-testid=end]")
    page.locator("[data-testid=verdict]").wait_for(state="visible")
    assert page.text_content("[data-testid=microphone]") == "microphone: off"  # released
    assert page.errors == []
