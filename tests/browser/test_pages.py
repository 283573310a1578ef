"""End to end in headless Chromium: the service's /demo page and the React example's build, fed by
a fake camera playing a fixture clip (one person), against the real Serve application; and /docs
offline. Screenshots go to .artifacts/browser/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from integrity.core.enums import Verdict
from tests.conftest import REPO, free_port
from tests.integration.conftest import running_app

pytestmark = pytest.mark.integration

VERDICTS = re.compile(rf"^({'|'.join(Verdict)})$")  # every verdict the service may answer
MIN_FRAMES = 3


@pytest.fixture(scope="module")
def base_url(serve_port: int, fixtures_dir: Path) -> Iterator[str]:
    with running_app(serve_port):  # open mode: no API key, as the demo runs by default
        yield f"http://127.0.0.1:{serve_port}"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 860}, permissions=["camera"])
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.errors = []  # uncaught exceptions in the page fail the test
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()


def _wait_for_analysed_faces(page: Any, frames_selector: str, faces_selector: str) -> None:
    page.wait_for_function(
        """([frames, faces, min]) => {
            const n = Number(document.querySelector(frames)?.textContent);
            return n >= min && document.querySelector(faces)?.textContent === "1";
        }""",
        arg=[frames_selector, faces_selector, MIN_FRAMES],
    )


def test_demo_page_analyses_the_camera_and_shows_the_verdict(
    page: Any, base_url: str, artifacts: Path
) -> None:
    page.goto(f"{base_url}/demo?fps=4&candidate=browser-e2e")
    assert page.url.endswith("/demo/?fps=4&candidate=browser-e2e")  # redirected under /demo/
    page.click("#start")
    _wait_for_analysed_faces(page, "#frames", "#faces")

    assert page.locator("#overlay .face-box").count() == 1  # one face drawn over the video
    assert page.text_content("#state") == "streaming"
    assert page.text_content("#gaze") in {"center", "left", "right", "up", "down", "unknown"}
    assert re.fullmatch(r"\d+%", page.text_content("#attention") or "")
    assert page.get_attribute("#gauge", "aria-valuenow") == page.text_content("#risk")
    session_id = page.text_content("#session-id")
    assert session_id and session_id != "-"
    # The overlay is redrawn with every answer: measure one drawn box and the video together.
    page.wait_for_function(
        """() => {
            const box = document.querySelector("#overlay .face-box");
            const video = document.querySelector("#camera");
            const width = (el) => el.getBoundingClientRect().width;
            return box && video && width(box) > 0.2 * width(video);
        }"""
    )  # the face is large in this clip
    page.screenshot(path=str(artifacts / "demo-streaming.png"))

    analysed = int(page.text_content("#frames") or 0)
    page.click("#end")
    verdict = page.locator("#verdict-value")
    verdict.wait_for(state="visible")
    assert VERDICTS.match(verdict.text_content() or "")
    summary = page.text_content("#verdict") or ""
    booked = int(re.search(r"(\d+) frames over", summary).group(1))  # type: ignore[union-attr]
    assert booked >= analysed >= MIN_FRAMES  # every frame the page saw answered was booked
    assert page.text_content("#state") == "ended"
    assert page.locator("#overlay .face-box").count() == 0
    page.screenshot(path=str(artifacts / "demo-verdict.png"))
    assert page.errors == []


def test_react_example_build_analyses_the_camera_and_shows_the_verdict(
    page: Any, base_url: str, static_server: str, artifacts: Path
) -> None:
    page.goto(f"{static_server}/index.html?api={base_url}&candidate=react-e2e&fps=4")
    _wait_for_analysed_faces(page, "[data-testid=frames]", "[data-testid=faces]")

    assert page.locator("[data-testid=face-box]").count() == 1
    assert page.text_content("[data-testid=state]") == "streaming"
    assert page.get_attribute("[data-testid=risk-gauge]", "aria-valuenow") == page.text_content(
        "[data-testid=risk]"
    )
    page.screenshot(path=str(artifacts / "react-streaming.png"))

    page.click("[data-testid=end]")
    verdict = page.locator("[data-testid=verdict]")
    verdict.wait_for(state="visible")
    assert VERDICTS.match(verdict.text_content() or "")
    assert page.text_content("[data-testid=state]") == "ended"
    page.screenshot(path=str(artifacts / "react-verdict.png"))
    assert page.errors == []


def test_docs_work_offline(page: Any, base_url: str, artifacts: Path) -> None:
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(f"{base_url}/docs")
    page.locator(".swagger-ui .info .title").wait_for(state="visible")
    assert "Interview Integrity API" in (page.text_content(".swagger-ui .info .title") or "")
    page.locator(".opblock-summary-path", has_text="/analyze-frame").first.wait_for(state="visible")
    assert hosts == {urlsplit(base_url).netloc}  # everything from the service itself
    page.screenshot(path=str(artifacts / "docs.png"))


def test_javascript_client_in_node_against_the_service(
    base_url: str, fixtures_dir: Path, node_modules: Path
) -> None:
    """REST, typed errors, the WebSocket stream and the frame streamer of clients/javascript, in Node."""
    node = shutil.which("node")
    assert node is not None
    script = REPO / "clients" / "javascript" / "scripts" / "check-service.mjs"
    done = subprocess.run(
        [node, str(script), base_url, str(fixtures_dir)], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "javascript client: ok" in done.stdout


@pytest.fixture
def express_backend(base_url: str, node_modules: Path) -> Iterator[str]:
    """clients/examples/express-backend in front of the service (open mode: no API key needed)."""
    node = shutil.which("node")
    assert node is not None
    port = free_port()
    env = {**os.environ, "INTEGRITY_API_URL": base_url, "PORT": str(port)}
    server = subprocess.Popen(
        [node, "server.js"],
        cwd=REPO / "clients" / "examples" / "express-backend",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the Express example did not start: {server.stdout.read() if server.stdout else ''}"
                    ) from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_webrtc_capture_example_through_the_express_backend(
    page: Any, express_backend: str, artifacts: Path
) -> None:
    """The backend starts the session and hands over the token; the page streams the camera."""
    page.goto(express_backend + "/")
    page.fill("#candidate", "webrtc-e2e")
    page.click("#start")
    page.wait_for_function(
        "() => Number(document.getElementById('sent').textContent) >= 2"
        " && document.getElementById('faces').textContent === '1'"
    )
    assert page.text_content("#state") == "streaming"
    page.click("#end")
    page.wait_for_function("() => document.getElementById('state').textContent.startsWith('ended: ')")
    assert VERDICTS.match((page.text_content("#state") or "").removeprefix("ended: "))
    page.screenshot(path=str(artifacts / "webrtc-capture.png"))
    assert page.errors == []
