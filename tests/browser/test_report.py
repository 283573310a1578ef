"""The session report in headless Chromium, without network (issue 15, acceptance 2): a session fed
A01, A03 and A07 in process (the service's analyzers, pipeline, session engine and evidence
recorder), one event dismissed by a reviewer; the report's chart and thumbnails render, nothing is
fetched. The screenshot goes to .artifacts/browser/report.png."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from integrity.evidence.render import thumbnail
from integrity.evidence.report import render_report
from integrity.evidence.store import EvidenceStore
from integrity.session.manager import SessionManager
from integrity.session.store import MemoryStore
from serve_app.analyzers import build_local_analyzers
from serve_app.evidence import EvidenceRecorder
from serve_app.pipeline import FramePipeline
from serve_app.spec import AppSpec

SEQUENCE = (  # (fixture, frames at 4 per second)
    ("A01_frontal_webcam_man.png", 5),
    ("A03_two_faces_webcam.png", 10),
    ("A07_no_person_pen_on_paper.jpg", 12),
)


async def build_report(fixture_bytes: dict[str, bytes], folder: Path) -> str:
    spec = AppSpec.from_args()
    manager = SessionManager(MemoryStore(), spec.risk_config, expire_seconds=3600, trust_client_time=True)
    pipeline = FramePipeline(build_local_analyzers(spec), manager)
    store = EvidenceStore(str(folder), retention_s=3600)
    recorder = EvidenceRecorder(store)
    sid = (await manager.create("cand <15>", {"role": "backend"}, timestamp=0.0)).session_id
    frame = 0
    for name, count in SEQUENCE:
        for _ in range(count):
            result = await pipeline.run(sid, fixture_bytes[name], frame * 0.25)
            await recorder.capture(sid, fixture_bytes[name], result)
            frame += 1
    await manager.end(sid)
    record = await manager.review(sid, "ev0001", "dismissed", "a poster on the wall", "reviewer-1")
    assert [e.type for e in record.events] == ["MULTIPLE_FACES", "NO_FACE"]
    images = {i: thumbnail(data) for i in store.events(sid) if (data := store.get(sid, i)) is not None}
    assert set(images) == {"ev0001", "ev0002"}
    return render_report(record, images)


def test_report_renders_offline_with_chart_and_thumbnails(
    browser: Any, fixture_bytes: dict[str, bytes], artifacts: Path, tmp_path: Path
) -> None:
    report = artifacts / "report.html"
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
        page_html = pool.submit(asyncio.run, build_report(fixture_bytes, tmp_path)).result()
    report.write_text(page_html, encoding="utf-8")

    context = browser.new_context(viewport={"width": 1100, "height": 900}, offline=True)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        chart = page.locator("#risk-chart")
        box = chart.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 100
        assert page.locator("#risk-chart polyline.risk").count() == 1
        assert page.locator("#risk-chart .event-marker").count() == 2
        sizes = page.eval_on_selector_all(
            "img.evidence", "images => images.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        assert len(sizes) == 2 and all(done and w >= 200 and h >= 100 for done, w, h in sizes), sizes
        dismissed = page.locator("#event-ev0001 .review.dismissed")
        assert dismissed.is_visible() and "DISMISSED" in dismissed.inner_text()
        assert "a poster on the wall" in dismissed.inner_text()
        verdicts = page.locator(".verdict").all_inner_texts()
        assert "SUSPICIOUS" in verdicts[0] and "CLEAN" in verdicts[1]
        page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    finally:
        context.close()
    assert requested == [report.as_uri()], requested  # self-contained: nothing else was fetched
    assert errors == []
