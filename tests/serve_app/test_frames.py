"""Frame decoding at the ingress: base64 variants accepted, every kind of bad input refused clearly."""

from __future__ import annotations

import base64
import io

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
