"""Turn a request's frame into validated image bytes, once, at the ingress.

A frame comes as base64 text (JSON bodies and JSON WebSocket messages) or as the image's own bytes
(binary WebSocket messages); both end in the same checks. Only the header is parsed here (format
and size, so a decompression bomb is refused before any pixel is decoded); the deployments decode
the pixels they need from the same bytes.

The base64 path makes as few passes over the text as it can: whitespace is removed only when there
is some, the URL-safe alphabet translated only when it is used, and the decoder itself validates.
"""

from __future__ import annotations

import binascii
import re

from integrity.core.errors import FrameTooLarge, InvalidBase64, NotAnImage
from integrity.vision.imaging import ImageDecodeError, ImageHeader, ImageTooLarge, read_header

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+/-]*)(?:;[\w=.+-]+)*;base64,", re.IGNORECASE)
# The characters str.split() (and a regex's \s) remove from an ASCII string.
_ASCII_WHITESPACE = (" ", "\n", "\r", "\t", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
_URL_SAFE = str.maketrans("-_", "+/")


def decode_frame(frame: str | bytes, max_bytes: int, max_pixels: int) -> tuple[bytes, ImageHeader]:
    """A frame to image bytes and their header: ``str`` is base64 (standard or URL-safe, padding
    optional, line breaks and a data-URL prefix tolerated), ``bytes`` the image itself."""
    if isinstance(frame, str):
        data = _from_base64(frame, max_bytes)
    else:
        data = bytes(frame)
        if not data:
            raise NotAnImage("frame is empty")
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


def _from_base64(frame: str, max_bytes: int) -> bytes:
    text = frame.strip()
    match = _DATA_URL.match(text)
    if match:
        text = text[match.end() :]
    elif text.startswith("data:"):
        raise InvalidBase64("data URL without ';base64,': send the frame base64-encoded")
    if _has_whitespace(text):
        text = "".join(text.split())
    if not text:
        raise InvalidBase64("frame is empty")
    # Refuse oversized frames before decoding them: 4 base64 characters carry 3 bytes.
    if len(text) // 4 * 3 > max_bytes + 3:
        raise FrameTooLarge(f"frame exceeds {max_bytes} bytes")
    if "-" in text or "_" in text:
        text = text.translate(_URL_SAFE)
    if len(text) % 4:
        text += "=" * (-len(text) % 4)
    try:
        # strict_mode: only the standard alphabet, padding only at the end (base64.b64decode's
        # validate=True, without its copy of the text to bytes).
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidBase64(f"frame is not valid base64: {exc}") from exc


def _has_whitespace(text: str) -> bool:
    if not text.isascii():  # rare, and never valid base64 unless it is whitespace: the full check
        return True
    return any(space in text for space in _ASCII_WHITESPACE)
