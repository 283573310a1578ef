"""The one table from error to HTTP status, and the JSON error handlers.

Every error answer is ``{"detail": ..., "code": ...}`` (validation errors add ``errors``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from integrity.core import errors
from serve_app.api.schemas import ErrorResponse, ValidationErrorResponse
from serve_app.metrics import ServiceMetrics

logger = logging.getLogger(__name__)

HTTP_STATUS: dict[type[errors.IntegrityError], int] = {
    errors.InvalidBase64: 400,
    errors.NotAnImage: 400,
    errors.BadMessage: 400,
    errors.InvalidPolicy: 422,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.SessionNotFound: 404,
    errors.EventNotFound: 404,
    errors.EvidenceNotFound: 404,
    errors.SessionEnded: 409,
    errors.SessionExpired: 410,
    errors.FrameTooLarge: 413,
    errors.TooManySessions: 429,
    errors.RateLimited: 429,
    errors.AnalysisFailed: 503,
    errors.SessionStoreUnavailable: 503,
    errors.Overloaded: 503,
}

# What each status means, for the OpenAPI schema of every route.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "Malformed base64 or not a JPEG/PNG image",
        401: "No valid API key or session token (when API_KEYS is set)",
        403: "A session token used for another session, or for what needs the API key",
        404: "Unknown session (or its record is past the retention), event or evidence image",
        409: "Session already ended",
        410: "Session expired (idle too long)",
        413: "Frame over the byte or pixel limit",
        429: "Too many open sessions, or over the rate limit (see Retry-After)",
        503: "Overloaded, or a model or the session store failed; nothing was recorded (see Retry-After)",
    }.items()
}
ERROR_RESPONSES[422] = {
    "model": ValidationErrorResponse,
    "description": "Missing or mistyped fields; not JSON",
}


# Codes of errors Starlette/FastAPI raise themselves.
HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "frame_too_large"}


def status_of(error: errors.IntegrityError) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def error_headers(error: errors.IntegrityError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    if isinstance(error, errors.Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="interview-integrity"'
    return headers


def error_response(error: errors.IntegrityError, metrics: ServiceMetrics | None) -> JSONResponse:
    if metrics is not None:
        metrics.errors.inc(tags={"code": error.code})
    return JSONResponse(status_code=status_of(error), content=error.body(), headers=error_headers(error))


def install_error_handlers(app: FastAPI, metrics: ServiceMetrics) -> None:
    @app.exception_handler(errors.IntegrityError)
    async def _known(request: Request, exc: errors.IntegrityError) -> JSONResponse:
        return error_response(exc, metrics)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s", request.url.path)
        return error_response(errors.IntegrityError("internal error"), metrics)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Routing errors (404 unknown path, 405 wrong method) and body parsing: the same JSON shape.
        code = HTTP_CODES.get(exc.status_code, "http_error")
        metrics.errors.inc(tags={"code": code})
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": str(exc.detail), "code": code},
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.inc(tags={"code": "validation_error"})
        found = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse(
            status_code=422,
            content={"detail": first_message(found), "code": "validation_error", "errors": found},
        )


def first_message(found: list[dict[str, Any]]) -> str:
    if not found:
        return "invalid request"
    first = found[0]
    where = ".".join(str(p) for p in first["loc"] if p != "body")
    return f"{where}: {first['msg']}" if where else str(first["msg"])
