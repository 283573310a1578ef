"""Evidence images (rendered on the fixture photos), where they are kept and for how long, and the
HTML report built from a record."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from integrity.core.enums import EventType, FaceDetector, Severity, Verdict
from integrity.core.geometry import Box
from integrity.core.results import DetectedFace, DetectedObject, FaceAnalysis, ModelStatus, ObjectAnalysis
from integrity.evidence.render import GREEN, render_evidence, thumbnail
from integrity.evidence.report import CSP, caption, describe, render_report
from integrity.evidence.store import EvidenceStore
from integrity.session.record import ModelAvailability, Review, RiskPoint, SessionRecord, VerdictRules
from integrity.session.risk.models import EventRecord

TWO_FACES = [Box(x=330, y=67, width=67, height=67), Box(x=60, y=75, width=68, height=68)]  # A03, 480x270


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def faces(width: int, height: int, boxes: list[Box]) -> FaceAnalysis:
    return FaceAnalysis(
        image_width=width,
        image_height=height,
        detector=FaceDetector.BLAZEFACE_FULL_RANGE,
        faces=[DetectedFace(box=b, score=0.9, detector=FaceDetector.BLAZEFACE_FULL_RANGE) for b in boxes],
        primary=0 if boxes else None,
    )


def test_multiple_faces_evidence_shows_both_boxes(fixture_bytes: dict[str, bytes]) -> None:
    data = fixture_bytes["A03_two_faces_webcam.png"]
    jpeg = render_evidence(
        data, EventType.MULTIPLE_FACES, ["MULTIPLE_FACES at 1.5 s"], faces(480, 270, TWO_FACES)
    )
    assert jpeg[:3] == b"\xff\xd8\xff"
    image = decode(jpeg)
    assert image.shape[:2] == (270, 480)  # small frames are not enlarged
    for box in TWO_FACES:  # the box's left edge is drawn in green
        column = image[box.y + 10 : box.y + box.height - 10, box.x].astype(int)
        assert (np.abs(column - np.array(GREEN)).sum(axis=1) < 90).mean() > 0.8


def test_large_frames_are_downscaled_and_objects_drawn(fixture_bytes: dict[str, bytes]) -> None:
    data = fixture_bytes["A08_two_phones_laptop_no_face.jpg"]
    height, width = decode(data).shape[:2]
    phone = DetectedObject(
        label="cell phone",
        confidence=0.8,
        box=Box(x=10, y=10, width=width // 4, height=height // 4),
        event=EventType.PHONE_DETECTED,
    )
    objects = ObjectAnalysis(status=ModelStatus(available=True), objects=[phone])
    jpeg = render_evidence(
        data, EventType.PHONE_DETECTED, ["PHONE_DETECTED"], faces(width, height, []), None, objects
    )
    image = decode(jpeg)
    assert max(image.shape[:2]) == 640 and len(jpeg) < 200_000
    assert max(decode(thumbnail(jpeg)).shape[:2]) == 320


def test_store_keeps_images_per_session_for_the_retention(tmp_path: Path) -> None:
    now = [time.time()]
    store = EvidenceStore(str(tmp_path / "evidence"), retention_s=60, clock=lambda: now[0])
    store.put("s-1", "ev0001", b"\xff\xd8one")
    store.put("s-1", "ev0002", b"\xff\xd8two")
    store.put("s-2", "ev0001", b"\xff\xd8other")
    assert store.get("s-1", "ev0001") == b"\xff\xd8one"
    assert store.get("s-2", "ev0001") == b"\xff\xd8other"  # same event id, another session's image
    assert store.events("s-1") == {"ev0001", "ev0002"}
    assert store.get("s-1", "ev0003") is None and store.events("s-3") == set()
    for bad in ("../s-2", "s-1/../s-2", "", ".hidden"):
        assert store.get(bad, "ev0001") is None
        with pytest.raises(ValueError):
            store.put(bad, "ev0001", b"x")
    assert store.get("s-1", "../s-2/ev0001") is None

    now[0] += 61  # past the retention: never served, swept away with the emptied folders
    assert store.events("s-1") == set() and store.get("s-1", "ev0001") is None
    assert store.sweep() == 2
    assert list((tmp_path / "evidence").iterdir()) == []


def test_store_over_an_fsspec_url() -> None:
    store = EvidenceStore("memory://iis-test-evidence", retention_s=60)
    store.put("s-1", "ev0001", b"jpeg")
    assert store.get("s-1", "ev0001") == b"jpeg" and store.events("s-1") == {"ev0001"}
    assert store.sweep() == 0
    store.retention_s = 0.0
    assert store.sweep() == 1 and store.get("s-1", "ev0001") is None


def record_with_events() -> SessionRecord:
    events = [
        EventRecord(
            id="ev0001",
            type=EventType.MULTIPLE_FACES,
            severity=Severity.CRITICAL,
            risk_increase=25,
            timestamp=101.5,
            risk_after=25,
            evidence={
                "faces": 2,
                "unverified_candidates": 0,
                "threshold": 2,
                "held_s": 1.5,
                "frames": 4,
                "min_duration_s": 1.5,
            },
        ),
        EventRecord(
            id="ev0002",
            type=EventType.EYES_OFF_SCREEN,
            severity=Severity.HIGH,
            risk_increase=15,
            timestamp=108.0,
            risk_after=38.5,
            evidence={
                "gaze_yaw_deg": -30.4,
                "gaze_pitch_deg": 3.4,
                "eye_yaw_deg": -31.0,
                "eye_pitch_deg": 2.0,
                "threshold_yaw_deg": 20.0,
                "threshold_pitch_deg": 22.0,
                "threshold_eye_deg": 12.0,
                "calibration": "calibrated",
                "held_s": 2.1,
                "frames": 22,
                "min_duration_s": 2.0,
            },
        ),
    ]
    return SessionRecord(
        session_id="s-1",
        status="ended",
        candidate_id="<script>alert(1)</script>",
        metadata={"role": "qa & co"},
        started_at=1_764_072_000.0,
        ended_at=1_764_072_020.0,
        stream_start=100.0,
        stream_end=112.0,
        duration_seconds=12.0,
        frames_analyzed=120,
        verdict=Verdict.SUSPICIOUS,
        verdict_reason="peak risk 38.5 >= 30",
        final_risk_score=37.0,
        peak_risk_score=38.5,
        event_counts={"MULTIPLE_FACES": 1, "EYES_OFF_SCREEN": 1},
        events=events,
        risk_timeline=[RiskPoint(t=100 + i, risk=0 if i < 2 else 25) for i in range(12)],
        models={
            "face": ModelAvailability(available=True),
            "objects": ModelAvailability(available=False, detail="no weights"),
        },
        reviews={
            "ev0001": Review(
                event_id="ev0001",
                decision="dismissed",
                note="a <b>poster</b>",
                reviewer="k1",
                at=1_764_072_100.0,
            )
        },
        reviewed_verdict=Verdict.CLEAN,
        reviewed_verdict_reason="peak risk 15.0 < 30",
        reviewed_peak_risk_score=15,
        rules=VerdictRules(
            basis="peak", suspicious_threshold=30, cheating_threshold=60, cheating_min_severity=Severity.HIGH
        ),
    )


def test_report_is_self_contained_and_escaped(fixture_bytes: dict[str, bytes]) -> None:
    record = record_with_events()
    jpeg = render_evidence(
        fixture_bytes["A03_two_faces_webcam.png"],
        EventType.MULTIPLE_FACES,
        caption(record.events[0], 100.0),
        faces(480, 270, TWO_FACES),
    )
    page = render_report(record, {"ev0001": thumbnail(jpeg)})
    assert CSP in page and "<script" not in page and "&lt;script&gt;" in page
    assert "a &lt;b&gt;poster&lt;/b&gt;" in page and "qa &amp; co" in page
    assert page.count("<svg") == 1 and 'class="risk"' in page and page.count('class="event-marker"') == 2
    assert page.count("data:image/jpeg;base64,") == 1  # ev0002 has no image: said so
    assert "no evidence image" in page
    assert "DISMISSED" in page and "SUSPICIOUS" in page and "CLEAN" in page
    for external in ("http://", "https://", 'src="/', "href="):
        assert external not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_events_in_plain_words() -> None:
    faces_event, gaze_event = record_with_events().events
    assert describe(faces_event).startswith("2 faces were counted in the frame (the event needs 2 or more)")
    assert "held 1.5 s over 4 frame(s)" in describe(faces_event)
    text = describe(gaze_event)
    assert "30° toward the image's left" in text and "beyond 20° sideways" in text
    odd = EventRecord(
        id="x",
        type=EventType.WHISPERING,
        severity=Severity.MEDIUM,
        risk_increase=10,
        timestamp=0,
        risk_after=10,
        evidence={},
    )
    assert "?" in describe(odd)  # missing values never break the report
