"""Refusals at the door, on a bare ASGI app (no Ray)."""

from __future__ import annotations

import httpx
from starlette.types import Receive, Scope, Send

from serve_app.api.limits import FrameAdmission
from serve_app.metrics import ServiceMetrics


class Recording:
    def __init__(self) -> None:
        self.bodies_read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        self.bodies_read += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def test_a_full_replica_refuses_frames_before_reading_them_and_nothing_else() -> None:
    inner = Recording()
    full = [True]
    app = FrameAdmission(inner, full=lambda: full[0], metrics=ServiceMetrics())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        refused = await client.post("/analyze-frame", json={"frame": "A" * 1000})
        assert refused.status_code == 503 and refused.json()["code"] == "overloaded"
        assert refused.headers["retry-after"] == "1"
        assert inner.bodies_read == 0
        assert (await client.post("/end-session", json={})).status_code == 200  # other routes pass
        full[0] = False
        assert (await client.post("/analyze-frame", json={})).status_code == 200
    assert inner.bodies_read == 2
