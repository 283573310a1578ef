"""Request limits checked at the door: body size (before reading it) and metadata size."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from integrity.core.errors import BadMessage, FrameTooLarge, Overloaded
from serve_app.api.errors import error_response
from serve_app.metrics import ServiceMetrics


def check_metadata(metadata: dict[str, Any], limit: int) -> None:
    size = len(json.dumps(metadata, default=str))
    if size > limit:
        raise BadMessage(f"metadata is {size} bytes as JSON; the limit is {limit}")


def max_body_bytes(max_frame_bytes: int) -> int:
    """base64 inflates by 4/3; leave room for the JSON around the frame."""
    return max_frame_bytes * 4 // 3 + 64 * 1024


class BodyLimit:
    """Answer bodies over the limit with a 413 JSON error, decided before the body is parsed.

    With a Content-Length over the limit the body is read and dropped (up to ``drain_cap`` bytes)
    before answering: a server that answers while the client is still sending and then closes
    makes most clients report a reset connection instead of the 413. A chunked body without a
    length is counted as it arrives and cut off at the limit with the same answer.
    """

    def __init__(
        self, app: ASGIApp, limit: int, metrics: ServiceMetrics, drain_cap: int = 64 * 1024 * 1024
    ) -> None:
        self.app = app
        self.limit = limit
        self.metrics = metrics
        self.drain_cap = drain_cap

    def _refusal(self, detail: str) -> Response:
        response = error_response(FrameTooLarge(detail), self.metrics)
        response.headers["Connection"] = "close"
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._drain(receive, min(int(length), self.drain_cap))
            refusal = self._refusal(f"request body is {length} bytes; the limit is {self.limit}")
            await refusal(scope, receive, send)
            return

        received = 0
        over = False
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True
                    raise FrameTooLarge(f"request body exceeds {self.limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if not over:
                await send(message)
            elif message["type"] == "http.response.start" and not answered:
                answered = True
                await self._refusal(f"request body exceeds {self.limit} bytes")(scope, receive, send)

        await self.app(scope, counting_receive, guarded_send)

    @staticmethod
    async def _drain(receive: Receive, cap: int) -> None:
        drained = 0
        while drained < cap:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


class FrameAdmission:
    """Refuse a frame with 503 + Retry-After before its body is read, when the replica is full.

    A refusal then costs neither the body's transfer from Serve's proxy nor its JSON parsing: under
    overload the refusals are most of the requests, and what they cost is taken from the frames
    being analysed. (The service checks again after parsing, for frames that raced in.) Checked
    before the credentials: a caller without them may learn that the service is busy, nothing more.
    """

    def __init__(self, app: ASGIApp, full: Callable[[], bool], metrics: ServiceMetrics) -> None:
        self.app = app
        self.full = full
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].endswith("/analyze-frame")
            and self.full()
        ):
            refusal = error_response(Overloaded("the service is full; retry shortly"), self.metrics)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
