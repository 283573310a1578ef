"""Binary frame messages on WS /ws/stream (the image's own bytes, no base64), in process, on the
real photo fixtures: with and without the ``IFR1`` header, the same analysis as a JSON frame, bad
binary messages refused with the connection kept, size limits, and the Python client's binary send
against the in-process service over a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import interview_integrity_client as iic
import pytest

from serve_app.pipeline import Analyzers
from tests.api.conftest import FakeClock, LocalWs, local_client, local_server
from tests.integration.conftest import b64

ONE_FACE = "A01_frontal_webcam_man.png"  # 86 KB PNG, 480x270
TWO_FACES = "A03_two_faces_webcam.png"
NO_FACE_JPEG = "A07_no_person_pen_on_paper.jpg"  # 124 KB JPEG, 1853x2638
BIG_PNG = "A02_frontal_portrait_man.png"  # 333 KB
MAX_FRAME_BYTES = 200_000


def header(fields: dict[str, Any] | bytes) -> bytes:
    """``IFR1`` + 2-byte big-endian length + the JSON header (as given when bytes)."""
    raw = fields if isinstance(fields, bytes) else json.dumps(fields).encode()
    return b"IFR1" + len(raw).to_bytes(2, "big") + raw


@pytest.fixture(scope="module")
def client(analyzers: Analyzers, no_object_models: dict[str, Any]) -> Iterator[httpx.Client]:
    with local_client(
        analyzers, clock=FakeClock(), **no_object_models, max_frame_bytes=MAX_FRAME_BYTES
    ) as http:
        yield http


def _without_run_specifics(body: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in body.items() if k not in {"session_id", "processing_time_ms"}}
    body["event_details"] = [
        {k: v for k, v in e.items() if k != "evidence_url"} for e in body["event_details"]
    ]
    details = {k: v for k, v in body["details"].items() if k != "timings_ms"}
    if details.get("gaze"):
        details["gaze"] = {k: v for k, v in details["gaze"].items() if k != "timings_ms"}
    body["details"] = details
    return body


def test_a_camera_jpeg_or_png_as_it_is_is_a_frame_now(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    ws = LocalWs(client)
    # A frame before start: recognised as a frame, refused for want of a session.
    early = ws.send(fixture_bytes[ONE_FACE])
    assert (early["type"], early["code"]) == ("error", "bad_message") and "start" in early["detail"]
    ws.send({"action": "start", "candidate_id": "binary-plain", "timestamp": 100.0})
    png = ws.send(fixture_bytes[ONE_FACE])
    assert png["type"] == "analysis" and png["faces"] == 1
    # No client timestamp: the answer's timestamp is when the session booked the frame.
    assert png["timestamp"] == png["session_time"]
    assert png["details"]["faces"][0]["landmarks"] is None
    jpeg = ws.send(fixture_bytes[NO_FACE_JPEG])
    assert jpeg["type"] == "analysis" and jpeg["faces"] == 0
    assert (jpeg["details"]["image_width"], jpeg["details"]["image_height"]) == (1853, 2638)
    assert ws.send({"action": "end"})["summary"]["frames_analyzed"] == 2
    ws.close()


def test_the_header_carries_timestamp_and_landmarks_and_gives_the_json_frames_answers(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    sequence = [(TWO_FACES, 0.0), (TWO_FACES, 0.5), (TWO_FACES, 1.0), (TWO_FACES, 1.5), (ONE_FACE, 2.0)]
    answers: dict[str, list[dict[str, Any]]] = {}
    for kind in ("json", "binary"):
        ws = LocalWs(client)
        ws.send({"action": "start", "candidate_id": f"compare-{kind}", "timestamp": 0.0})
        answers[kind] = [
            ws.send(
                {"action": "frame", "frame": b64(fixture_bytes[name]), "timestamp": ts}
                if kind == "json"
                else header({"timestamp": ts}) + fixture_bytes[name]
            )
            for name, ts in sequence
        ]
        ws.send({"action": "end"})
        ws.close()
    assert [a["timestamp"] for a in answers["binary"]] == [ts for _, ts in sequence]  # echoed
    assert [a["faces"] for a in answers["binary"]] == [2, 2, 2, 2, 1]
    assert [e for a in answers["binary"] for e in a["events"]] == ["MULTIPLE_FACES"]
    assert [_without_run_specifics(a) for a in answers["binary"]] == [
        _without_run_specifics(a) for a in answers["json"]
    ]

    ws = LocalWs(client)
    ws.send({"action": "start", "candidate_id": "landmarks", "timestamp": 0.0})
    marked = ws.send(header({"timestamp": 0.25, "include_landmarks": True}) + fixture_bytes[ONE_FACE])
    assert marked["timestamp"] == 0.25 and len(marked["details"]["faces"][0]["landmarks"]) == 68
    empty_header = ws.send(b"IFR1\x00\x00" + fixture_bytes[ONE_FACE])  # length 0: no fields
    assert empty_header["type"] == "analysis" and empty_header["details"]["faces"][0]["landmarks"] is None
    ws.close()


def test_bad_binary_messages_get_errors_and_the_connection_goes_on(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    jpeg = fixture_bytes[NO_FACE_JPEG]
    ws = LocalWs(client)
    ws.send({"action": "start", "candidate_id": "binary-garbage", "timestamp": 0.0})
    cases: list[tuple[bytes, str, str]] = [
        (b"\x00binary\xff", "bad_message", "neither a JPEG or PNG"),
        (b"GIF89a" + b"\0" * 64, "bad_message", "neither a JPEG or PNG"),
        (json.dumps({"action": "frame", "frame": b64(jpeg)}).encode(), "bad_message", "sent as text"),
        (b"IFR1", "bad_message", "too short"),
        (b"IFR1\x01\x00{}", "bad_message", "only 2 bytes follow"),
        (header({"timestamp": 1.0}), "bad_message", "no image"),
        (header(b"{not json") + jpeg, "bad_message", "invalid binary frame header"),
        (header(b"[1, 2]") + jpeg, "bad_message", "invalid binary frame header"),
        (header({"timestamp": 1.0, "action": "frame"}) + jpeg, "bad_message", "action"),
        (header({"timestamp": -1.0}) + jpeg, "bad_message", "timestamp"),
        (header({"timestamp": "1.0"}) + jpeg, "bad_message", "timestamp"),
        (header({"include_landmarks": 1}) + jpeg, "bad_message", "include_landmarks"),
        (header(b'{"timestamp": NaN}') + jpeg, "bad_message", "invalid binary frame header"),
        (header({"timestamp": 1.0}) + b"plain text, not a picture", "not_an_image", "not an image"),
        (jpeg[:5000], "not_an_image", "decoded"),  # truncated: the header reads, the pixels do not
        (header({}) + jpeg[:3], "not_an_image", "not an image"),
    ]
    for message, code, words in cases:
        reply = ws.send(message)
        assert (reply["type"], reply["status"], reply["code"]) == ("error", 400, code), (message[:40], reply)
        assert words in reply["detail"], (message[:40], reply["detail"])
    good = ws.send(header({"timestamp": 3.0}) + fixture_bytes[ONE_FACE])
    assert good["type"] == "analysis" and good["faces"] == 1 and good["timestamp"] == 3.0
    ended = ws.send({"action": "end"})
    assert ended["summary"]["frames_analyzed"] == 1  # only the good frame was booked
    ws.close()


def test_oversized_binary_frames_are_refused_before_decoding(
    client: httpx.Client, fixture_bytes: dict[str, bytes]
) -> None:
    big = fixture_bytes[BIG_PNG]
    assert len(big) > MAX_FRAME_BYTES
    ws = LocalWs(client)
    ws.send({"action": "start", "candidate_id": "binary-big", "timestamp": 0.0})
    for message in (big, header({"timestamp": 0.5}) + big):
        reply = ws.send(message)
        assert (reply["type"], reply["status"], reply["code"]) == ("error", 413, "frame_too_large")
        assert f"{len(big)} bytes; the limit is {MAX_FRAME_BYTES}" in reply["detail"]
    good = ws.send(fixture_bytes[ONE_FACE])
    assert good["type"] == "analysis" and good["faces"] == 1
    ws.close()


def test_too_many_pixels_in_a_binary_frame(
    analyzers: Analyzers, no_object_models: dict[str, Any], fixture_bytes: dict[str, bytes]
) -> None:
    with local_client(analyzers, **no_object_models, max_frame_pixels=1_000_000) as http:
        ws = LocalWs(http)
        ws.send({"action": "start", "candidate_id": "binary-pixels"})
        reply = ws.send(fixture_bytes[NO_FACE_JPEG])
        assert (reply["status"], reply["code"]) == (413, "frame_too_large") and "1853x2638" in reply["detail"]
        assert ws.send(fixture_bytes[ONE_FACE])["faces"] == 1
        ws.close()


def test_the_python_client_sends_binary_frames(
    analyzers: Analyzers, no_object_models: dict[str, Any], fixture_bytes: dict[str, bytes]
) -> None:
    with local_server(analyzers, **no_object_models) as url, iic.stream(url, timeout=60) as ws:
        ws.start("client-binary", timestamp=0.0)
        timed = [ws.send_frame(fixture_bytes[TWO_FACES], t, binary=True) for t in (0.5, 1.0, 1.5, 2.0)]
        assert [f.timestamp for f in timed] == [0.5, 1.0, 1.5, 2.0]
        assert [e for f in timed for e in f.events] == ["MULTIPLE_FACES"]
        marked = ws.send_frame(bytearray(fixture_bytes[ONE_FACE]), 2.5, include_landmarks=True, binary=True)
        assert marked.details.faces[0].landmarks is not None
        with pytest.raises(iic.NotAnImageError):
            ws.send_frame(b"\xff\xd8\xff but not a JPEG", 3.0, binary=True)
        with pytest.raises(TypeError, match="base64"):
            ws.send_frame(b64(fixture_bytes[ONE_FACE]), binary=True)
        as_json = ws.send_frame(fixture_bytes[ONE_FACE], 3.5)  # the default is unchanged
        assert as_json.faces == 1 and as_json.timestamp == 3.5
        plain = ws.send_frame(fixture_bytes[ONE_FACE], binary=True)  # no header: the server's time
        assert plain.faces == 1 and plain.timestamp == plain.session_time
        assert ws.end().summary.frames_analyzed == 7


async def test_the_async_python_client_sends_binary_frames(
    analyzers: Analyzers, no_object_models: dict[str, Any], fixture_bytes: dict[str, bytes]
) -> None:
    with local_server(analyzers, **no_object_models) as url:
        async with iic.AsyncInterviewClient(url, timeout=60) as api, api.stream() as ws:
            await ws.start("async-binary", timestamp=0.0)
            result = await ws.send_frame(fixture_bytes[TWO_FACES], 0.5, binary=True)
            assert result.faces == 2 and result.timestamp == 0.5
            assert (await ws.end()).summary.frames_analyzed == 1
