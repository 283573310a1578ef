"""The FastAPI app factory: one app per ingress replica, holding that replica's service."""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from integrity import __version__
from serve_app.api.auth import Authenticator
from serve_app.api.errors import install_error_handlers
from serve_app.api.limits import BodyLimit, FrameAdmission, max_body_bytes
from serve_app.api.routers import evidence, frames, health, pages, records, sessions, stream
from serve_app.service import IntegrityService
from serve_app.tokens import SessionTokens

logger = logging.getLogger(__name__)

DESCRIPTION = (
    "Watches webcam frames of an online interview and reports, with evidence, whether the "
    "candidate is being helped (phone, second person, eyes off screen, ...). Errors are JSON "
    "`{detail, code}`. See docs/API.md; credentials and limits: docs/SECURITY.md."
)


def create_app(service: IntegrityService) -> FastAPI:
    settings = service.settings
    # /docs is served by the pages router with local Swagger UI assets (no CDN); ReDoc needs a CDN.
    app = FastAPI(
        title="Interview Integrity API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    secret = settings.session_token_secret
    if secret is None:  # the app builder sets one per deployment; this is a single-replica fallback
        logger.warning("no SESSION_TOKEN_SECRET: session tokens are valid on this replica only")
        secret_bytes = secrets.token_bytes(32)
    else:
        secret_bytes = secret.get_secret_value().encode()
    app.state.auth = Authenticator(
        settings.api_key_list, SessionTokens(secret_bytes, settings.session_token_ttl_s)
    )
    install_error_handlers(app, service.metrics)
    app.add_middleware(BodyLimit, limit=max_body_bytes(settings.max_frame_bytes), metrics=service.metrics)
    app.add_middleware(FrameAdmission, full=service.frames_full, metrics=service.metrics)
    if settings.cors_origin_list:
        # Outermost, so refusals (401, 413, 429) carry CORS headers too and browsers can read them.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origin_list),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            expose_headers=["Retry-After"],
            max_age=600,
        )
    for module in (sessions, frames, records, evidence, health, stream, pages):
        app.include_router(module.router)
    return app
