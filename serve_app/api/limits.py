"""Request limits checked at the door: body size (before reading it) and metadata size."""

from __future__ import annotations

import json
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from integrity.core.errors import BadMessage, FrameTooLarge
from serve_app.api.errors import error_response
from serve_app.metrics import ServiceMetrics


def check_metadata(metadata: dict[str, Any], limit: int) -> None:
    size = len(json.dumps(metadata, default=str))
    if size > limit:
        raise BadMessage(f"metadata is {size} bytes as JSON; the limit is {limit}")


def max_body_bytes(max_frame_bytes: int) -> int:
    """base64 inflates by 4/3; leave room for the JSON around the frame."""
    return max_frame_bytes * 4 // 3 + 64 * 1024


class BodyLimit(BaseHTTPMiddleware):
    """Refuse bodies that cannot hold a frame under the limit, before reading them."""

    def __init__(self, app: ASGIApp, limit: int, metrics: ServiceMetrics) -> None:
        super().__init__(app)
        self.limit = limit
        self.metrics = metrics

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            error = FrameTooLarge(f"request body is {length} bytes; the limit is {self.limit}")
            return error_response(error, self.metrics)
        return await call_next(request)
