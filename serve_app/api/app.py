"""The FastAPI app factory: one app per ingress replica, holding that replica's service."""

from __future__ import annotations

from fastapi import FastAPI

from integrity import __version__
from serve_app.api.errors import install_error_handlers
from serve_app.api.limits import BodyLimit, max_body_bytes
from serve_app.api.routers import frames, health, sessions, stream
from serve_app.service import IntegrityService

DESCRIPTION = (
    "Watches webcam frames of an online interview and reports, with evidence, whether the "
    "candidate is being helped (phone, second person, eyes off screen, ...). Errors are JSON "
    "`{detail, code}`. See docs/API.md."
)


def create_app(service: IntegrityService) -> FastAPI:
    app = FastAPI(title="Interview Integrity API", version=__version__, description=DESCRIPTION)
    app.state.service = service
    install_error_handlers(app, service.metrics)
    app.add_middleware(
        BodyLimit, limit=max_body_bytes(service.settings.max_frame_bytes), metrics=service.metrics
    )
    for module in (sessions, frames, health, stream):
        app.include_router(module.router)
    return app
