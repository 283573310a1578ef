"""Frame decoding at the ingress: base64 variants accepted, every kind of bad input refused clearly."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import pytest
from PIL import Image

from integrity.core.errors import FrameTooLarge, InvalidBase64, NotAnImage
from serve_app.frames import decode_frame

LIMIT_BYTES, LIMIT_PIXELS = 1_000_000, 1_000_000


def png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (120, 80, 40)).save(buf, format="PNG")
    return buf.getvalue()


def decode(text: str) -> tuple[bytes, tuple[str, int, int]]:
    data, header = decode_frame(text, LIMIT_BYTES, LIMIT_PIXELS)
    return data, (header.format, header.width, header.height)


def test_accepts_plain_data_url_urlsafe_and_unpadded() -> None:
    raw = png(33, 17)
    plain = base64.b64encode(raw).decode()
    for text in (
        plain,
        f"data:image/png;base64,{plain}",
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "\n".join(plain[i : i + 76] for i in range(0, len(plain), 76)),  # MIME line breaks
    ):
        assert decode(text) == (raw, ("PNG", 33, 17))


def test_jpeg_is_accepted(fixture_bytes: dict[str, bytes]) -> None:
    raw = fixture_bytes["A07_no_person_pen_on_paper.jpg"]
    _, header = decode_frame(base64.b64encode(raw).decode(), 10_000_000, 10_000_000)
    assert (header.format, header.width, header.height) == ("JPEG", 1853, 2638)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("!!!not base64!!!", InvalidBase64),
        ("", InvalidBase64),
        ("data:image/png,rawbytes", InvalidBase64),
        (base64.b64encode(b"hello, this is text, not an image").decode(), NotAnImage),
        (base64.b64encode(b"GIF89a" + b"\0" * 64).decode(), NotAnImage),
    ],
)
def test_refuses_bad_frames(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode(text)


def test_refuses_gif_and_bmp_even_when_valid() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="GIF")
    with pytest.raises(NotAnImage, match="JPEG or PNG"):
        decode(base64.b64encode(buf.getvalue()).decode())


def test_refuses_too_many_bytes_before_decoding_them() -> None:
    with pytest.raises(FrameTooLarge, match="exceeds"):
        decode("A" * (LIMIT_BYTES * 2))


def test_refuses_too_many_pixels_from_the_header_alone() -> None:
    with pytest.raises(FrameTooLarge, match="pixels"):
        decode(base64.b64encode(png(1100, 1000)).decode())


@pytest.mark.parametrize(
    "spaced",
    [
        lambda s: f"  {s}\n",
        lambda s: s[:10] + "\t" + s[10:20] + "\r\n" + s[20:],
        lambda s: s[:10] + "\x0b\x0c\x1c\x1d\x1e\x1f" + s[10:],  # str.split()'s ASCII whitespace
        lambda s: s[:10] + "\xa0" + s[10:20] + "\u2003\u3000" + s[20:] + "\x85",  # and Unicode's
    ],
)
def test_whitespace_anywhere_is_ignored(spaced: Callable[[str], str]) -> None:
    raw = png(9, 7)
    assert decode(spaced(base64.b64encode(raw).decode())) == (raw, ("PNG", 9, 7))


@pytest.mark.parametrize(
    "text",
    [
        "AA=A",  # padding inside
        "AA==AA==",  # data after padding
        "=AAA",
        "AAAA" + "é",  # not ASCII
        "AA AA" + "\u200b",  # a zero-width space is not whitespace
        "data:,abc",
    ],
)
def test_malformed_base64_is_refused(text: str) -> None:
    with pytest.raises(InvalidBase64):
        decode(text)


def test_url_safe_and_standard_alphabets_decode_alike(fixture_bytes: dict[str, bytes]) -> None:
    raw = fixture_bytes["A06_person_from_behind_no_face.jpg"]
    standard, url_safe = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    assert "-" in url_safe or "_" in url_safe
    assert decode_frame(standard, 10_000_000, 10_000_000) == decode_frame(url_safe, 10_000_000, 10_000_000)


# -- the image's own bytes (binary WebSocket frames): no base64, the same checks -------------------
def test_bytes_are_the_image_itself(fixture_bytes: dict[str, bytes]) -> None:
    jpeg = fixture_bytes["A07_no_person_pen_on_paper.jpg"]
    data, header = decode_frame(jpeg, 10_000_000, 10_000_000)
    assert data is jpeg and (header.format, header.width, header.height) == ("JPEG", 1853, 2638)
    raw = png(33, 17)
    assert decode_frame(raw, LIMIT_BYTES, LIMIT_PIXELS)[0] == raw
    # The same image as base64 or as bytes: the same answer.
    assert decode_frame(base64.b64encode(jpeg).decode(), 10_000_000, 10_000_000) == (data, header)


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", NotAnImage, "empty"),
        (b"hello, this is text, not an image", NotAnImage, "not an image"),
        (b"GIF89a" + b"\0" * 64, NotAnImage, "not an image"),
        (base64.b64encode(png(8, 8)), NotAnImage, "not an image"),  # base64 sent as bytes
        (b"\xff\xd8\xff" + b"\0" * LIMIT_BYTES, FrameTooLarge, f"the limit is {LIMIT_BYTES}"),
        (png(1100, 1000), FrameTooLarge, "1100x1000 pixels"),
    ],
)
def test_bad_bytes_are_refused_like_bad_text(data: bytes, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        decode_frame(data, LIMIT_BYTES, LIMIT_PIXELS)


def test_truncated_jpeg_bytes_pass_the_header_check(fixture_bytes: dict[str, bytes]) -> None:
    # Only the header is read here; the deployments find the missing pixels (tests/api).
    _, header = decode_frame(fixture_bytes["A07_no_person_pen_on_paper.jpg"][:5000], 10_000_000, 10_000_000)
    assert header.format == "JPEG"
