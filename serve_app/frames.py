"""Turn a request's base64 frame into validated image bytes, once, at the ingress.

Only the header is parsed here (format and size, so a decompression bomb is refused before any
pixel is decoded); the deployments decode the pixels they need from the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import re

from integrity.core.errors import FrameTooLarge, InvalidBase64, NotAnImage
from integrity.vision.imaging import ImageDecodeError, ImageHeader, ImageTooLarge, read_header

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+/-]*)(?:;[\w=.+-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def decode_frame(frame: str, max_bytes: int, max_pixels: int) -> tuple[bytes, ImageHeader]:
    """Base64 (standard or URL-safe, padding optional, data-URL prefix tolerated) to image bytes."""
    text = frame.strip()
    match = _DATA_URL.match(text)
    if match:
        text = text[match.end() :]
    elif text.startswith("data:"):
        raise InvalidBase64("data URL without ';base64,': send the frame base64-encoded")
    text = _WHITESPACE.sub("", text)
    if not text:
        raise InvalidBase64("frame is empty")
    # Refuse oversized frames before decoding them: 4 base64 characters carry 3 bytes.
    if len(text) // 4 * 3 > max_bytes + 3:
        raise FrameTooLarge(f"frame exceeds {max_bytes} bytes")
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidBase64(f"frame is not valid base64: {exc}") from exc
    if len(data) > max_bytes:
        raise FrameTooLarge(f"frame is {len(data)} bytes; the limit is {max_bytes}")
    try:
        header = read_header(data)
    except ImageTooLarge as exc:
        raise FrameTooLarge(f"frame has too many pixels: {exc}") from exc
    except ImageDecodeError as exc:
        raise NotAnImage(f"frame is not an image: {exc}") from exc
    if header.width * header.height > max_pixels:
        raise FrameTooLarge(
            f"frame is {header.width}x{header.height} pixels; the limit is {max_pixels} pixels"
        )
    return data, header
